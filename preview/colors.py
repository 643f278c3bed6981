"""Display colours for labels and depth: class palettes, hex strings and colour maps.

All colours here are sRGB display colours with components in 0..1 (floats) or 0..255
(uint8 images); nothing is converted to linear space.
"""

from __future__ import annotations

import colorsys
from collections.abc import Sequence

import numpy as np

GOLDEN_RATIO_CONJUGATE = 0.618033988749895
_SATURATIONS = (0.75, 0.55, 0.95)
_VALUES = (0.95, 0.80, 0.65)

# Turbo colour map, polynomial approximation published by Google (Anton Mikhailov, 2019).
_TURBO_R4 = (0.13572138, 4.61539260, -42.66032258, 132.13108234)
_TURBO_G4 = (0.09140261, 2.19418839, 4.84296658, -14.18503333)
_TURBO_B4 = (0.10667330, 12.64194608, -60.58204836, 110.36276771)
_TURBO_R2 = (-152.94239396, 59.28637943)
_TURBO_G2 = (4.27729857, 2.82956604)
_TURBO_B2 = (-89.90310912, 27.34824973)
_LUT_SIZE = 1024


def class_color(index: int) -> tuple[float, float, float]:
    """Return a deterministic, distinct display colour (r, g, b in 0..1) for an ID.

    Hues step by the golden ratio so consecutive IDs differ strongly; saturation and
    value cycle through three levels each so IDs with similar hues still differ.
    ID 0 (background) is black. Negative IDs raise :class:`ValueError`.
    """
    index = int(index)
    if index < 0:
        raise ValueError(f"colour index must be >= 0, got {index}")
    if index == 0:
        return (0.0, 0.0, 0.0)
    hue = (index * GOLDEN_RATIO_CONJUGATE) % 1.0
    saturation = _SATURATIONS[index % 3]
    value = _VALUES[(index // 3) % 3]
    r, g, b = colorsys.hsv_to_rgb(hue, saturation, value)
    return (r, g, b)


def instance_color(index: int) -> tuple[float, float, float]:
    """Return a display colour for instance ``index``, unrelated to the class palette.

    Hues come from Knuth's multiplicative hash, so instance N and class N (often
    the same small numbers) get different colours and neighbouring IDs look apart.
    ID 0 (background) is black.
    """
    index = int(index)
    if index == 0:
        return (0.0, 0.0, 0.0)
    hue = ((index * 2654435761) % 2**32) / 2**32
    saturation = _SATURATIONS[(index // 3) % 3]
    value = _VALUES[index % 3]
    return colorsys.hsv_to_rgb(hue, saturation, value)


def to_uint8(rgb: Sequence[float]) -> tuple[int, int, int]:
    """Convert an (r, g, b) float colour in 0..1 to 0..255 integers (clamped, rounded)."""
    r, g, b = (round(min(max(float(c), 0.0), 1.0) * 255.0) for c in rgb[:3])
    return (r, g, b)


def _palette(ids: np.ndarray, colors: dict[int, tuple[float, float, float]] | None) -> np.ndarray:
    """Return uint8 colours (N x 3) for the integer ``ids`` (0 -> black)."""
    colors = colors or {}
    table = np.zeros((len(ids), 3), dtype=np.uint8)
    for row, ident in enumerate(ids.tolist()):
        if ident == 0:
            continue
        rgb = colors.get(ident)
        if rgb is None:
            rgb = class_color(ident) if ident > 0 else (1.0, 0.0, 1.0)
        table[row] = to_uint8(rgb)
    return table


def label_image(
    ids: np.ndarray, colors: dict[int, tuple[float, float, float]] | None = None
) -> np.ndarray:
    """Colour an HxW integer ID image; return a uint8 HxWx3 image.

    IDs found in ``colors`` use that colour (floats 0..1), other positive IDs use
    :func:`class_color`, 0 is black (negative IDs, if any, are magenta). Only the distinct
    IDs are looked up, so the cost is a table lookup per pixel.
    """
    ids = np.asarray(ids)
    if ids.ndim != 2:
        raise ValueError(f"label_image needs an HxW array, got shape {ids.shape}")
    if not np.issubdtype(ids.dtype, np.integer):
        raise ValueError(f"label_image needs integer IDs, got {ids.dtype}")
    flat = ids.reshape(-1)
    if flat.size and flat.min() >= 0 and flat.max() < (1 << 20):
        present = np.flatnonzero(np.bincount(flat))
        lut = np.zeros((int(present[-1]) + 1, 3), dtype=np.uint8)
        lut[present] = _palette(present, colors)
        return lut[ids]
    uniques, inverse = np.unique(flat, return_inverse=True)
    return _palette(uniques, colors)[inverse.reshape(ids.shape)]


def turbo(t: np.ndarray) -> np.ndarray:
    """Evaluate the turbo colour map at ``t`` (clamped to 0..1); return floats, shape + (3,)."""
    x = np.clip(np.asarray(t, dtype=np.float64), 0.0, 1.0)
    x2 = x * x
    x3 = x2 * x
    x4 = x2 * x2
    x5 = x4 * x

    def channel(c4: tuple[float, ...], c2: tuple[float, ...]) -> np.ndarray:
        return c4[0] + c4[1] * x + c4[2] * x2 + c4[3] * x3 + c2[0] * x4 + c2[1] * x5

    rgb = np.stack(
        [
            channel(_TURBO_R4, _TURBO_R2),
            channel(_TURBO_G4, _TURBO_G2),
            channel(_TURBO_B4, _TURBO_B2),
        ],
        axis=-1,
    )
    return np.clip(rgb, 0.0, 1.0)


def depth_colormap(t: np.ndarray) -> np.ndarray:
    """Map values ``t`` in 0..1 (0 = far, 1 = near) to uint8 colours, shape ``t.shape + (3,)``.

    This is the turbo map: far is dark blue, near is dark red. For a legend, call it
    with ``np.linspace(0, 1, n)`` to get an n x 3 colour bar.
    """
    return np.round(turbo(t) * 255.0).astype(np.uint8)


_DEPTH_LUT = depth_colormap(np.linspace(0.0, 1.0, _LUT_SIZE))


def valid_depth_mask(depth: np.ndarray, background_above: float = 1e9) -> np.ndarray:
    """Return a boolean mask of usable depth values: finite, > 0 and < ``background_above``.

    Cycles writes a huge distance (about 1e10) for background pixels; anything at or
    above ``background_above`` is treated as background like inf and nan.
    """
    depth = np.asarray(depth)
    with np.errstate(invalid="ignore"):
        return np.isfinite(depth) & (depth > 0) & (depth < background_above)


def depth_range(
    depth: np.ndarray,
    percentile: float = 1.0,
    background_above: float = 1e9,
    max_samples: int = 1 << 16,
) -> tuple[float, float] | None:
    """Return (near, far) from the valid depth values, or ``None`` if there are none.

    ``near`` and ``far`` are the ``percentile`` and ``100 - percentile`` percentiles
    (0 gives the exact min and max). Large images are subsampled to about
    ``max_samples`` values for the percentiles.
    """
    values = np.asarray(depth, dtype=np.float32).reshape(-1)
    values = values[valid_depth_mask(values, background_above)]
    if values.size == 0:
        return None
    if percentile <= 0:
        return float(values.min()), float(values.max())
    step = max(1, values.size // max_samples)
    near, far = np.percentile(values[::step], [percentile, 100.0 - percentile])
    return float(near), float(far)


def depth_image(
    depth: np.ndarray,
    near: float | None = None,
    far: float | None = None,
    background_above: float = 1e9,
) -> np.ndarray:
    """Colour an HxW depth image with the turbo map; return uint8 HxWx3.

    Colours follow inverse depth (1/d), so near detail gets more of the colour range;
    ``near`` maps to red, ``far`` to blue, values outside are clamped. When not given,
    ``near``/``far`` come from :func:`depth_range` (1st/99th percentiles). Pixels that
    are not finite, <= 0 or >= ``background_above`` are black.
    """
    depth = np.asarray(depth, dtype=np.float32)
    if depth.ndim != 2:
        raise ValueError(f"depth_image needs an HxW array, got shape {depth.shape}")
    valid = valid_depth_mask(depth, background_above)
    if near is None or far is None:
        auto = depth_range(depth, background_above=background_above)
        if auto is None:
            return np.zeros((*depth.shape, 3), dtype=np.uint8)
        near = auto[0] if near is None else near
        far = auto[1] if far is None else far
    near = max(float(near), 1e-6)
    far = max(float(far), near * (1.0 + 1e-6))
    inv_near, inv_far = 1.0 / near, 1.0 / far
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        t = (np.float32(1.0) / depth - np.float32(inv_far)) * np.float32(1.0 / (inv_near - inv_far))
        t = np.where(valid, t, 0.0)
    index = np.clip(t * (_LUT_SIZE - 1) + 0.5, 0, _LUT_SIZE - 1).astype(np.intp)
    image = _DEPTH_LUT[index]
    image[~valid] = 0
    return image
