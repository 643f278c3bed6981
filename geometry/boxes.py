"""3D boxes: the corners and edges of a box, in Blender's ``bound_box`` order."""

from __future__ import annotations

import numpy as np

# Blender's ``Object.bound_box`` order (BKE_boundbox_init_from_minmax); bit pattern of
# (x, y, z) where 0 = min and 1 = max.
_CORNER_SELECT = np.array(
    [
        [0, 0, 0],
        [0, 0, 1],
        [0, 1, 1],
        [0, 1, 0],
        [1, 0, 0],
        [1, 0, 1],
        [1, 1, 1],
        [1, 1, 0],
    ],
    dtype=bool,
)


def box_corners(min_xyz: np.ndarray, max_xyz: np.ndarray) -> np.ndarray:
    """Return the 8 corners (8x3 float64) of the axis-aligned box ``min_xyz..max_xyz``.

    The order is Blender's ``Object.bound_box``: with 0 = min and 1 = max per axis,
    corners are (x, y, z) = 000, 001, 011, 010, 100, 101, 111, 110. So corners 0-3 have
    x = min, 4-7 x = max; corner ``i`` and ``i + 4`` differ only in x; faces are
    x-min 0123, x-max 4567, y-min 0145, y-max 2367, z-min 0347, z-max 1256.
    """
    lo = np.asarray(min_xyz, dtype=np.float64).reshape(1, 3)
    hi = np.asarray(max_xyz, dtype=np.float64).reshape(1, 3)
    return boxes_corners(lo, hi)[0]


def boxes_corners(mins: np.ndarray, maxs: np.ndarray) -> np.ndarray:
    """The corners (Nx8x3 float64) of N boxes ``mins[i]..maxs[i]`` (Nx3), as :func:`box_corners`."""
    lo = np.asarray(mins, dtype=np.float64)[:, None, :]
    hi = np.asarray(maxs, dtype=np.float64)[:, None, :]
    return np.where(_CORNER_SELECT, hi, lo)


def box_edges() -> list[tuple[int, int]]:
    """Return the 12 edges of a :func:`box_corners` box as pairs of corner indices."""
    return [
        (0, 1),
        (1, 2),
        (2, 3),
        (3, 0),
        (4, 5),
        (5, 6),
        (6, 7),
        (7, 4),
        (0, 4),
        (1, 5),
        (2, 6),
        (3, 7),
    ]
