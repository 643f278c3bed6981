"""Turn one frame's raw passes into the dataset's label files (no Blender needed).

The compositor writes a raw multilayer EXR per frame holding the Depth and Object
Index passes of the same render. ``convert_frame`` reads it and writes:

- ``depth/NNNNNN.exr``: float32, one channel ``Y``, planar depth in metres, ``inf`` = background;
- ``class/NNNNNN.png`` and ``instance/NNNNNN.png``: 16-bit gray, 0 = background/unlabelled;
- ``preview/NNNNNN.png``: RGB | depth | class | instance, for a person to check.

This is also what a farm's raw output is finalized with.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from . import bmp, colors, exr, naming, png, preview
from .ids import MAX_ID

# The layer of the compositor's raw EXR (see nodes/setup.py).
RAW_LAYER = "Raw"

# Preview panels are at most this wide: larger frames are shown at 1/2, 1/3, ...
PREVIEW_WIDTH = 480

# Cycles writes this depth where a ray hits nothing.
BACKGROUND_DEPTH = 1.0e10


@dataclass
class FrameLabels:
    """Label arrays of one frame."""

    depth: np.ndarray  # float32 HxW, metres, inf = background
    instance: np.ndarray  # uint16 HxW
    klass: np.ndarray  # uint16 HxW
    instance_pixels: dict[int, int] = field(default_factory=dict)


def raw_passes(channels: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Depth and Object Index from the channels of the compositor's raw EXR.

    The extension's setup packs them into one layer ``Raw``: R = Depth, G = Object
    Index (Blender names the channels ``Raw.R`` or ``ViewLayer.Raw.R``).
    """
    found = {}
    for name, values in channels.items():
        parts = name.split(".")
        if len(parts) >= 2 and parts[-2] == RAW_LAYER and parts[-1] in ("R", "G"):
            found[parts[-1]] = values
    if len(found) != 2:
        raise ValueError(f"The raw EXR has no '{RAW_LAYER}' layer (channels: {sorted(channels)})")
    return found["R"], found["G"]


def frame_complete(root: str, frame: int, kinds: list[str]) -> bool:
    """True when every file of ``kinds`` for ``frame`` exists and its header reads back."""
    for kind in kinds:
        path = naming.frame_path(root, kind, frame)
        try:
            if path.endswith(".exr"):
                exr.read_exr(path)  # decodes every chunk: a truncated file fails
            else:
                png.png_size(path)
        except (OSError, ValueError):
            return False
    return True


def raw_image_path(root: str, frame: int) -> str:
    """The compositor's uncompressed image copy for the preview of ``frame``."""
    return os.path.join(root, naming.RAW_DIR, naming.frame_stem(frame) + ".bmp")


def raw_frame_path(root: str, frame: int) -> str:
    """Where the compositor's raw output for ``frame`` lies under the dataset ``root``."""
    return os.path.join(root, naming.RAW_DIR, naming.frame_stem(frame) + ".exr")


def class_lookup(instance_classes: dict[int, int]) -> np.ndarray:
    """A table mapping every instance ID 0..MAX_ID to its class ID (0 where unknown)."""
    table = np.zeros(MAX_ID + 1, dtype=np.uint16)
    for instance_id, class_id in instance_classes.items():
        table[instance_id] = class_id
    return table


def labels_from_raw(
    depth_raw: np.ndarray, index_raw: np.ndarray, unit_scale: float, lookup: np.ndarray
) -> FrameLabels:
    """Depth in metres and exact integer maps from the raw Depth and Object Index passes.

    Instance IDs not in ``lookup``'s known instances keep their value in the
    instance map but get class 0.
    """
    depth = np.asarray(depth_raw, dtype=np.float32)
    background = ~(depth < BACKGROUND_DEPTH * 0.5)
    depth = np.where(background, np.float32(np.inf), depth * np.float32(unit_scale))
    index = np.rint(np.asarray(index_raw, dtype=np.float32))
    if index.size and (index.min() < 0 or index.max() > MAX_ID):
        raise ValueError("The Object Index pass holds values outside 0..32767")
    instance = index.astype(np.uint16)
    instance[background] = 0
    klass = lookup[instance]
    counts = np.bincount(instance.ravel(), minlength=1)
    ids = np.flatnonzero(counts)
    pixels = {int(i): int(counts[i]) for i in ids if i}
    return FrameLabels(depth=depth, instance=instance, klass=klass, instance_pixels=pixels)


def convert_frame(
    root: str,
    frame: int,
    *,
    unit_scale: float,
    lookup: np.ndarray,
    class_colors: dict[int, tuple[float, float, float]],
    class_names: dict[int, str],
    write_depth: bool = True,
    write_class: bool = True,
    write_instance: bool = True,
    write_preview: bool = True,
    remove_raw: bool = True,
) -> FrameLabels:
    """Convert frame ``frame``'s raw EXR under ``root`` into the dataset's files."""
    raw_path = raw_frame_path(root, frame)
    channels = exr.read_exr(raw_path)
    labels = labels_from_raw(*raw_passes(channels), unit_scale, lookup)
    if write_depth:
        _write(root, "depth", frame, lambda p: exr.write_exr(p, {"Y": labels.depth}, zlib_level=1))
    if write_class:
        _write(root, "class", frame, lambda p: png.write_png(p, labels.klass, filter="up"))
    if write_instance:
        _write(root, "instance", frame, lambda p: png.write_png(p, labels.instance, filter="up"))
    if write_preview:
        picture = preview_picture(root, frame, labels, class_colors, class_names)
        _write(
            root, "preview", frame, lambda p: png.write_png(p, picture, compression=1, filter="up")
        )
    if remove_raw:
        os.remove(raw_path)
        image_copy = raw_image_path(root, frame)
        if os.path.exists(image_copy):
            os.remove(image_copy)
    return labels


def preview_picture(root, frame, labels, class_colors, class_names):
    """The preview picture of a frame, each panel at most ``PREVIEW_WIDTH`` pixels wide.

    The image comes from the compositor's uncompressed copy (fast to read), else
    from the RGB PNG, else is black (labels-only renders).
    """
    height, width = labels.depth.shape
    step = max(1, -(-width // PREVIEW_WIDTH))
    image_copy = raw_image_path(root, frame)
    rgb_path = naming.frame_path(root, "rgb", frame)
    if os.path.exists(image_copy):
        rgb = bmp.read_bmp(image_copy)
    elif os.path.exists(rgb_path):
        rgb = png.read_png(rgb_path)[..., :3]
    else:
        rgb = np.zeros((height, width, 3), dtype=np.uint8)
    every = (slice(None, None, step), slice(None, None, step))
    instance = labels.instance[every]
    instance_colors = {i: colors.instance_color(i) for i in labels.instance_pixels}
    return preview.compose_preview(
        rgb[every],
        labels.depth[every],
        labels.klass[every],
        instance,
        class_colors,
        class_names,
        instance_colors,
    )


def _write(root, kind, frame, writer):
    path = naming.frame_path(root, kind, frame)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    writer(path)
