"""16-bit depth PNGs in millimetres, as KITTI and NYU Depth use (0 = no data).

Encoding rule (:func:`depth_to_mm_png_array`): a depth ``d`` in metres becomes
``floor(d * 1000 + 0.5)``, the nearest whole millimetre (halves round up). A pixel is
0, meaning *no data*, when ``d`` is not finite (background is ``inf``), ``d <= 0``,
``d`` rounds to 0 mm (below 0.5 mm), or ``d`` rounds above 65535 mm (beyond
65.535 m): far values are dropped, not clamped, so a stored value is always the true
depth to within 0.5 mm. The depth kind is the dataset's (planar z, see
``dataset.json``); only the unit and the storage change.

Decoding: ``depth_m = png / 1000`` with 0 -> no data (:func:`depth_from_mm_png_array`).
"""

from __future__ import annotations

import numpy as np

MAX_MM = 65535


def depth_to_mm_png_array(depth_m: np.ndarray) -> np.ndarray:
    """Convert depth in metres (any float array) to uint16 millimetres, 0 = no data.

    See the module docstring for the exact rule.
    """
    depth = np.asarray(depth_m, dtype=np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        mm = np.floor(depth * 1000.0 + 0.5)
        valid = np.isfinite(mm) & (mm >= 1) & (mm <= MAX_MM)
    return np.where(valid, mm, 0).astype(np.uint16)


def depth_from_mm_png_array(mm: np.ndarray, no_data: float = np.inf) -> np.ndarray:
    """Convert uint16 millimetres back to float32 metres; 0 becomes ``no_data`` (inf)."""
    values = np.asarray(mm)
    if not np.issubdtype(values.dtype, np.integer):
        raise ValueError(f"expected integer millimetres, got {values.dtype}")
    metres = values.astype(np.float32) / np.float32(1000.0)
    return np.where(values == 0, np.float32(no_data), metres).astype(np.float32)
