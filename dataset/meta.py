"""Per-frame geometry and annotations: ``meta/NNNNNN.json``.

Schema (all matrices are nested lists, row-major: ``M[row][column]``; lengths in scene
units, i.e. metres with the default unit scale; pixel quantities in the image
coordinates of :mod:`.camera`: top-left image corner at (0, 0), pixel centres at +0.5)::

    {
      "frame": int,
      "width": int, "height": int,            # image size in pixels
      "camera": {
        "name": str,                          # camera object name ("" if not given)
        "type": "PERSP" | "ORTHO",
        "K": 3x3,                             # intrinsics; affine (z ignored) for ORTHO
        "world_to_camera_cv": 4x4,            # world -> camera, OpenCV axes
        "camera_to_world_blender": 4x4,       # camera pose, Blender camera axes, no scale
        "clip_start": float, "clip_end": float,
        "lens_mm": float,                     # focal length (unused by ORTHO)
        "sensor": {"width": float, "height": float, "fit": "AUTO"|"HORIZONTAL"|"VERTICAL"},
        "shift": [x, y],                      # Blender's shift_x, shift_y
        "pixel_aspect": [x, y],
        "ortho_scale": float | null           # null for PERSP
      },
      "instances": [                          # every labelled instance, by id, visible or not
        {
          "id": int,                          # instance ID (value in instance/NNNNNN.png)
          "class_id": int,
          "object": str,                      # Blender object name
          "pose_world": 4x4,                  # the object's matrix_world (may hold scale)
          "pose_camera_cv": 4x4,              # world_to_camera_cv @ pose_world
          "box3d_world": 8x3,                 # bound-box corners, world frame
          "box3d_camera_cv": 8x3,             # the same corners, OpenCV camera frame
          "visible_pixels": int,              # pixels with this id in the instance map
          "bbox": [x, y, w, h] | null         # tight box of those pixels; null if none
        }
      ]
    }

``pose_world`` is the object's full ``matrix_world``: its 3x3 part includes the
object's scale (normalise its columns for a pure rotation). The 3D box corners are
the object's evaluated local bounds (Blender's ``bound_box``, order of
:func:`.boxes.box_corners`) mapped through ``pose_world``. Several objects may share
an instance ID (parts of one labelled parent); their entries share its pixels.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from ..codecs import atomic
from ..geometry import camera
from ..geometry.boxes import bboxes_from_instance_map, transform_points
from . import layout

META_DIR = "meta"
CAMERA_TYPES = ("PERSP", "ORTHO")


def to_json(value: Any) -> Any:
    """Convert numpy arrays and scalars (nested in dicts, lists, tuples) to JSON types.

    Floats are Python floats (``-0.0`` becomes ``0.0``); non-finite floats are kept
    (the JSON writer rejects them).
    """
    if isinstance(value, Mapping):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return to_json(value.tolist())
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return float(value) + 0.0
    return value


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
    unoccluded: Mapping[int, int] | None = None,
) -> list[dict]:
    """The ``instances`` block of a frame's meta.

    ``instances``: one mapping per labelled object with ``id`` (instance ID),
    ``class_id``, ``object`` (name), ``matrix_world`` (4x4) and ``bounds`` (8x3 local
    bound-box corners, e.g. ``obj.bound_box`` of the evaluated object).
    ``instance_map`` (HxW integers) gives ``visible_pixels`` and ``bbox``: 0 and
    ``None`` for instances with no pixel. IDs in the map that no instance names are
    ignored. Entries are sorted by (id, object). ``boxes`` (from
    :func:`~.boxes.bboxes_from_instance_map` of the same map) saves computing them again.
    With ``unoccluded`` (pixels each instance would cover with nothing in front), each
    entry gets ``visible_fraction``: visible / unoccluded pixels, None where unknown.
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
                    **(
                        {"visible_fraction": _fraction(pixels, unoccluded.get(int(item["id"])))}
                        if unoccluded is not None
                        else {}
                    ),
                    # Copies drawn by an instancer name it.
                    **({"instancer": str(item["instancer"])} if item.get("instancer") else {}),
                }
            )
        )
    return result


def _fraction(visible: int, unoccluded: int | None) -> float | None:
    if unoccluded is None or not visible:
        return None if unoccluded is None else 0.0
    return round(visible / max(unoccluded, visible), 6)


def frame_meta(
    frame: int, width: int, height: int, camera_block: Mapping, instances: Iterable[Mapping]
) -> dict:
    """Assemble a frame's meta dict (see the module docstring) in JSON-ready form.

    ``camera_block`` comes from :func:`camera_meta`, ``instances`` from
    :func:`instance_annotations`; numpy values anywhere are converted.
    """
    return to_json(
        {
            "frame": int(frame),
            "width": int(width),
            "height": int(height),
            "camera": dict(camera_block),
            "instances": list(instances),
        }
    )


def meta_path(root: str | os.PathLike[str], frame: int) -> str:
    """Return ``root/meta/NNNNNN.json``."""
    return os.path.join(os.fspath(root), META_DIR, layout.frame_stem(frame) + ".json")


def write_meta(root: str | os.PathLike[str], frame: int, meta: Mapping) -> str:
    """Write ``meta`` as ``root/meta/NNNNNN.json`` atomically (creating ``meta/``).

    Returns the path. Non-finite floats raise :class:`ValueError`.
    """
    path = meta_path(root, frame)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    atomic.atomic_write_json(path, to_json(meta))
    return path


def read_meta(root: str | os.PathLike[str], frame: int) -> dict | None:
    """Read ``root/meta/NNNNNN.json``; ``None`` when the file does not exist.

    Invalid JSON raises :class:`ValueError`.
    """
    path = meta_path(root, frame)
    try:
        with open(path, encoding="utf-8") as file:
            return json.load(file)
    except FileNotFoundError:
        return None
