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
          "bbox": [x, y, w, h] | null,        # tight box of those pixels; null if none
          # With Visible Fraction or Amodal Masks (labels/amodal.py):
          "visible_fraction": float,          # visible_pixels / amodal pixels, 0..1
          # With Amodal Masks only:
          "amodal_pixels": int,               # pixels of its whole silhouette in the image
          "amodal_bbox": [x, y, w, h] | null, # box of that silhouette, clipped to the image
          "truncation": float | null,         # share of the silhouette outside the image
          "instancer": str                    # copies drawn by an instancer only
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
from . import layout


def to_json(value: Any) -> Any:
    """Convert numpy arrays and scalars (nested in dicts, lists, tuples) to JSON types.

    Floats are Python floats (``-0.0`` becomes ``0.0``); non-finite floats are kept
    (the JSON writer rejects them).
    """
    kind = type(value)
    if kind is float:
        return value + 0.0
    if kind in (int, str, bool) or value is None:
        return value
    if kind is list and all(type(v) is float for v in value):
        return [v + 0.0 for v in value]
    if isinstance(value, np.ndarray):
        if value.dtype.kind == "f":
            return (value.astype(np.float64) + 0.0).tolist()  # Python floats, no -0.0
        if value.dtype.kind in "biu":
            return value.tolist()
        return to_json(value.tolist())
    if isinstance(value, Mapping):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return float(value) + 0.0
    return value


def frame_meta(
    frame: int, width: int, height: int, camera_block: Mapping, instances: Iterable[Mapping]
) -> dict:
    """Assemble a frame's meta dict (see the module docstring) in JSON-ready form.

    ``camera_block`` comes from :func:`ground_truth.labels.annotations.camera_meta`
    (numpy values in it are converted), ``instances`` from
    :func:`ground_truth.labels.annotations.instance_annotations`, which gives JSON types
    already: a scene's thousands of entries are not walked a second time.
    """
    return {
        "frame": int(frame),
        "width": int(width),
        "height": int(height),
        "camera": to_json(dict(camera_block)),
        "instances": list(instances),
    }


def meta_path(root: str | os.PathLike[str], frame: int) -> str:
    """Return ``root/meta/NNNNNN.json``."""
    return layout.frame_path(root, "meta", frame)


def write_meta(
    root: str | os.PathLike[str], frame: int, meta: Mapping, converted: bool = False
) -> str:
    """Write ``meta`` as ``root/meta/NNNNNN.json`` atomically (creating ``meta/``).

    Returns the path. Non-finite floats raise :class:`ValueError`. ``converted`` says
    ``meta`` holds JSON types already (:func:`frame_meta`'s), saving a second pass.
    """
    path = meta_path(root, frame)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    atomic.atomic_write_json(path, meta if converted else to_json(meta), compact=True)
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
