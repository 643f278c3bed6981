"""2D boxes and pixel counts of the objects in label maps.

2D boxes are ``[x, y, w, h]`` in integer pixels, COCO style: ``x`` is the leftmost
column and ``y`` the top row that hold the object, ``w = max column - min column + 1``
and ``h = max row - min row + 1``. In the continuous image coordinates of
:mod:`ground_truth.geometry.camera` (top-left corner of the image at (0, 0)) the box
covers exactly ``x <= u <= x + w`` and ``y <= v <= y + h``.
"""

from __future__ import annotations

import numpy as np


def bbox_from_mask(mask: np.ndarray) -> list[int] | None:
    """Return the tight box ``[x, y, w, h]`` (ints) of the true pixels of an HxW mask.

    ``None`` when no pixel is set.
    """
    mask = np.asarray(mask, dtype=bool)
    if mask.ndim != 2:
        raise ValueError(f"bbox_from_mask needs an HxW mask, got shape {mask.shape}")
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask.any(axis=0))
    y0, y1 = int(rows[0]), int(rows[-1])
    x0, x1 = int(cols[0]), int(cols[-1])
    return [x0, y0, x1 - x0 + 1, y1 - y0 + 1]


def bboxes_from_instance_map(
    instance_map: np.ndarray, background: int | None = 0
) -> dict[int, tuple[list[int], int]]:
    """Return ``{id: ([x, y, w, h], pixel_count)}`` for every ID present in an HxW map.

    Pixels equal to ``background`` (default 0; ``None`` keeps every value) are skipped.
    Keys are Python ints in ascending order. The work is one stable sort of the
    labelled pixels plus segment reductions, independent of the number of IDs.
    """
    ids_image = np.asarray(instance_map)
    if ids_image.ndim != 2:
        raise ValueError(f"expected an HxW instance map, got shape {ids_image.shape}")
    if not np.issubdtype(ids_image.dtype, np.integer):
        raise ValueError(f"expected integer IDs, got {ids_image.dtype}")
    width = ids_image.shape[1]
    flat = ids_image.reshape(-1)
    index = np.flatnonzero(flat != background) if background is not None else None
    if index is None:
        index = np.arange(flat.size)
    if index.size == 0:
        return {}
    values = flat[index]
    order = np.argsort(values, kind="stable")
    values = values[order]
    index = index[order]  # ascending within each ID (stable sort of a row-major scan)
    starts = np.flatnonzero(np.concatenate(([True], values[1:] != values[:-1])))
    ends = np.append(starts[1:], values.size)
    rows = index // width
    cols = index - rows * width
    y0 = rows[starts]
    y1 = rows[ends - 1]
    x0 = np.minimum.reduceat(cols, starts)
    x1 = np.maximum.reduceat(cols, starts)
    counts = ends - starts
    result: dict[int, tuple[list[int], int]] = {}
    for ident, a, b, c, d, n in zip(
        values[starts].tolist(),
        x0.tolist(),
        y0.tolist(),
        x1.tolist(),
        y1.tolist(),
        counts.tolist(),
        strict=True,
    ):
        result[ident] = ([a, b, c - a + 1, d - b + 1], n)
    return result
