"""Fixtures for tests that run the real ``bpy`` module.

The extension is registered once per session, the way Blender registers an
enabled add-on; every test starts from an empty factory scene.
"""

import pytest

bpy = pytest.importorskip("bpy")

import ground_truth  # noqa: E402  (importable through tests/conftest.py)


def pytest_configure(config):
    # A deprecation warning raised from the extension's own code fails the run (Blender
    # 5.0 warns on APIs it will remove in 6.0; compat.py is where the difference goes).
    config.addinivalue_line("filterwarnings", "error::DeprecationWarning:ground_truth")


@pytest.fixture(scope="session", autouse=True)
def registered():
    ground_truth.register()
    yield
    ground_truth.unregister()


@pytest.fixture
def scene():
    """An empty scene rendering tiny, fast Cycles frames."""
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    scene.render.engine = "CYCLES"
    scene.cycles.device = "CPU"
    scene.cycles.samples = 1
    scene.cycles.use_denoising = False
    scene.render.resolution_x = 32
    scene.render.resolution_y = 24
    scene.render.resolution_percentage = 100
    return scene


@pytest.fixture
def out_dir(tmp_path, scene):
    folder = tmp_path / "dataset"
    scene.ground_truth.output_dir = str(folder) + "/"
    return folder
