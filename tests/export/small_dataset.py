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


# ---------------------------------------------------------------------------
# A BOP-ready dataset: amodal masks and object models, from drawn geometry
# ---------------------------------------------------------------------------

BOP_SIZE = (48, 36)  # width, height
BOP_FRAMES = (2, 4)


def _unit_cube():
    from ground_truth.labels.amodal import Mesh

    vertices = np.array(
        [[x, y, z] for x in (-0.5, 0.5) for y in (-0.5, 0.5) for z in (-0.5, 0.5)], np.float32
    )
    quads = [(0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3)]
    triangles = [t for a, b, c, d in quads for t in ((a, b, c), (a, c, d))]
    return Mesh(vertices, np.array(triangles, np.int32))


def _pose(location, turn_z=0.0, scale=(1.0, 1.0, 1.0)) -> np.ndarray:
    c, s = np.cos(turn_z), np.sin(turn_z)
    pose = np.eye(4)
    pose[:3, :3] = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]]) @ np.diag(scale)
    pose[:3, 3] = location
    return pose


def bop_objects(frame: int) -> list[dict]:
    """The boxes of a frame: two sharing one mesh (A, B), B half behind C, D cut by the
    right border and stretched. The camera is at the origin looking down -z."""
    shift = 0.1 * frame
    return [
        {"id": 1, "class_id": 2, "object": "BoxA", "matrix_world": _pose((-1.3, 0.5, -6), 0.4)},
        {"id": 2, "class_id": 2, "object": "BoxB", "matrix_world": _pose((0.2, -0.3, -7), -0.3)},
        {"id": 3, "class_id": 7, "object": "BoxC", "matrix_world": _pose((0.7 - shift, -0.4, -5))},
        {
            "id": 4,
            "class_id": 7,
            "object": "BoxD",
            "matrix_world": _pose((2.4, 0.6, -6), 0.2, (1.5, 0.8, 1.0)),
        },
    ]


def write_bop_dataset(root: str, amodal: bool = True, models: bool = True) -> str:
    """A dataset with amodal masks and object models, made with the package's own writers
    from geometry drawn here (painter's order for the instance map, each box's centre
    depth as its depth). Frames 2 and 4, 48 x 36."""
    from ground_truth.dataset import amodal as amodal_file
    from ground_truth.dataset import models as model_files
    from ground_truth.geometry import raster
    from ground_truth.labels import amodal as amodal_labels
    from ground_truth.labels import models as object_models
    from ground_truth.labels.amodal import Placement, SceneGeometry
    from ground_truth.labels.masks import bboxes_from_instance_map

    width, height = BOP_SIZE
    camera_block = annotations.camera_meta(
        matrix_world=np.eye(4),
        lens_mm=35.0,
        sensor_width=36.0,
        sensor_height=24.0,
        sensor_fit="AUTO",
        shift_x=0.0,
        shift_y=0.0,
        res_x=width,
        res_y=height,
        clip_start=0.1,
        clip_end=100.0,
        name="Camera",
    )
    mesh = _unit_cube()
    bounds = mesh.vertices.astype(np.float64)[[0, 1, 3, 2, 4, 5, 7, 6]]
    for kind in ("rgb", "depth", "class", "instance"):
        os.makedirs(os.path.join(root, kind), exist_ok=True)
    for frame in BOP_FRAMES:
        objects = bop_objects(frame)
        geometry = SceneGeometry(
            meshes={"cube": mesh},
            instances={o["id"]: (Placement("cube", o["matrix_world"]),) for o in objects},
        )
        ids = np.zeros((height, width), np.uint16)
        depth = np.full((height, width), np.inf, np.float32)
        for item in sorted(objects, key=lambda o: o["matrix_world"][2, 3]):  # far first
            triangles = amodal_labels.instance_triangles(
                geometry.instances[item["id"]], geometry.meshes, camera_block
            )
            outline = raster.silhouette(triangles, (height, width))
            if outline.window is None:
                continue
            r0, r1, c0, c1 = outline.window
            ids[r0:r1, c0:c1][outline.mask] = item["id"]
            depth[r0:r1, c0:c1][outline.mask] = -item["matrix_world"][2, 3]
        for item in objects:
            item["bounds"] = bounds
        png.write_png(layout.frame_path(root, "instance", frame), ids)
        png.write_png(
            layout.frame_path(root, "class", frame), np.array([0, 2, 2, 7, 7], np.uint16)[ids]
        )
        exr.write_exr(layout.frame_path(root, "depth", frame), {"Y": depth})
        rgb = np.dstack([ids * 40 % 256] * 3).astype(np.uint8)
        png.write_png(layout.frame_path(root, "rgb", frame), rgb)
        boxes = bboxes_from_instance_map(ids)
        silhouettes = amodal_labels.frame_amodal(geometry, camera_block, ids, boxes)
        fields = amodal_labels.meta_fields(silhouettes, [o["id"] for o in objects], amodal)
        if amodal:
            entries = amodal_labels.file_entries(silhouettes, (height, width))
            document = amodal_file.frame_document(frame, width, height, entries)
            amodal_file.write_frame(root, frame, document)
        if models:
            found = object_models.frame_models(geometry, objects)
            model_files.write_models(root, found.values(), 1.0)
            fields = object_models.meta_fields(found, camera_block["world_to_camera_cv"], fields)
        instances = annotations.instance_annotations(
            ids, objects, camera_block["world_to_camera_cv"], boxes, fields
        )
        meta.write_meta(root, frame, meta.frame_meta(frame, width, height, camera_block, instances))
    data = description.build(
        classes=CLASSES,
        instances=[{k: o[k] for k in ("id", "object", "class_id")} for o in bop_objects(0)],
        frames=list(BOP_FRAMES),
        blender_version="5.0.1",
        scene="Boxes",
        resolution=BOP_SIZE,
    )
    description.write(root, data)
    return root
