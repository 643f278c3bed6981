"""The maths from Cycles' raw passes to label arrays (no files, no Blender).

Cycles writes Depth, Object Index and Material Index from the first sample of each
pixel, so an edge pixel holds one surface's exact values, never a blend. The index
passes become exact integer maps here; depth becomes metres with ``inf`` where no
surface was hit. Normals and flow come from passes averaged over the samples.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..dataset import layout
from ..dataset.outputs import BY_KEY
from ..geometry.transforms import apply
from .ids import MAX_ID

# Cycles writes this depth where a ray hits nothing.
BACKGROUND_DEPTH = 1.0e10

FLOW_CHANNELS = BY_KEY["flow"].channels

# Blender names a layer's channels after the socket it was written from: X, Y, Z, W
# for a vector, R, G, B, A for a colour. Which one a raw file holds depends on the
# Blender version and on the age of the compositor setup, so both are read.
_CHANNEL_NAMES = (("X", "Y", "Z", "W"), ("R", "G", "B", "A"))


@dataclass
class FrameLabels:
    """Label arrays of one frame."""

    depth: np.ndarray  # float32 HxW, metres, inf = background
    instance: np.ndarray  # uint16 HxW
    klass: np.ndarray  # uint16 HxW
    instance_pixels: dict[int, int] = field(default_factory=dict)
    part: np.ndarray | None = None  # uint16 HxW, when the part map is made
    normal: np.ndarray | None = None  # float32 HxWx3, when normals are made
    flow: dict[str, np.ndarray] | None = None  # flow channel -> float32 HxW, when made

    @property
    def background(self) -> np.ndarray:
        """Where no surface was hit."""
        return np.isinf(self.depth)


def layer_arrays(channels: dict[str, np.ndarray], layer: str, count: int) -> list[np.ndarray]:
    """The first ``count`` channels of ``layer`` in a Blender multilayer EXR, in order.

    Blender names them ``Layer.X`` or ``ViewLayer.Layer.R`` (see ``_CHANNEL_NAMES``).
    Raises :class:`ValueError` naming the channels found when the layer lacks them.
    """
    for names in _CHANNEL_NAMES:
        found = {}
        for name, values in channels.items():
            parts = name.split(".")
            if len(parts) >= 2 and parts[-2] == layer and parts[-1] in names[:count]:
                found[parts[-1]] = values
        if len(found) == count:
            return [found[n] for n in names[:count]]
    raise ValueError(f"no layer {layer!r} with {count} channels (channels: {sorted(channels)})")


def raw_passes(channels: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """``depth``, ``index`` and ``material`` from the channels of the compositor's raw EXR.

    Its one layer :data:`~ground_truth.dataset.layout.RAW_LAYER` holds Depth, Object
    Index and Material Index (in X, Y, Z; R, G, B in setups made before). ``material``
    is left out when the setup wrote no Material Index: a third channel of
    :data:`~ground_truth.dataset.layout.NO_MATERIAL_INDEX` (the part map was not asked
    for), or no third channel (setups made before part labels).
    """
    try:
        depth, index, material = layer_arrays(channels, layout.RAW_LAYER, 3)
    except ValueError:
        depth, index = layer_arrays(channels, layout.RAW_LAYER, 2)
        return {"depth": depth, "index": index}
    if material.size and material.max() < 0:
        return {"depth": depth, "index": index}
    return {"depth": depth, "index": index, "material": material}


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
    camera = apply(rotation, world.reshape(-1, 3))
    length = np.sqrt(np.einsum("ij,ij->i", camera, camera))
    valid = (length > 1e-6) & ~np.asarray(background).reshape(-1)
    scale = np.divide(1.0, length, out=np.zeros_like(length), where=valid)
    return (camera * scale[:, None]).reshape(world.shape)


def flow_from_vector(vector: np.ndarray, background: np.ndarray) -> dict[str, np.ndarray]:
    """Forward and backward optical flow in pixels (x right, y down) from the Vector pass.

    Cycles' Vector pass holds, in pixels with y pointing *up*: (R, G) = position at the
    previous frame minus position now, (B, A) = position now minus position at the next
    frame (measured on 4.2, 4.5 and 5.0). So forward flow = (-B, A) and backward flow =
    (R, -G). A pixel's flow is valid when it sees a surface (not ``background``) whose
    flow lands inside the image; flow is 0 on the background. Returns the
    flow output's channels (``forward.X`` ... ``backward.valid``) as float32 HxW arrays.
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

    arrays = (
        forward_x,
        forward_y,
        lands_inside(forward_x, forward_y),
        backward_x,
        backward_y,
        lands_inside(backward_x, backward_y),
    )
    return dict(zip(FLOW_CHANNELS, arrays, strict=True))


def class_lookup(instance_classes: dict[int, int], size: int = MAX_ID + 1) -> np.ndarray:
    """A table mapping every instance ID below ``size`` to its class ID (0 where unknown)."""
    table = np.zeros(size, dtype=np.uint16)
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
    klass = np.take(lookup, instance)  # twice as fast as indexing
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
    labels.klass = np.take(lookup, instance)
    labels.instance_pixels = {int(i): int(counts[i]) for i in np.flatnonzero(counts) if i}
    return labels
