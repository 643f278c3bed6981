"""What a frame's meta says of the camera and of each instance, computed (no Blender).

The schema is in :mod:`ground_truth.dataset.meta`; the conventions of ``K`` and the
camera frames in :mod:`ground_truth.geometry.camera`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np

from ..dataset.meta import to_json
from ..geometry import camera
from ..geometry.transforms import transform_points
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
    result = []
    for item in sorted(instances, key=lambda i: (int(i["id"]), str(i["object"]))):
        pose = np.asarray(item["matrix_world"], dtype=np.float64)
        if pose.shape != (4, 4):
            raise ValueError(f"matrix_world of {item['object']!r} must be 4x4, got {pose.shape}")
        bounds = np.asarray(item["bounds"], dtype=np.float64)
        if bounds.shape != (8, 3):
            raise ValueError(f"bounds of {item['object']!r} must be 8x3, got {bounds.shape}")
        box_world = transform_points(pose, bounds)
        bbox, pixels = visible.get(int(item["id"]), (None, 0))
        result.append(
            to_json(
                {
                    "id": int(item["id"]),
                    "class_id": int(item["class_id"]),
                    "object": str(item["object"]),
                    "pose_world": pose,
                    "pose_camera_cv": w2c @ pose,
                    "box3d_world": box_world,
                    "box3d_camera_cv": transform_points(w2c, box_world),
                    "visible_pixels": pixels,
                    "bbox": bbox,
                    **(occlusion.get(int(item["id"]), {}) if occlusion is not None else {}),
                    # Copies drawn by an instancer name it.
                    **({"instancer": str(item["instancer"])} if item.get("instancer") else {}),
                }
            )
        )
    return result
