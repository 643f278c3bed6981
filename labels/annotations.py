"""What a frame's meta says of the camera and of each instance, computed (no Blender).

The schema is in :mod:`ground_truth.dataset.meta`; the conventions of ``K`` and the
camera frames in :mod:`ground_truth.geometry.camera`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np

from ..dataset.meta import to_json
from ..geometry import camera
from ..geometry.transforms import transform_point_sets
from .masks import bboxes_from_instance_map

CAMERA_TYPES = ("PERSP", "ORTHO")


def camera_meta(
    *,
    matrix_world: np.ndarray,
    lens_mm: float,
    sensor_width: float,
    sensor_height: float,
    sensor_fit: str,
    shift_x: float,
    shift_y: float,
    res_x: int,
    res_y: int,
    pixel_aspect_x: float = 1.0,
    pixel_aspect_y: float = 1.0,
    camera_type: str = "PERSP",
    ortho_scale: float | None = None,
    clip_start: float,
    clip_end: float,
    name: str = "",
) -> dict:
    """The ``camera`` block of a frame's meta from a Blender camera's settings.

    ``matrix_world`` is the camera object's world matrix (scale is removed); the other
    arguments are the camera data's and render settings' values (``res_x``/``res_y``
    after the resolution percentage). ``camera_type`` other than PERSP or ORTHO raises
    :class:`ValueError` (panoramic cameras have no K).
    """
    if camera_type not in CAMERA_TYPES:
        raise ValueError(f"camera type {camera_type!r} has no pinhole model; use PERSP or ORTHO")
    ortho = camera_type == "ORTHO"
    k_matrix = camera.intrinsics(
        lens_mm,
        sensor_width,
        sensor_height,
        sensor_fit,
        shift_x,
        shift_y,
        res_x,
        res_y,
        pixel_aspect_x,
        pixel_aspect_y,
        ortho=ortho,
        ortho_scale=ortho_scale,
    )
    return to_json(
        {
            "name": name,
            "type": camera_type,
            "K": k_matrix,
            "world_to_camera_cv": camera.world_to_camera_cv(matrix_world),
            "camera_to_world_blender": camera.normalized_matrix(matrix_world),
            "clip_start": float(clip_start),
            "clip_end": float(clip_end),
            "lens_mm": float(lens_mm),
            "sensor": {
                "width": float(sensor_width),
                "height": float(sensor_height),
                "fit": sensor_fit,
            },
            "shift": [float(shift_x), float(shift_y)],
            "pixel_aspect": [float(pixel_aspect_x), float(pixel_aspect_y)],
            "ortho_scale": float(ortho_scale) if ortho else None,
        }
    )


def instance_annotations(
    instance_map: np.ndarray,
    instances: Iterable[Mapping],
    world_to_camera_cv: np.ndarray,
    boxes: Mapping[int, tuple] | None = None,
    occlusion: Mapping[int, Mapping] | None = None,
) -> list[dict]:
    """The ``instances`` block of a frame's meta.

    ``instances``: one mapping per labelled object with ``id`` (instance ID),
    ``class_id``, ``object`` (name), ``matrix_world`` (4x4) and ``bounds`` (8x3 local
    bound-box corners, e.g. ``obj.bound_box`` of the evaluated object).
    ``instance_map`` (HxW integers) gives ``visible_pixels`` and ``bbox``: 0 and
    ``None`` for instances with no pixel. IDs in the map that no instance names are
    ignored. Entries are sorted by (id, object). ``boxes`` (from
    :func:`~.boxes.bboxes_from_instance_map` of the same map) saves computing them again.
    ``occlusion`` gives each instance ID's fields from its amodal silhouette
    (:func:`~.amodal.meta_fields`: ``visible_fraction``, and with amodal output
    ``amodal_pixels``, ``amodal_bbox``, ``truncation``), added after ``bbox``.
    """
    visible = bboxes_from_instance_map(np.asarray(instance_map)) if boxes is None else boxes
    w2c = np.asarray(world_to_camera_cv, dtype=np.float64)
    items = sorted(instances, key=lambda i: (int(i["id"]), str(i["object"])))
    if not items:
        return []
    poses = np.empty((len(items), 4, 4))
    bounds = np.empty((len(items), 8, 3))
    for row, item in enumerate(items):
        pose = np.asarray(item["matrix_world"], dtype=np.float64)
        if pose.shape != (4, 4):
            raise ValueError(f"matrix_world of {item['object']!r} must be 4x4, got {pose.shape}")
        corners = np.asarray(item["bounds"], dtype=np.float64)
        if corners.shape != (8, 3):
            raise ValueError(f"bounds of {item['object']!r} must be 8x3, got {corners.shape}")
        poses[row], bounds[row] = pose, corners
    # All instances at once (what one at a time gives, to the last bit of rounding),
    # then JSON types in one conversion per array (``+ 0.0``: no -0.0).
    box_world = transform_point_sets(poses, bounds)
    columns = zip(
        items,
        (poses + 0.0).tolist(),
        (np.matmul(w2c, poses) + 0.0).tolist(),
        (box_world + 0.0).tolist(),
        (transform_point_sets(w2c[None], box_world) + 0.0).tolist(),
        strict=True,
    )
    result = []
    for item, pose, pose_camera, world, camera_box in columns:
        ident = int(item["id"])
        bbox, pixels = visible.get(ident, (None, 0))
        entry = {
            "id": ident,
            "class_id": int(item["class_id"]),
            "object": str(item["object"]),
            "pose_world": pose,
            "pose_camera_cv": pose_camera,
            "box3d_world": world,
            "box3d_camera_cv": camera_box,
            "visible_pixels": int(pixels),
            "bbox": None if bbox is None else [int(v) for v in bbox],
        }
        if occlusion is not None:
            entry.update(to_json(occlusion.get(ident, {})))
        if item.get("instancer"):  # copies drawn by an instancer name it
            entry["instancer"] = str(item["instancer"])
        result.append(entry)
    return result
