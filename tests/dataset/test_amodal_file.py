"""dataset.amodal: the amodal file, its reader, and the amodal fields of COCO.

A synthetic frame: instance 4 is half hidden by instance 9; the amodal file is made
by the extension's own writer functions and read back by pycocotools and the reader.
"""

import contextlib
import io
import json
import os

import numpy as np
from pycocotools.coco import COCO

from ground_truth.codecs import png
from ground_truth.dataset import amodal as amodal_file
from ground_truth.dataset import coco, layout, reader
from ground_truth.dataset import description as dataset
from ground_truth.labels import amodal
from ground_truth.labels.masks import bboxes_from_instance_map

W, H = 40, 30


def make_frame(root):
    """Frame 1: a 10 x 10 square (ID 4) whose right half is under ID 9, and ID 9 half cut
    off by the right border (it spans columns 25..44 of a 40 px wide image)."""
    data = dataset.build(
        classes=[{"id": 1, "name": "box", "color": (1.0, 0.0, 0.0)}],
        instances=[
            {"id": 4, "object": "Back", "class_id": 1},
            {"id": 9, "object": "Front", "class_id": 1},
        ],
        frames=[1],
        blender_version="5.0.1",
        scene="Scene",
        resolution=(W, H),
    )
    dataset.write(root, data)
    instance_map = np.zeros((H, W), dtype=np.uint16)
    instance_map[5:15, 10:15] = 4
    instance_map[5:15, 15:W] = 9
    os.makedirs(os.path.join(root, "instance"))
    png.write_png(layout.frame_path(root, "instance", 1), instance_map)
    silhouettes = {
        4: amodal.AmodalInstance(4, (5, 15, 10, 20), np.ones((10, 10), bool), 100, 50,
                                 [10, 5, 5, 10], [10, 5, 10, 10], 0.0),
        9: amodal.AmodalInstance(9, (5, 15, 15, W), np.ones((10, W - 15), bool), 250, 250,
                                 [15, 5, 25, 10], [15, 5, 25, 10], 50.0),
    }  # fmt: skip
    entries = amodal.file_entries(silhouettes, (H, W))
    document = amodal_file.frame_document(1, W, H, entries)
    amodal_file.write_frame(root, 1, document)
    return data, instance_map, silhouettes, document


def test_the_amodal_file_reads_back_as_masks(tmp_path):
    _data, instance_map, silhouettes, document = make_frame(str(tmp_path))
    on_disk = json.loads((tmp_path / "amodal" / "000001.json").read_text())
    assert on_disk == document
    assert [e["id"] for e in on_disk["instances"]] == [4, 9]
    assert on_disk["instances"][0]["visible_fraction"] == 0.5
    assert on_disk["instances"][1]["truncation"] == round(50 / 300, 6)
    frame = reader.load_frame(tmp_path, 1, keys=("amodal", "instance"))
    for ident, silhouette in silhouettes.items():
        np.testing.assert_array_equal(frame["amodal"][ident], amodal.full_mask(silhouette, (H, W)))
        assert not ((frame["instance"] == ident) & ~frame["amodal"][ident]).any()
    both = amodal_file.frame_masks(tmp_path, 1)
    np.testing.assert_array_equal(both[4]["visible"], instance_map == 4)
    assert both[4]["amodal"].sum() == both[4]["amodal_pixels"] == 100
    assert amodal_file.frame_masks(tmp_path, 2) is None


def test_coco_carries_the_amodal_fields_and_pycocotools_decodes_them(tmp_path):
    root = str(tmp_path)
    data, instance_map, silhouettes, document = make_frame(root)
    # The entry made during a render (document in hand) equals the one rebuilt from files.
    in_render = coco.frame_entry(
        root, 1, data, instance_map=instance_map,
        boxes=bboxes_from_instance_map(instance_map), amodal_document=document,
    )  # fmt: skip
    assert in_render == coco.frame_entry(root, 1, data)
    annotation = in_render[1][0]
    assert annotation["area"] == 50 and annotation["amodal_area"] == 100
    assert annotation["bbox"] == [10, 5, 5, 10] and annotation["amodal_bbox"] == [10, 5, 10, 10]
    assert annotation["visible_fraction"] == 0.5 and annotation["truncation"] == 0.0
    path = coco.write_coco(root)
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(path)
    for ann in gt.loadAnns(gt.getAnnIds()):
        ident = ann["instance_id"]
        visible = gt.annToMask(ann).astype(bool)
        whole = gt.annToMask({**ann, "segmentation": ann["amodal_segmentation"]}).astype(bool)
        np.testing.assert_array_equal(visible, instance_map == ident)
        np.testing.assert_array_equal(whole, amodal.full_mask(silhouettes[ident], (H, W)))


def test_coco_without_an_amodal_file_has_no_amodal_fields(tmp_path):
    root = str(tmp_path)
    data, *_ = make_frame(root)
    os.remove(layout.frame_path(root, "amodal", 1))
    _image, annotations = coco.frame_entry(root, 1, data)
    assert all("amodal_segmentation" not in a for a in annotations)
