"""A frame's instance map from whichever file holds it (bpy-free).

The instance map is written as a 16-bit PNG (``instance/NNNNNN.png``, the default) or,
for scenes with more than 65,535 instances, as a 32-bit EXR (``instance32/NNNNNN.exr``,
one UINT channel ``id``); a dataset may hold both, with the same IDs.
"""

from __future__ import annotations

import os

import numpy as np

from ..codecs import exr, png
from . import layout
from .outputs import BY_KEY

# The files an instance map may come from, preferred first.
INSTANCE_KEYS = ("instance", "instance32")
(ID_CHANNEL,) = BY_KEY["instance32"].channels


def instance_map_path(root: str | os.PathLike[str], frame: int) -> str | None:
    """The path of the frame's instance map file, or None when it has none."""
    for key in INSTANCE_KEYS:
        path = layout.frame_path(root, key, frame)
        if os.path.isfile(path):
            return path
    return None


def read_instance_map(path: str | os.PathLike[str], data: bytes | None = None) -> np.ndarray:
    """The instance map in ``path`` (either kind): uint16 from a PNG, uint32 from an EXR.

    Raises ValueError for a file that is not a single-channel map.
    """
    path = os.fspath(path)
    if path.endswith(".exr"):
        channels = exr.read_exr(path) if data is None else exr.decode_exr(data)
        ids = channels.get(ID_CHANNEL)
        if ids is None or ids.dtype != np.uint32:
            raise ValueError(f"{path} has no UINT channel {ID_CHANNEL!r}")
        return ids
    image = png.read_png(path) if data is None else png.decode_png(data)
    if image.ndim != 2:
        raise ValueError(f"{path} is not a single-channel image")
    return image.astype(np.uint16, copy=False)


def frame_instance_map(root: str | os.PathLike[str], frame: int) -> np.ndarray | None:
    """The frame's instance map (:func:`read_instance_map`), or None without one."""
    path = instance_map_path(root, frame)
    return None if path is None else read_instance_map(path)
