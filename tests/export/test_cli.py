"""``export``, ``check`` and ``stats`` as commands: exit codes, messages, what they leave."""

import hashlib
import os
import shutil

import numpy as np
import pytest
from export_helpers import run_cli
from small_dataset import write_small_dataset

from ground_truth.codecs import png


@pytest.fixture
def small(tmp_path):
    return write_small_dataset(str(tmp_path / "dataset"))


def snapshot(folder):
    """Every file's content hash and modification time under ``folder``."""
    result = {}
    for parent, _dirs, files in os.walk(folder):
        for name in files:
            path = os.path.join(parent, name)
            with open(path, "rb") as file:
                result[path] = (hashlib.sha256(file.read()).hexdigest(), os.stat(path).st_mtime_ns)
    return result


def leftovers(parent):
    return [n for n in os.listdir(parent) if ".export-" in n or ".replaced-" in n]


def test_every_format_exports_and_never_touches_the_dataset(small, tmp_path, capsys):
    before = snapshot(small)
    for fmt in ("yolo", "yolo-seg", "coco-panoptic", "voc", "kitti", "mot"):
        assert run_cli(["export", small, "--format", fmt, "--output", str(tmp_path / fmt)]) == 0
        assert f"as {fmt} to {tmp_path / fmt}" in capsys.readouterr().out
    assert snapshot(small) == before
    assert sorted(os.listdir(small)) == [
        "annotations",
        "class",
        "dataset.json",
        "depth",
        "instance",
        "meta",
        "rgb",
    ]
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize(
    "argv",
    [
        ["export", "DATASET", "--format", "pascal", "--output", "OUT"],
        ["export", "DATASET", "--output", "OUT"],
        ["export", "DATASET", "--format", "yolo", "--output", "OUT", "--val-ratio", "1.5"],
        ["export", "DATASET", "--format", "yolo", "--output", "OUT", "--val-ratio", "x"],
        ["export", "DATASET", "--format", "mot", "--output", "OUT", "--frame-rate", "0"],
        ["export", "DATASET", "--format", "mot", "--output", "OUT", "--val-ratio", "0.2"],
        ["export", "DATASET", "--format", "yolo", "--output", "DATASET/inside"],
        ["export", "DATASET", "--format", "yolo", "--output", "DATASET"],
        ["stats", "DATASET", "--picture", "DATASET/stats.png"],
    ],
)
def test_bad_arguments_exit_2_and_write_nothing(small, tmp_path, capsys, argv):
    before = snapshot(small)
    argv = [a.replace("DATASET", small).replace("OUT", str(tmp_path / "out")) for a in argv]
    assert run_cli(argv) == 2
    assert "ground_truth: " in capsys.readouterr().err
    assert not os.path.exists(tmp_path / "out")
    assert snapshot(small) == before


def test_missing_or_foreign_dataset_exits_1_naming_it(tmp_path, capsys):
    assert (
        run_cli(["export", str(tmp_path / "nowhere"), "--format", "voc", "-o", str(tmp_path / "o")])
        == 1
    )
    assert str(tmp_path / "nowhere") in capsys.readouterr().err
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "dataset.json").write_text('{"format": "something else"}')
    assert (
        run_cli(["export", str(tmp_path / "other"), "--format", "voc", "-o", str(tmp_path / "o")])
        == 1
    )
    assert "dataset.json" in capsys.readouterr().err
    assert not os.path.exists(tmp_path / "o")


def test_non_empty_output_is_refused_unless_replaced(small, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    assert run_cli(["export", small, "--format", "yolo", "-o", str(out)]) == 1
    assert "--replace" in capsys.readouterr().err
    assert os.listdir(out) == ["keep.txt"]
    assert run_cli(["export", small, "--format", "yolo", "-o", str(out), "--replace"]) == 0
    assert "keep.txt" not in os.listdir(out) and "data.yaml" in os.listdir(out)
    assert leftovers(tmp_path) == []
    # An empty folder is fine without --replace.
    (tmp_path / "empty").mkdir()
    assert run_cli(["export", small, "--format", "voc", "-o", str(tmp_path / "empty")]) == 0


def test_replace_never_deletes_a_dataset(small, tmp_path, capsys):
    other = write_small_dataset(str(tmp_path / "other"))
    assert run_cli(["export", small, "--format", "yolo", "-o", other, "--replace"]) == 1
    assert "Ground Truth dataset" in capsys.readouterr().err
    assert os.path.isfile(os.path.join(other, "dataset.json"))
    # Nor the folder that holds the source dataset.
    assert run_cli(["export", small, "--format", "yolo", "-o", str(tmp_path), "--replace"]) == 1
    assert os.path.isfile(os.path.join(small, "dataset.json"))


def test_failed_export_leaves_no_output(small, tmp_path, capsys):
    broken = tmp_path / "broken"
    shutil.copytree(small, broken)
    with open(broken / "instance" / "000009.png", "wb") as file:
        file.write(b"not a png")
    out = tmp_path / "out"
    assert (
        run_cli(["export", str(broken), "--format", "yolo-seg", "-o", str(out)]) == 0
    )  # frame 9 is empty
    shutil.rmtree(out)
    with open(broken / "instance" / "000005.png", "wb") as file:
        file.write(b"not a png")
    assert run_cli(["export", str(broken), "--format", "coco-panoptic", "-o", str(out)]) == 1
    assert "000005.png" in capsys.readouterr().err
    assert not os.path.exists(out)
    assert leftovers(tmp_path) == []
    # A previous export being replaced survives a failed replacement.
    os.remove(broken / "meta" / "000005.json")
    assert run_cli(["export", small, "--format", "voc", "-o", str(out)]) == 0
    before = snapshot(out)
    assert run_cli(["export", str(broken), "--format", "voc", "-o", str(out), "--replace"]) == 1
    assert "000005.json" in capsys.readouterr().err
    assert snapshot(out) == before


def test_check_passes_a_clean_dataset(small, capsys):
    assert run_cli(["check", small]) == 0
    assert "no problems" in capsys.readouterr().out


def corrupt_pixel(path):
    image = png.read_png(path)
    image[2, 3] = image[2, 3] + 1
    png.write_png(path, image)


def replace_with_small_image(path):
    png.write_png(path, np.zeros((10, 10, 3), dtype=np.uint8))


@pytest.mark.parametrize(
    ("fault", "blamed"),
    [
        (lambda root: os.remove(os.path.join(root, "depth", "000005.exr")), "depth/000005.exr"),
        (lambda root: corrupt_pixel(os.path.join(root, "class", "000003.png")), "class/000003.png"),
        (
            lambda root: replace_with_small_image(os.path.join(root, "rgb", "000009.png")),
            "rgb/000009.png",
        ),
    ],
)
def test_check_blames_the_faulty_file(small, capsys, fault, blamed):
    fault(small)
    assert run_cli(["check", small]) == 1
    assert blamed in capsys.readouterr().err


def test_stats_prints_and_draws(small, tmp_path, capsys):
    picture = tmp_path / "stats.png"
    assert run_cli(["stats", small, "--picture", str(picture)]) == 0
    out = capsys.readouterr().out
    assert "Tree Top" in out and "Visible fraction" in out
    image = png.read_png(str(picture))
    assert image.ndim == 3 and image.shape[2] == 3 and image.shape[1] > 600
    # The class colours are drawn (Car red, Tree Top green).
    colors = {tuple(c) for c in image.reshape(-1, 3).tolist()}
    assert (230, 51, 26) in colors and (26, 204, 51) in colors
