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

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import pytest

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


HERE = os.path.dirname(os.path.abspath(__file__))
BPY_PYTHON = os.environ.get("GT_BPY_PYTHON")
FORMATS = ("yolo", "yolo-seg", "coco-panoptic", "voc", "kitti", "mot")


class UsageError(Exception):
    """What the command-line parser raises on bad arguments (the caller exits 2)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(message)


def run_cli(argv: list[str]) -> int:
    """Run a dataset command as ``python -m ground_truth`` will: 2 on a usage error."""
    from ground_truth.commands import dataset_commands

    parser = _Parser(prog="ground_truth")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for name in ("export", "check", "stats"):
        getattr(dataset_commands, f"add_{name}_parser")(commands)
    try:
        args = parser.parse_args(argv)
    except UsageError as error:
        print(f"ground_truth: error: {error}", file=sys.stderr)
        return 2
    return getattr(dataset_commands, f"run_{args.command}")(args)


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


def load_json(path):
    with open(path, encoding="utf-8") as file:
        return json.load(file)


def frame_truth(dataset: str, frame: int):
    """A frame's meta and instance map, read with the dataset reader."""
    from ground_truth.dataset.reader import load_frame

    sample = load_frame(dataset, frame)
    return sample["meta"], sample["instance"]


def visible_things(dataset: str, frame_meta: dict) -> list[dict]:
    """The meta's visible instances of thing classes (the object formats' content)."""
    data = load_json(os.path.join(dataset, "dataset.json"))
    stuff = {c["id"] for c in data["classes"] if c.get("stuff")}
    known = {c["id"] for c in data["classes"]}
    return [
        i
        for i in frame_meta["instances"]
        if i["visible_pixels"] and i["class_id"] in known and i["class_id"] not in stuff
    ]


def boundary_band(mask: np.ndarray) -> np.ndarray:
    """Pixels within one pixel (8-neighbourhood) of the mask's boundary, both sides."""
    padded = np.pad(mask, 1, mode="edge")
    grown = np.zeros_like(mask)
    shrunk = np.ones_like(mask)
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            window = padded[1 + dy : 1 + dy + mask.shape[0], 1 + dx : 1 + dx + mask.shape[1]]
            grown |= window
            shrunk &= window
    return grown & ~shrunk
