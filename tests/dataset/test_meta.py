"""dataset.meta: the per-frame meta JSON."""

import json
import math

import numpy as np
import pytest

from ground_truth.dataset import meta
from ground_truth.geometry import camera
from ground_truth.geometry.boxes import box_corners
from ground_truth.labels import annotations


def _camera_block(**kw):
    pose = np.eye(4)
    pose[:3, 3] = [0.0, 0.0, 10.0]
    pose[:3, :3] *= 2.0  # scale on the camera must not leak into the extrinsics
    args = dict(
        matrix_world=pose,
        lens_mm=50.0,
        sensor_width=36.0,
        sensor_height=24.0,
        sensor_fit="AUTO",
        shift_x=0.0,
        shift_y=0.0,
        res_x=64,
        res_y=48,
        clip_start=0.1,
        clip_end=100.0,
        name="Camera",
    )
    args.update(kw)
    return annotations.camera_meta(**args)


def test_camera_block():
    block = _camera_block()
    assert block["type"] == "PERSP" and block["name"] == "Camera"
    f = 50.0 / 36.0 * 64
    assert np.allclose(block["K"], [[f, 0, 32], [0, f, 24], [0, 0, 1]])
    expected_pose = np.eye(4)
    expected_pose[2, 3] = 10.0
    assert np.allclose(block["camera_to_world_blender"], expected_pose)
    assert np.allclose(
        block["world_to_camera_cv"], np.diag([1, -1, -1, 1]) @ np.linalg.inv(expected_pose)
    )
    assert block["sensor"] == {"width": 36.0, "height": 24.0, "fit": "AUTO"}
    assert block["shift"] == [0.0, 0.0] and block["pixel_aspect"] == [1.0, 1.0]
    assert block["ortho_scale"] is None
    assert block["clip_start"] == 0.1 and block["clip_end"] == 100.0
    json.dumps(block, allow_nan=False)
    assert "-0.0" not in json.dumps(block)


def test_camera_block_ortho_and_panoramic():
    block = _camera_block(camera_type="ORTHO", ortho_scale=6.4)
    assert block["type"] == "ORTHO" and block["ortho_scale"] == 6.4
    assert np.allclose(block["K"], [[10, 0, 32], [0, 10, 24], [0, 0, 1]])
    with pytest.raises(ValueError):
        _camera_block(camera_type="PANO")


def test_instance_annotations():
    block = _camera_block()
    w2c = np.array(block["world_to_camera_cv"])
    pose = np.eye(4)
    pose[:3, :3] = np.diag([2.0, 1.0, 1.0])
    pose[:3, 3] = [1.0, 0.0, 0.0]
    local = box_corners([-0.5, -0.5, -0.5], [0.5, 0.5, 0.5])
    instances = [
        {"id": 5, "class_id": 2, "object": "B", "matrix_world": pose, "bounds": local},
        {"id": 3, "class_id": 1, "object": "A", "matrix_world": np.eye(4), "bounds": local},
    ]
    instance_map = np.zeros((48, 64), dtype=np.uint16)
    instance_map[10:20, 30:34] = 5
    instance_map[0, 0] = 8  # not an instance we were told about: ignored
    out = annotations.instance_annotations(instance_map, instances, w2c)
    assert [i["id"] for i in out] == [3, 5]
    hidden, visible = out
    assert hidden["visible_pixels"] == 0 and hidden["bbox"] is None
    assert visible["visible_pixels"] == 40 and visible["bbox"] == [30, 10, 4, 10]
    assert visible["object"] == "B" and visible["class_id"] == 2
    assert np.allclose(visible["pose_world"], pose)
    assert np.allclose(visible["pose_camera_cv"], w2c @ pose)
    box_world = np.array(visible["box3d_world"])
    assert np.allclose(box_world, box_corners([0, -0.5, -0.5], [2, 0.5, 0.5]))
    box_cam = np.array(visible["box3d_camera_cv"])
    assert np.allclose(box_cam[:, 2], 10 - box_world[:, 2])  # depth along the view axis
    uv = camera.project(np.array(block["K"]), box_cam)
    assert np.all(np.isfinite(uv))
    with pytest.raises(ValueError):
        annotations.instance_annotations(
            instance_map, [{**instances[0], "bounds": np.zeros((4, 3))}], w2c
        )


def test_frame_meta_write_read_roundtrip(tmp_path):
    block = _camera_block()
    instances = annotations.instance_annotations(np.zeros((48, 64), dtype=np.uint16), [], np.eye(4))
    data = meta.frame_meta(np.int64(7), 64, 48, block, instances)
    assert list(data) == ["frame", "width", "height", "camera", "instances"]
    assert type(data["frame"]) is int
    path = meta.write_meta(str(tmp_path), 7, data)
    assert path == str(tmp_path / "meta" / "000007.json")
    assert meta.read_meta(str(tmp_path), 7) == data
    assert meta.read_meta(str(tmp_path), 8) is None
    with pytest.raises(ValueError):
        meta.write_meta(str(tmp_path), 9, {**data, "width": math.nan})


def test_to_json_converts_numpy():
    value = {"a": np.float32(1.5), "b": np.arange(3), "c": (np.bool_(True), -0.0), 4: None}
    assert meta.to_json(value) == {"a": 1.5, "b": [0, 1, 2], "c": [True, 0.0], "4": None}
    assert json.dumps(meta.to_json(-0.0)) == "0.0"
