"""dataset.coco: the COCO file of a synthetic dataset, read back by pycocotools."""

import contextlib
import io
import json
import os

import numpy as np
import pytest
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from ground_truth.codecs import png
from ground_truth.dataset import coco, layout, meta
from ground_truth.dataset import description as dataset
from ground_truth.errors import DatasetError
from ground_truth.geometry.boxes import box_corners
from ground_truth.labels import annotations
from ground_truth.labels.masks import bbox_from_mask

RNG = np.random.default_rng(11)


def _pycoco(mask):
    return mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))["counts"].decode()


def _cube(ident, class_id, name, x):
    pose = np.eye(4)
    pose[:3, 3] = [x, 0.0, 0.0]
    corners = box_corners([-1.0] * 3, [1.0] * 3)
    return {
        "id": ident,
        "class_id": class_id,
        "object": name,
        "matrix_world": pose,
        "bounds": corners,
    }


def make_dataset(root, frames=(1, 2, 3, 5), width=40, height=30):
    """A synthetic dataset: frame 3 has no instance, frame 5 has no meta file."""
    classes = [
        {"id": 1, "name": "car", "color": (1.0, 0.0, 0.0)},
        {"id": 2, "name": "person", "color": (0.0, 1.0, 0.0)},
    ]
    objects = [_cube(4, 1, "Car", 0.0), _cube(9, 2, "Bob", 3.0), _cube(12, 1, "Car.001", -3.0)]
    instances = [{"id": o["id"], "object": o["object"], "class_id": o["class_id"]} for o in objects]
    instances.append({"id": 20, "object": "Thing", "class_id": 7})  # class not in the table
    data = dataset.build(
        classes=classes,
        instances=instances,
        frames=list(frames),
        blender_version="5.0.1",
        scene="Scene",
        resolution=(width, height),
    )
    dataset.write(root, data)
    os.makedirs(os.path.join(root, "instance"), exist_ok=True)
    camera_pose = np.eye(4)
    camera_pose[2, 3] = 10.0  # above the cubes, looking down
    camera_block = annotations.camera_meta(
        matrix_world=camera_pose,
        lens_mm=50.0,
        sensor_width=36.0,
        sensor_height=24.0,
        sensor_fit="AUTO",
        shift_x=0.0,
        shift_y=0.0,
        res_x=width,
        res_y=height,
        clip_start=0.1,
        clip_end=100.0,
    )
    maps = {}
    for frame in frames:
        instance_map = np.zeros((height, width), dtype=np.uint16)
        if frame != 3:
            instance_map[2 + frame : 9 + frame, 3:12] = 4
            instance_map[15:28, 20 + frame : 30] = 9
            instance_map[0, width - 1] = 9  # a stray pixel widens the box
            instance_map[20:25, 0:4] = 17  # an unlabelled ID: no annotation
            instance_map[26:29, 0:3] = 20  # unknown class: no annotation
        maps[frame] = instance_map
        png.write_png(layout.frame_path(root, "instance", frame), instance_map)
        if frame != 5:
            world_to_cam = np.array(camera_block["world_to_camera_cv"])
            block = annotations.instance_annotations(instance_map, objects, world_to_cam)
            meta.write_meta(root, frame, meta.frame_meta(frame, width, height, camera_block, block))
    return maps


def _quiet(function, *args):
    with contextlib.redirect_stdout(io.StringIO()):
        return function(*args)


