"""File and folder naming for dataset output, and Blender-style unique names.

Frame files are named by the frame number zero-padded to :data:`FRAME_DIGITS` digits,
e.g. ``rgb/000003.png`` and ``depth/000003.exr``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable

FRAME_DIGITS = 6

RGB_DIR = "rgb"
DEPTH_DIR = "depth"
CLASS_DIR = "class"
INSTANCE_DIR = "instance"
PREVIEW_DIR = "preview"
PART_DIR = "part"
NORMAL_DIR = "normal"
FLOW_DIR = "flow"
RAW_DIR = ".raw"

KINDS = (RGB_DIR, DEPTH_DIR, CLASS_DIR, INSTANCE_DIR, PREVIEW_DIR, PART_DIR, NORMAL_DIR, FLOW_DIR)
EXTENSIONS = {
    RGB_DIR: ".png",
    DEPTH_DIR: ".exr",
    CLASS_DIR: ".png",
    INSTANCE_DIR: ".png",
    PREVIEW_DIR: ".png",
    PART_DIR: ".png",
    NORMAL_DIR: ".exr",
    FLOW_DIR: ".exr",
}

_NUMBER_SUFFIX = re.compile(r"\.\d{3,}$")


def frame_stem(frame: int) -> str:
    """Return the file stem for ``frame``: ``3 -> "000003"``.

    Negative frames keep the sign within the same width: ``-3 -> "-00003"``. Frames
    with more digits than :data:`FRAME_DIGITS` are not truncated.
    """
    return f"{int(frame):0{FRAME_DIGITS}d}"


def frame_path(root: str | os.PathLike[str], kind: str, frame: int) -> str:
    """Return ``root/<kind>/<stem><ext>`` for an output ``kind`` (one of :data:`KINDS`).

    Each kind has its extension in :data:`EXTENSIONS` (``.exr`` for float data,
    ``.png`` otherwise). Unknown kinds raise
    :class:`ValueError`.
    """
    if kind not in EXTENSIONS:
        raise ValueError(f"unknown output kind {kind!r}; expected one of {KINDS}")
    return os.path.join(os.fspath(root), kind, frame_stem(frame) + EXTENSIONS[kind])


def unique_name(base: str, taken: Iterable[str]) -> str:
    """Return ``base`` if not taken, else the first free ``base.001``, ``base.002``, ...

    Like Blender, a numeric suffix already on ``base`` is replaced rather than extended
    (``"Car.001"`` taken -> ``"Car.002"``, not ``"Car.001.001"``).
    """
    taken_set = set(taken)
    if base not in taken_set:
        return base
    stem = _NUMBER_SUFFIX.sub("", base)
    number = 1
    while True:
        candidate = f"{stem}.{number:03d}"
        if candidate not in taken_set:
            return candidate
        number += 1
