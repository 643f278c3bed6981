"""Fixtures of the export tests.

Two kinds of test live here:

- bpy-free unit tests (polygons, XML, id encoding, splits, CLI on a small dataset written
  with the package's own file writers); they run under any venv with numpy and pytest
  and skip what needs a package that is not installed;
- tests on a real render: ``rendered`` runs ``render_fixture.py`` (the animated demo
  scene) with the Python named by the ``GT_BPY_PYTHON`` environment variable, a Python
  with the bpy module (``tools/consumers.sh`` sets it); without it they skip. The
  consumer tests (Ultralytics, Datumaro, pycocotools) also need those packages
  (``tools/consumers.sh``'s venv).
"""

import os
import shutil
import subprocess
import tempfile

import pytest
from export_helpers import FORMATS

# Ultralytics reads these when imported: no settings in the user's home, no network.
_YOLO_DIR = tempfile.mkdtemp(prefix="gt-yolo-config-")
os.environ.setdefault("YOLO_CONFIG_DIR", _YOLO_DIR)
os.environ.setdefault("YOLO_OFFLINE", "1")
os.environ.setdefault("YOLO_VERBOSE", "False")
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("MPLCONFIGDIR", tempfile.mkdtemp(prefix="gt-matplotlib-"))


def pytest_configure(config):
    # pycocotools 2.0 under numpy 2 warns on every decode; not ours to fix.
    config.addinivalue_line("filterwarnings", "ignore:__array__ implementation:DeprecationWarning")
    # The BOP toolkit's transform.py has docstrings with invalid escapes; not ours to fix.
    config.addinivalue_line("filterwarnings", "ignore:invalid escape sequence:DeprecationWarning")


HERE = os.path.dirname(os.path.abspath(__file__))
BPY_PYTHON = os.environ.get("GT_BPY_PYTHON")


@pytest.fixture(scope="session")
def rendered(tmp_path_factory):
    """The animated demo scene rendered by the extension (frames 0-14 step 2, 160x120)."""
    if not BPY_PYTHON:
        pytest.skip("set GT_BPY_PYTHON to a Python with bpy to render the test dataset")
    folder = tmp_path_factory.mktemp("rendered") / "dataset"
    result = subprocess.run(
        [BPY_PYTHON, os.path.join(HERE, "render_fixture.py"), str(folder)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return str(folder)


@pytest.fixture(scope="session")
def rendered_bop(tmp_path_factory):
    """The BOP export's dataset: ``render_fixture.py --bop`` (frames 0, 7, 14, amodal
    masks and object models, the model cases)."""
    if not BPY_PYTHON:
        pytest.skip("set GT_BPY_PYTHON to a Python with bpy to render the test dataset")
    folder = tmp_path_factory.mktemp("rendered-bop") / "dataset"
    result = subprocess.run(
        [BPY_PYTHON, os.path.join(HERE, "render_fixture.py"), str(folder), "--bop"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return str(folder)


@pytest.fixture(scope="session")
def exports(rendered, tmp_path_factory):
    """Every format exported once from the rendered dataset (images copied)."""
    from ground_truth.export import export_dataset

    root = tmp_path_factory.mktemp("exports")
    result = {}
    for fmt in FORMATS:
        export_dataset(rendered, str(root / fmt), fmt, val_ratio=None if fmt == "mot" else 0.25)
        result[fmt] = str(root / fmt)
    return result


@pytest.fixture
def fresh_copy(tmp_path):
    """Copy a folder into this test's tmp_path (tests that let a consumer write caches)."""

    def copy(folder: str) -> str:
        target = tmp_path / os.path.basename(folder)
        shutil.copytree(folder, target, symlinks=True)
        return str(target)

    return copy
