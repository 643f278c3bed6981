"""A small Ground Truth dataset written with the package's own file writers, for unit tests.

40x30 pixels, frames 3, 5 and 9 (not starting at 0 or 1, uneven steps), classes with
gaps in their IDs (2 ``Car``, 7 ``Tree Top``, 9 ``Road`` marked stuff), and the hard
cases of the exports: an object with a hole, an object in two parts, an object cut by the
image border, a frame where nothing is visible. The maps are drawn, not rendered; the
export tests on a real render use ``render_fixture.py``.
"""

import os

import numpy as np

from ground_truth.codecs import exr, png
from ground_truth.dataset import coco, description, layout, meta
from ground_truth.labels import annotations

WIDTH, HEIGHT = 40, 30
FRAMES = (3, 5, 9)
CLASSES = [
    {"id": 2, "name": "Car", "color": (0.9, 0.2, 0.1)},
    {"id": 7, "name": "Tree Top", "color": (0.1, 0.8, 0.2)},
    {"id": 9, "name": "Road", "color": (0.4, 0.4, 0.4)},
]
INSTANCES = [
    {"id": 1, "object": "CarA", "class_id": 2},
    {"id": 4, "object": "CarB", "class_id": 2},
    {"id": 6, "object": "Tree", "class_id": 7},
    {"id": 8, "object": "Road", "class_id": 9},
]
CLASS_OF = {i["id"]: i["class_id"] for i in INSTANCES}


def instance_map(frame: int) -> np.ndarray:
    """The drawn instance map of a frame."""
    ids = np.zeros((HEIGHT, WIDTH), dtype=np.uint16)
    if frame == 9:
        return ids  # nothing visible
    ids[20:, :] = 8  # road
    ids[4:14, 3:15] = 1  # car A, with a hole
    ids[7:10, 7:11] = 8 if frame == 3 else 0
    ids[15:24, 20:26] = 4  # car B, split by something unlabelled in front
    ids[15:24, 22:23] = 0
    if frame == 5:
        ids[0:12, 34:40] = 6  # tree top, cut by the top and right borders
    return ids


def _box_pose(x: float, y: float, z: float) -> np.ndarray:
    pose = np.eye(4)
    pose[:3, 3] = (x, y, z)
    return pose


def write_small_dataset(root: str, visible_fraction: bool = True) -> str:
    """Write the dataset into ``root`` (created); returns ``root``."""
    for kind in ("rgb", "depth", "class", "instance"):
        os.makedirs(os.path.join(root, kind), exist_ok=True)
    rng = np.random.default_rng(3)
    camera_pose = np.eye(4)  # Blender camera at the origin looking down -z
    camera_block = annotations.camera_meta(
        matrix_world=camera_pose,
        lens_mm=35.0,
        sensor_width=36.0,
        sensor_height=24.0,
        sensor_fit="AUTO",
        shift_x=0.0,
        shift_y=0.0,
        res_x=WIDTH,
        res_y=HEIGHT,
        clip_start=0.1,
        clip_end=100.0,
        name="Camera",
    )
    unit_box = np.array([[x, y, z] for x in (-0.5, 0.5) for y in (-0.5, 0.5) for z in (-0.5, 0.5)])[
        [0, 1, 3, 2, 4, 5, 7, 6]
    ]
    objects = [
        {"id": 1, "class_id": 2, "object": "CarA", "matrix_world": _box_pose(-0.8, 0.4, -5)},
        {"id": 4, "class_id": 2, "object": "CarB", "matrix_world": _box_pose(0.3, -0.3, -5)},
        {"id": 6, "class_id": 7, "object": "Tree", "matrix_world": _box_pose(2.6, 1.9, -5)},
        {"id": 8, "class_id": 9, "object": "Road", "matrix_world": _box_pose(0.0, -1.0, -5)},
    ]
    for item in objects:
        item["bounds"] = unit_box
    for frame in FRAMES:
        ids = instance_map(frame)
        lookup = np.zeros(16, dtype=np.uint16)
        for instance_id, class_id in CLASS_OF.items():
            lookup[instance_id] = class_id
        png.write_png(layout.frame_path(root, "instance", frame), ids)
        png.write_png(layout.frame_path(root, "class", frame), lookup[ids])
        depth = np.where(ids > 0, 5.0, np.inf).astype(np.float32)
        exr.write_exr(layout.frame_path(root, "depth", frame), {"Y": depth})
        rgb = rng.integers(0, 256, size=(HEIGHT, WIDTH, 3), dtype=np.uint8)
        png.write_png(layout.frame_path(root, "rgb", frame), rgb)
        counts = np.bincount(ids.ravel(), minlength=16)
        unoccluded = {1: int(counts[1]), 4: int(counts[4]) + 9, 6: 100, 8: int(counts[8])}
        occlusion = {
            ident: {"visible_fraction": round(int(counts[ident]) / total, 4) if total else 0.0}
            for ident, total in unoccluded.items()
        }
        instances = annotations.instance_annotations(
            ids,
            objects,
            camera_block["world_to_camera_cv"],
            occlusion=occlusion if visible_fraction else None,
        )
        meta.write_meta(root, frame, meta.frame_meta(frame, WIDTH, HEIGHT, camera_block, instances))
    data = description.build(
        classes=CLASSES,
        instances=INSTANCES,
        frames=list(FRAMES),
        blender_version="5.0.1",
        scene="Small",
        resolution=(WIDTH, HEIGHT),
    )
    for item in data["classes"]:
        if item["name"] == "Road":
            item["stuff"] = True
    description.write(root, data)
    coco.write_coco(root)
    return root
