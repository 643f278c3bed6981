"""Turn one frame's raw passes into the dataset's label files (no Blender needed).

The compositor writes a raw multilayer EXR per frame holding the Depth, Object
Index and Material Index passes of the same render. ``convert_frame`` reads it and
writes:

- ``depth/NNNNNN.exr``: float32, one channel ``Y``, planar depth in metres, ``inf`` = background;
- ``class/NNNNNN.png`` and ``instance/NNNNNN.png``: 16-bit gray, 0 = background/unlabelled;
- ``part/NNNNNN.png``: 16-bit gray, the material's part ID (pass index), 0 = none/background;
- ``normal/NNNNNN.exr``: float32 ``X``, ``Y``, ``Z``, unit normals in the OpenCV camera
  frame, 0 = background (from the Normal pass, in its own raw EXR);
- ``flow/NNNNNN.exr``: float32 forward and backward optical flow in pixels with their
  validity (from the Vector pass, in its own raw EXR);
- ``preview/NNNNNN.png``: RGB | depth | class | instance (| part | normal | flow), for a
  person to check.

This is also what a farm's raw output is finalized with.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..codecs import bmp, exr, png
from ..dataset import layout
from ..geometry import linalg
from ..preview import colors, picture
from .ids import MAX_ID

# The layer of the compositor's raw EXR (see nodes/setup.py).
RAW_LAYER = "Raw"
# Passes written to their own raw EXR, .raw/NNNNNN<suffix>.exr, with one layer each.
NORMAL_LAYER = "Normal"
NORMAL_SUFFIX = "_normal"
VECTOR_LAYER = "Vector"
VECTOR_SUFFIX = "_vector"
EXTRA_SUFFIXES = (NORMAL_SUFFIX, VECTOR_SUFFIX)

# Channels of flow/NNNNNN.exr.
FLOW_CHANNELS = (
    "forward.X",
    "forward.Y",
    "forward.valid",
    "backward.X",
    "backward.Y",
    "backward.valid",
)

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
    part: np.ndarray | None = None  # uint16 HxW, when the part map is made
    normal: np.ndarray | None = None  # float32 HxWx3, when normals are made
    flow: dict[str, np.ndarray] | None = None  # FLOW_CHANNELS -> float32 HxW, when made


def layer_channels(
    channels: dict[str, np.ndarray], layer: str, names: tuple[str, ...]
) -> dict[str, np.ndarray]:
    """The channels ``names`` of ``layer`` in a Blender multilayer EXR (missing ones left out).

    Blender names them ``Layer.R`` or ``ViewLayer.Layer.R``.
    """
    found = {}
    for name, values in channels.items():
        parts = name.split(".")
        if len(parts) >= 2 and parts[-2] == layer and parts[-1] in names:
            found[parts[-1]] = values
    return found


def raw_passes(channels: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The passes in the channels of the compositor's raw EXR, by name.

    The extension's setup packs them into one layer ``Raw``: X = Depth, Y = Object
    Index, Z = Material Index (setups made before wrote R, G, B). Returns ``depth``,
    ``index`` and, when the file has it (setups made before part labels do not),
    ``material``.
    """
    for names in (("X", "Y", "Z"), ("R", "G", "B")):
        found = layer_channels(channels, RAW_LAYER, names)
        if names[0] in found and names[1] in found:
            passes = {"depth": found[names[0]], "index": found[names[1]]}
            if names[2] in found:
                passes["material"] = found[names[2]]
            return passes
    raise ValueError(f"The raw EXR has no '{RAW_LAYER}' layer (channels: {sorted(channels)})")


def camera_normals(
    normal_world: np.ndarray, world_to_camera_cv: np.ndarray, background: np.ndarray
) -> np.ndarray:
    """Unit normals in the OpenCV camera frame from Cycles' world-space Normal pass.

    ``normal_world`` is HxWx3 (the pass: an average over the pixel's samples, so not
    quite unit length where they differ), ``world_to_camera_cv`` the camera's 4x4
    (its rotation is used), ``background`` an HxW mask. Returns float32 HxWx3,
    normalised, 0 on the background and where the pass is 0.
    """
    rotation = np.asarray(world_to_camera_cv, dtype=np.float64)[:3, :3].astype(np.float32)
    world = np.asarray(normal_world, dtype=np.float32)
    camera = linalg.apply(rotation, world.reshape(-1, 3))
    length = np.sqrt(np.einsum("ij,ij->i", camera, camera))
    valid = (length > 1e-6) & ~np.asarray(background).reshape(-1)
    scale = np.divide(1.0, length, out=np.zeros_like(length), where=valid)
    return (camera * scale[:, None]).reshape(world.shape)


