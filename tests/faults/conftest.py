"""Fixtures of the fault suite: the import path and the saved scenes (see ``fault_runs``).

The suite runs the real command (``python -m ground_truth``) in child processes, so that
they can be killed, starved of disk or run side by side; it needs the ``bpy`` module in
the Python running the tests (``tools/test.sh`` runs it with the Blender 5.0 venv).
"""

import os
import tempfile

import pytest
from fault_runs import REPO, make_scene


@pytest.fixture(scope="session")
def import_path():
    """A folder holding a link named ``ground_truth`` to the repository (PYTHONPATH)."""
    folder = tempfile.mkdtemp(prefix="gt-faults-")
    os.symlink(REPO, os.path.join(folder, "ground_truth"))
    return folder


@pytest.fixture(scope="session")
def scene_file(import_path, tmp_path_factory):
    """A saved scene: a floor and three moving cubes, 8 frames at 64x48, 4 samples."""
    pytest.importorskip("bpy", reason="the fault suite renders with the bpy module")
    return make_scene(import_path, tmp_path_factory.mktemp("scene") / "faults.blend", 4)


@pytest.fixture(scope="session")
def heavy_scene(import_path, tmp_path_factory):
    """The same scene at 64 samples: frames long enough to act between them."""
    pytest.importorskip("bpy", reason="the fault suite renders with the bpy module")
    return make_scene(import_path, tmp_path_factory.mktemp("heavy") / "heavy.blend", 64)
