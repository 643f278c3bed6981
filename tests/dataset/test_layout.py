"""dataset.layout: where every file of a dataset lies."""

import os

import pytest

from ground_truth.dataset import layout
from ground_truth.dataset.outputs import OUTPUTS


def test_frame_stem():
    assert layout.FRAME_DIGITS == 6
    assert layout.frame_stem(3) == "000003"
    assert layout.frame_stem(0) == "000000"
    assert layout.frame_stem(1234567) == "1234567"
    assert layout.frame_stem(-3) == "-00003"


def test_frame_path_follows_the_output_declarations():
    assert layout.frame_path("/out", "rgb", 3) == os.path.join("/out", "rgb", "000003.png")
    assert layout.frame_path("/out", "depth", 12).endswith(os.path.join("depth", "000012.exr"))
    assert layout.frame_path("/out", "meta", 1).endswith(os.path.join("meta", "000001.json"))
    assert layout.frame_relative_path("rgb", 7) == "rgb/000007.png"
    for output in OUTPUTS:
        if output.folder:
            path = layout.frame_path("/out", output.key, 5)
            assert path == os.path.join("/out", output.folder, "000005" + output.extension)
    # Outputs without per-frame files, and unknown ones, have no frame path.
    for key in ("coco", "visible_fraction", "normals"):
        with pytest.raises(ValueError):
            layout.frame_path("/out", key, 1)


def test_dataset_wide_files_and_raw_passes():
    assert layout.dataset_json_path("/out") == os.path.join("/out", "dataset.json")
    assert layout.dataset_file_path("/out", "coco") == os.path.join(
        "/out", "annotations", "coco_instances.json"
    )
    farm = layout.raw_folder("/out")
    assert farm == os.path.join("/out", ".raw")
    assert layout.raw_folder("/out", "host-12") == os.path.join("/out", ".raw", "host-12")
    assert layout.raw_path(farm, 3) == os.path.join("/out", ".raw", "000003.exr")
    assert layout.raw_path(farm, 3, "_normal").endswith("000003_normal.exr")
    raw = [os.path.basename(p) for p in layout.raw_frame_files(farm, 3)]
    assert raw == [
        "000003.exr",
        "000003_normal.exr",
        "000003_vector.exr",
        "000003.bmp",
    ]