def normal_pass(channels: dict[str, np.ndarray]) -> np.ndarray:
    """The Normal pass (HxWx3) from its raw EXR (channels R, G, B or X, Y, Z)."""
    for names in (("R", "G", "B"), ("X", "Y", "Z")):
        found = layer_channels(channels, NORMAL_LAYER, names)
        if len(found) == 3:
            return np.stack([found[n] for n in names], axis=-1)
    raise ValueError(f"The normal EXR has no '{NORMAL_LAYER}' layer (channels: {sorted(channels)})")


def vector_pass(channels: dict[str, np.ndarray]) -> np.ndarray:
    """The Vector pass (HxWx4) from its raw EXR (channels R, G, B, A or X, Y, Z, W)."""
    for names in (("R", "G", "B", "A"), ("X", "Y", "Z", "W")):
        found = layer_channels(channels, VECTOR_LAYER, names)
        if len(found) == 4:
            return np.stack([found[n] for n in names], axis=-1)
    raise ValueError(f"The vector EXR has no '{VECTOR_LAYER}' layer (channels: {sorted(channels)})")


def flow_from_vector(vector: np.ndarray, background: np.ndarray) -> dict[str, np.ndarray]:
    """Forward and backward optical flow in pixels (x right, y down) from the Vector pass.

    Cycles' Vector pass holds, in pixels with y pointing *up*: (R, G) = position at the
    previous frame minus position now, (B, A) = position now minus position at the next
    frame (measured on 4.2, 4.5 and 5.0). So forward flow = (-B, A) and backward flow =
    (R, -G). A pixel's flow is valid when it sees a surface (not ``background``) whose
    flow lands inside the image; flow is 0 on the background. Returns the
    :data:`FLOW_CHANNELS` as float32 HxW arrays.
    """
    vector = np.asarray(vector, dtype=np.float32)
    height, width = vector.shape[:2]
    surface = ~np.asarray(background)
    zero = np.float32(0.0)
    forward_x = np.where(surface, -vector[..., 2], zero)
    forward_y = np.where(surface, vector[..., 3], zero)
    backward_x = np.where(surface, vector[..., 0], zero)
    backward_y = np.where(surface, -vector[..., 1], zero)
    centre_x = np.arange(width, dtype=np.float32)[None, :] + np.float32(0.5)
    centre_y = np.arange(height, dtype=np.float32)[:, None] + np.float32(0.5)

    def lands_inside(dx, dy):
        x, y = centre_x + dx, centre_y + dy
        inside = (x >= 0) & (x < width) & (y >= 0) & (y < height) & surface
        return inside.astype(np.float32)

    return {
        "forward.X": forward_x,
        "forward.Y": forward_y,
        "forward.valid": lands_inside(forward_x, forward_y),
        "backward.X": backward_x,
        "backward.Y": backward_y,
        "backward.valid": lands_inside(backward_x, backward_y),
    }


def frame_complete(root: str, frame: int, kinds: list[str]) -> bool:
    """True when every file of ``kinds`` for ``frame`` exists and its header reads back."""
    for kind in kinds:
        path = layout.frame_path(root, kind, frame)
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
    return os.path.join(root, layout.RAW_DIR, layout.frame_stem(frame) + ".bmp")


def raw_frame_path(root: str, frame: int, suffix: str = "") -> str:
    """Where the compositor's raw output for ``frame`` lies under the dataset ``root``.

    ``suffix`` names a pass written to its own file (``NORMAL_SUFFIX``).
    """
    return os.path.join(root, layout.RAW_DIR, layout.frame_stem(frame) + suffix + ".exr")


def class_lookup(instance_classes: dict[int, int]) -> np.ndarray:
    """A table mapping every instance ID 0..MAX_ID to its class ID (0 where unknown)."""
    table = np.zeros(MAX_ID + 1, dtype=np.uint16)
    for instance_id, class_id in instance_classes.items():
        table[instance_id] = class_id
    return table


def _id_map(raw: np.ndarray, background: np.ndarray, what: str) -> np.ndarray:
    """An exact uint16 ID map from a first-sample index pass; 0 on the background."""
    index = np.rint(np.asarray(raw, dtype=np.float32))
    if index.size and (index.min() < 0 or index.max() > MAX_ID):
        raise ValueError(f"The {what} pass holds values outside 0..{MAX_ID}")
    ids = index.astype(np.uint16)
    ids[background] = 0
    return ids


def labels_from_raw(
    depth_raw: np.ndarray,
    index_raw: np.ndarray,
    unit_scale: float,
    lookup: np.ndarray,
    material_raw: np.ndarray | None = None,
) -> FrameLabels:
    """Depth in metres and exact integer maps from the raw Depth and index passes.

    Instance IDs not in ``lookup``'s known instances keep their value in the
    instance map but get class 0. With ``material_raw`` (the Material Index pass)
    the part map is made too.
    """
    depth = np.asarray(depth_raw, dtype=np.float32)
    background = ~(depth < BACKGROUND_DEPTH * 0.5)
    depth = np.where(background, np.float32(np.inf), depth * np.float32(unit_scale))
    instance = _id_map(index_raw, background, "Object Index")
    klass = lookup[instance]
    counts = np.bincount(instance.ravel(), minlength=1)
    ids = np.flatnonzero(counts)
    pixels = {int(i): int(counts[i]) for i in ids if i}
    part = None if material_raw is None else _id_map(material_raw, background, "Material Index")
    return FrameLabels(
        depth=depth, instance=instance, klass=klass, instance_pixels=pixels, part=part
    )