def test_coco_from_frames_is_valid_and_matches_the_masks(tmp_path):
    root = str(tmp_path)
    maps = make_dataset(root)
    document = coco.coco_from_frames(root)
    assert [c["name"] for c in document["categories"]] == ["car", "person"]
    images = document["images"]
    assert [i["id"] for i in images] == [1, 2, 3, 5]
    assert all(i["width"] == 40 and i["height"] == 30 for i in images)
    assert images[0]["file_name"] == "rgb/000001.png"
    annotations = document["annotations"]
    assert [a["id"] for a in annotations] == list(range(1, 7))
    assert [(a["image_id"], a["instance_id"]) for a in annotations] == [
        (1, 4),
        (1, 9),
        (2, 4),
        (2, 9),
        (5, 4),
        (5, 9),
    ]
    path = coco.write_coco(root)
    assert path == os.path.join(root, "annotations", "coco_instances.json")
    gt = _quiet(COCO, path)
    assert sorted(gt.getImgIds()) == [1, 2, 3, 5]
    assert gt.getAnnIds(imgIds=[3]) == []
    for ann in gt.loadAnns(gt.getAnnIds()):
        expected = maps[ann["image_id"]] == ann["instance_id"]
        assert np.array_equal(gt.annToMask(ann).astype(bool), expected)
        assert ann["area"] == int(expected.sum())
        assert ann["bbox"] == bbox_from_mask(expected)
        assert ann["iscrowd"] == 0
        assert ann["category_id"] == {4: 1, 9: 2}[ann["instance_id"]]


@pytest.mark.parametrize("iou_type", ["segm", "bbox"])
def test_cocoeval_of_ground_truth_against_itself_is_perfect(tmp_path, iou_type):
    root = str(tmp_path)
    make_dataset(root)
    gt = _quiet(COCO, coco.write_coco(root))
    results = [
        {
            "image_id": a["image_id"],
            "category_id": a["category_id"],
            "segmentation" if iou_type == "segm" else "bbox": a[
                "segmentation" if iou_type == "segm" else "bbox"
            ],
            "score": 1.0,
        }
        for a in gt.dataset["annotations"]
    ]
    dt = _quiet(gt.loadRes, results)
    evaluation = COCOeval(gt, dt, iou_type)
    _quiet(evaluation.evaluate)
    _quiet(evaluation.accumulate)
    _quiet(evaluation.summarize)
    assert evaluation.stats[0] == pytest.approx(1.0)  # AP @ IoU 0.50:0.95
    assert evaluation.stats[1] == pytest.approx(1.0)  # AP @ IoU 0.50


def test_rebuilding_gives_identical_json(tmp_path):
    root = str(tmp_path)
    make_dataset(root)
    first = coco.coco_from_frames(root)
    with open(coco.write_coco(root), "rb") as file:
        written = file.read()
    assert coco.coco_from_frames(root) == first
    with open(coco.write_coco(root), "rb") as file:
        assert file.read() == written
    assert json.loads(written) == first


def test_meta_classes_take_precedence_over_dataset_json(tmp_path):
    root = str(tmp_path)
    make_dataset(root, frames=(1,))
    data = meta.read_meta(root, 1)
    for instance in data["instances"]:
        if instance["id"] == 9:
            instance["class_id"] = 1
    meta.write_meta(root, 1, data)
    annotations = coco.coco_from_frames(root)["annotations"]
    assert [a["category_id"] for a in annotations] == [1, 1]


def test_frames_without_instance_png_are_left_out(tmp_path):
    root = str(tmp_path)
    make_dataset(root, frames=(1, 2))
    os.remove(layout.frame_path(root, "instance", 2))
    assert [i["id"] for i in coco.coco_from_frames(root)["images"]] == [1]


def test_missing_dataset_json_raises(tmp_path):
    with pytest.raises(DatasetError):
        coco.coco_from_frames(str(tmp_path))


def test_build_coco_numbers_annotations_and_sorts():
    document = coco.build_coco(
        images=[coco.image_entry(7, 4, 3), coco.image_entry(-2, 4, 3)],
        categories=[{"id": 2, "name": "b"}, {"id": 1, "name": "a", "supercategory": "x"}],
        annotations=[{"image_id": 7, "id": 99, "k": 1}, {"image_id": -2, "k": 2}],
    )
    assert [i["id"] for i in document["images"]] == [-2, 7]
    assert document["images"][0]["file_name"] == "rgb/-00002.png"
    assert document["categories"] == [
        {"id": 1, "name": "a", "supercategory": "x"},
        {"id": 2, "name": "b", "supercategory": ""},
    ]
    assert document["annotations"] == [
        {"id": 1, "image_id": -2, "k": 2},
        {"id": 2, "image_id": 7, "k": 1},
    ]