def relabel(labels: FrameLabels, instance: np.ndarray, lookup: np.ndarray) -> FrameLabels:
    """``labels`` with a new instance map, its classes and pixel counts."""
    counts = np.bincount(instance.ravel(), minlength=1)
    labels.instance = instance
    labels.klass = lookup[instance]
    labels.instance_pixels = {int(i): int(counts[i]) for i in np.flatnonzero(counts) if i}
    return labels


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
    write_part: bool = False,
    write_normal: bool = False,
    write_flow: bool = False,
    world_to_camera_cv: np.ndarray | None = None,
    refine: Callable[[np.ndarray], np.ndarray] | None = None,
    remove_raw: bool = True,
) -> FrameLabels:
    """Convert frame ``frame``'s raw EXR under ``root`` into the dataset's files.

    Normals need the camera's ``world_to_camera_cv`` at that frame.
    """
    raw_path = raw_frame_path(root, frame)
    passes = raw_passes(exr.read_exr(raw_path))
    if write_part and "material" not in passes:
        raise ValueError(
            f"{raw_path} has no Material Index pass: update the compositor setup "
            "(Update Compositor) and render again for part maps"
        )
    labels = labels_from_raw(
        passes["depth"],
        passes["index"],
        unit_scale,
        lookup,
        passes["material"] if write_part else None,
    )
    if refine is not None:
        # Copies of one object told apart (core.copies); classes from the updated lookup.
        labels = relabel(labels, refine(labels.instance), lookup)
    if write_depth:
        _write(root, "depth", frame, lambda p: exr.write_exr(p, {"Y": labels.depth}, zlib_level=1))
    if write_class:
        _write(root, "class", frame, lambda p: png.write_png(p, labels.klass, filter="up"))
    if write_instance:
        _write(root, "instance", frame, lambda p: png.write_png(p, labels.instance, filter="up"))
    if write_part:
        _write(root, "part", frame, lambda p: png.write_png(p, labels.part, filter="up"))
    if write_normal:
        if world_to_camera_cv is None:
            raise ValueError("Normals in the camera frame need the camera's world_to_camera_cv")
        world = normal_pass(exr.read_exr(raw_frame_path(root, frame, NORMAL_SUFFIX)))
        labels.normal = camera_normals(world, world_to_camera_cv, np.isinf(labels.depth))
        channels = {axis: labels.normal[..., i] for i, axis in enumerate("XYZ")}
        _write(root, "normal", frame, lambda p: exr.write_exr(p, channels, compression="NONE"))
    if write_flow:
        vector = vector_pass(exr.read_exr(raw_frame_path(root, frame, VECTOR_SUFFIX)))
        labels.flow = flow_from_vector(vector, np.isinf(labels.depth))
        _write(root, "flow", frame, lambda p: exr.write_exr(p, labels.flow, compression="NONE"))
    if write_preview:
        picture = preview_picture(root, frame, labels, class_colors, class_names)
        _write(
            root, "preview", frame, lambda p: png.write_png(p, picture, compression=1, filter="up")
        )
    if remove_raw:
        os.remove(raw_path)
        for suffix in EXTRA_SUFFIXES:
            extra = raw_frame_path(root, frame, suffix)
            if os.path.exists(extra):
                os.remove(extra)
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
    rgb_path = layout.frame_path(root, "rgb", frame)
    if os.path.exists(image_copy):
        rgb = bmp.read_bmp(image_copy)
    elif os.path.exists(rgb_path):
        rgb = png.read_png(rgb_path)[..., :3]
    else:
        rgb = np.zeros((height, width, 3), dtype=np.uint8)
    every = (slice(None, None, step), slice(None, None, step))
    instance = labels.instance[every]
    instance_colors = {i: colors.instance_color(i) for i in labels.instance_pixels}
    extra = []
    if labels.part is not None:
        extra.append(picture.part_panel(labels.part[every]))
    if labels.normal is not None:
        extra.append(picture.normal_panel(labels.normal[every]))
    if labels.flow is not None:
        flow = labels.flow
        forward = np.stack([flow["forward.X"][every], flow["forward.Y"][every]], axis=-1)
        extra.append(picture.flow_panel(forward, flow["forward.valid"][every] > 0))
    return picture.compose_preview(
        rgb[every],
        labels.depth[every],
        labels.klass[every],
        instance,
        class_colors,
        class_names,
        instance_colors,
        extra_panels=extra,
    )


def _write(root, kind, frame, writer):
    path = layout.frame_path(root, kind, frame)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    writer(path)
