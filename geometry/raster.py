"""Exact silhouettes of triangles at Cycles' first-sample positions (numpy only).

A pixel belongs to the silhouette of some geometry when its *first-sample camera ray*
hits that geometry between the camera's clip planes. For a pinhole (perspective) or
orthographic camera the ray of image point ``(u, v)`` hits a triangle exactly when
``(u, v)`` lies in the projection of the triangle's part between the planes at planar
depth ``clip_start`` and ``clip_end``. So the silhouette is found without casting a
ray: :func:`camera_triangles` cuts the triangles to that slab and projects them with
``K``; :func:`coverage` then tests every pixel's sample point against every triangle
with edge functions, row span by row span, all triangles at once in numpy.

Where the first sample lies
---------------------------
Cycles puts a pixel's first sample where its pixel-filter table maps 0.5. That table
holds 1024 entries, symmetric about entry 511 rather than 511.5, so the lookup lands
half an entry off the centre: the first sample of pixel (row r, column c) lies at
``(c + 0.5 + d, r + 0.5 - d)`` in ``K``'s convention (Cycles' rows go up, the image's
go down), with ``d`` = :func:`first_sample_offset` of the scene's pixel filter
(5.3e-4 px for the default 1.5 px Blackman-Harris filter, 1.05e-3 px at 3 px, 4.9e-4
px for the box filter; the renders of Blender 4.2, 4.5 and 5.0 put it there, up to the
1e-4 px that single-precision rounding moves Cycles' own camera rays). The silhouettes
are sampled there, so that they match the render's instance map also where an edge
passes within a thousandth of a pixel of a pixel centre.

Beyond the image
----------------
:func:`silhouette` also counts the samples the silhouette covers outside the image
(for the truncation of an object cut off by the border), on the same pixel lattice
extended past the border. It is exact when the silhouette's bounding box holds at most
``budget`` pixels; a larger one (an object close to the camera) is counted outside the
image on a coarser lattice, every ``s``-th pixel in both directions weighing ``s**2``
pixels, with ``s`` the smallest step that keeps it within the budget.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .transforms import apply

# Cycles' FILTER_TABLE_SIZE: entries of the pixel filter's importance table.
FILTER_TABLE_SIZE = 1024
FILTER_TYPES = ("BOX", "GAUSSIAN", "BLACKMAN_HARRIS")
# Triangle rows handled at once by :func:`coverage` (bounds its memory to tens of MB).
SPANS_PER_PASS = 1 << 18


def _filter_weights(filter_type: str, width: np.float32, x: np.ndarray) -> np.ndarray:
    """Cycles' pixel filter functions (``scene/film.cpp``), in single precision."""
    f32 = np.float32
    if filter_type == "BOX":
        return np.ones_like(x)
    if filter_type == "GAUSSIAN":
        v = x * (f32(6.0) / width)
        return np.exp(f32(-2.0) * v * v)
    v = f32(2.0 * np.pi) * (x / width + f32(0.5))
    return (
        f32(0.35875)
        - f32(0.48829) * np.cos(v)
        + f32(0.14128) * np.cos(f32(2.0) * v)
        - f32(0.01168) * np.cos(f32(3.0) * v)
    ).astype(np.float32)


@lru_cache(maxsize=16)
def first_sample_offset(filter_type: str, filter_width: float) -> float:
    """How far Cycles' first sample of a pixel lies from its centre, in pixels.

    ``filter_type`` and ``filter_width`` are ``scene.cycles.pixel_filter_type`` and
    ``filter_width`` (Blender renders the box filter 1 px wide whatever the width). The
    first sample of pixel (r, c) lies at ``(c + 0.5 + d, r + 0.5 - d)`` in image
    coordinates. Recomputed the way Cycles builds its filter table (single
    precision): the table's entries 511 and 512, averaged by the lookup of 0.5.
    """
    if filter_type not in FILTER_TYPES:
        raise ValueError(f"unknown pixel filter {filter_type!r}; expected one of {FILTER_TYPES}")
    f32 = np.float32
    width = f32(1.0) if filter_type == "BOX" else f32(filter_width)
    width = (
        width * {"BOX": f32(1.0), "GAUSSIAN": f32(3.0), "BLACKMAN_HARRIS": f32(2.0)}[filter_type]
    )
    half_range = width * f32(0.5)
    points = FILTER_TABLE_SIZE - 1  # the CDF is taken at one point fewer than the table
    x = half_range * np.arange(points, dtype=np.float32) / f32(points - 1)
    cdf = np.empty(points + 1, dtype=np.float32)
    cdf[0] = 0.0
    cdf[1:] = np.cumsum(np.abs(_filter_weights(filter_type, width, x)), dtype=np.float32)
    cdf *= f32(1.0) / cdf[-1]
    cdf[-1] = 1.0
    half_size = (FILTER_TABLE_SIZE - 1) // 2

    def spread(i: int) -> np.float32:
        # The inverse CDF at i / half_size, as a distance from the centre.
        level = f32(i) / f32(half_size)
        index = int(np.searchsorted(cdf, level, side="right"))
        t = (level - cdf[index]) / (cdf[index + 1] - cdf[index])
        return ((f32(index) + t) / f32(FILTER_TABLE_SIZE - 1)) * (f32(2.0) * half_range)

    below = f32(0.5) * (f32(1.0) - spread(0))  # entry 511 (written last by the loop)
    above = f32(0.5) * (f32(1.0) + spread(1))  # entry 512
    # lookup_table_read(0.5): position 511.5, half way between the two entries.
    return float(f32(0.5) * below + f32(0.5) * above - f32(0.5))


def _clip_polygon(polygon: list[np.ndarray], plane: float, keep_above: bool) -> list[np.ndarray]:
    """Sutherland-Hodgman: the part of a convex polygon with z >= plane (or <= plane)."""
    result = []
    count = len(polygon)
    for index in range(count):
        a, b = polygon[index], polygon[(index + 1) % count]
        a_in = a[2] >= plane if keep_above else a[2] <= plane
        b_in = b[2] >= plane if keep_above else b[2] <= plane
        if a_in:
            result.append(a)
        if a_in != b_in:
            t = (plane - a[2]) / (b[2] - a[2])
            point = a + t * (b - a)
            point[2] = plane
            result.append(point)
    return result


def clip_triangles(triangles: np.ndarray, near: float, far: float, sources: bool = False):
    """The parts of camera-frame triangles (Tx3x3) between the planes z = near and z = far.

    Triangles wholly inside are kept as they are, those wholly outside dropped, and
    each one crossing a plane is cut and fanned into triangles again. With ``sources``
    returns ``(triangles, index)``: the index of the triangle each piece comes from.
    """
    tris = np.asarray(triangles, dtype=np.float64).reshape(-1, 3, 3)
    z = tris[:, :, 2]
    inside = (z >= near) & (z <= far)
    whole = inside.all(axis=1)
    outside = (z < near).all(axis=1) | (z > far).all(axis=1)
    crossing = np.flatnonzero(~whole & ~outside)
    pieces = [tris[whole]]
    index = [np.flatnonzero(whole)]
    for source in crossing:
        polygon = _clip_polygon(list(tris[source]), near, keep_above=True)
        if len(polygon) >= 3:
            polygon = _clip_polygon(polygon, far, keep_above=False)
        for k in range(1, len(polygon) - 1):
            pieces.append(np.stack([polygon[0], polygon[k], polygon[k + 1]])[None])
            index.append(np.array([source]))
    result = np.concatenate(pieces) if len(pieces) > 1 else pieces[0]
    if sources:
        return result, np.concatenate(index).astype(np.int64)
    return result


def camera_triangles(
    points_cam: np.ndarray,
    triangles: np.ndarray,
    K: np.ndarray,  # noqa: N803 - the conventional name of the intrinsic matrix
    *,
    ortho: bool,
    clip_start: float,
    clip_end: float,
) -> np.ndarray:
    """Image-space triangles (Tx3x2, ``(u, v)`` in pixels) of a mesh in the camera frame.

    ``points_cam`` are Nx3 vertices in the OpenCV camera frame (z forward), ``triangles``
    Mx3 vertex indices. Only the parts between the planar depths ``clip_start`` and
    ``clip_end`` are kept (what the camera's rays can hit), then projected with ``K``
    (affine for orthographic cameras).
    """
    points = np.asarray(points_cam, dtype=np.float64).reshape(-1, 3)
    indices = np.asarray(triangles, dtype=np.int64).reshape(-1, 3)
    if not len(indices):
        return np.zeros((0, 3, 2))
    tris = clip_triangles(points[indices], float(clip_start), float(clip_end))
    if not len(tris):
        return np.zeros((0, 3, 2))
    flat = tris.reshape(-1, 3)
    k = np.asarray(K, dtype=np.float64)
    if ortho:
        uv = apply(k[:2, :2], flat[:, :2]) + k[:2, 2]
    else:
        projected = apply(k, flat)
        uv = projected[:, :2] / projected[:, 2:3]
    return uv.reshape(-1, 3, 2)


def _row_spans(x: np.ndarray, y: np.ndarray, rows: int, cols: int):
    """The column interval of every (triangle, lattice row) pair: yields, a bounded
    number at a time, ``(triangle, row, start, stop)`` arrays (``stop`` inclusive).

    ``x`` and ``y`` (Tx3) are the triangles' corners in lattice units: sample ``(i, j)``
    at ``(j, i)``. A sample on an edge counts as inside, so triangles sharing an edge
    leave no gap; degenerate triangles give nothing.
    """
    x0, x1, x2 = x[:, 0], x[:, 1], x[:, 2]
    y0, y1, y2 = y[:, 0], y[:, 1], y[:, 2]
    doubled_area = (x1 - x0) * (y2 - y0) - (x2 - x0) * (y1 - y0)
    first = np.clip(np.ceil(y.min(axis=1)), 0, rows)
    last = np.clip(np.floor(y.max(axis=1)), -1, rows - 1)
    keep = np.flatnonzero((doubled_area != 0) & np.isfinite(doubled_area) & (last >= first))
    if not len(keep):
        return
    x, y, sign = x[keep], y[keep], np.sign(doubled_area[keep])
    first, last = first[keep].astype(np.int64), last[keep].astype(np.int64)
    # Edge k runs from vertex k to k + 1: inside where a * X + b * Y + c >= 0.
    xa, ya = x, y
    xb, yb = np.roll(x, -1, axis=1), np.roll(y, -1, axis=1)
    a = -(yb - ya) * sign[:, None]
    b = (xb - xa) * sign[:, None]
    c = -(a * xa + b * ya)
    spans = last - first + 1
    ends = np.cumsum(spans)
    cuts = np.searchsorted(ends, np.arange(SPANS_PER_PASS, int(ends[-1]), SPANS_PER_PASS))
    for chunk in np.split(np.arange(len(spans)), np.unique(cuts)):
        if not len(chunk):
            continue
        count = spans[chunk]
        tri = np.repeat(chunk, count)
        offsets = np.repeat(np.cumsum(count) - count, count)
        row = first[tri] + (np.arange(int(count.sum())) - offsets)
        a_t, s_t = a[tri], b[tri] * row[:, None] + c[tri]
        with np.errstate(divide="ignore", invalid="ignore"):
            bound = -s_t / a_t
        low = np.where(a_t > 0, bound, -np.inf).max(axis=1)
        high = np.where(a_t < 0, bound, np.inf).min(axis=1)
        blocked = ((a_t == 0) & (s_t < 0)).any(axis=1)
        start = np.clip(np.ceil(low), 0, cols)
        stop = np.clip(np.floor(high), -1, cols - 1)
        valid = ~blocked & (stop >= start)
        yield (
            keep[tri[valid]],
            row[valid],
            start[valid].astype(np.int64),
            stop[valid].astype(np.int64),
        )


def coverage(
    triangles_uv: np.ndarray,
    origin: tuple[float, float],
    shape: tuple[int, int],
    step: float = 1.0,
) -> np.ndarray:
    """Which samples of a lattice lie in at least one triangle: a ``shape`` bool array.

    Sample ``(i, j)`` lies at ``(u, v) = (origin[0] + j * step, origin[1] + i * step)``;
    ``triangles_uv`` are Tx3x2 image points. A sample on a triangle's edge counts as
    inside, so triangles sharing an edge leave no gap. Each triangle gives, for every
    lattice row it spans, the interval of columns inside its three edges; the intervals
    of all triangles are summed into one difference array per row.
    """
    rows, cols = int(shape[0]), int(shape[1])
    cover = np.zeros((rows, cols), dtype=bool)
    tris = np.asarray(triangles_uv, dtype=np.float64).reshape(-1, 3, 2)
    if not len(tris) or rows <= 0 or cols <= 0:
        return cover
    x = (tris[:, :, 0] - origin[0]) / step
    y = (tris[:, :, 1] - origin[1]) / step
    stride = cols + 1
    size = rows * stride
    delta = np.zeros(size, dtype=np.int64)
    for _tri, row, start, stop in _row_spans(x, y, rows, cols):
        delta += np.bincount(row * stride + start, minlength=size)
        delta -= np.bincount(row * stride + stop + 1, minlength=size)
    counts = np.cumsum(delta.reshape(rows, stride), axis=1)
    return counts[:, :cols] > 0


def depth_fragments(
    triangles_cam: np.ndarray,
    K: np.ndarray,  # noqa: N803 - the conventional name of the intrinsic matrix
    *,
    ortho: bool,
    shape: tuple[int, int],
    offset: float = 0.0,
):
    """Every first sample that camera-frame triangles cover, with its planar depth.

    ``triangles_cam`` (Tx3x3, OpenCV camera frame, already cut to the clip range by
    :func:`clip_triangles`) are projected with ``K``; the sample of pixel (r, c) lies at
    ``(c + 0.5 + offset, r + 0.5 - offset)`` (:func:`first_sample_offset`). Yields, a
    bounded number at a time, ``(triangle, pixel, depth)`` arrays: the triangle's index,
    the flat pixel index ``r * width + c`` and the planar depth (camera z) where the
    sample's camera ray meets the triangle's plane, in the camera frame's units.
    """
    height, width = int(shape[0]), int(shape[1])
    tris = np.asarray(triangles_cam, dtype=np.float64).reshape(-1, 3, 3)
    if not len(tris) or height <= 0 or width <= 0:
        return
    k = np.asarray(K, dtype=np.float64)
    flat = tris.reshape(-1, 3)
    if ortho:
        uv = apply(k[:2, :2], flat[:, :2]) + k[:2, 2]
    else:
        projected = apply(k, flat)
        with np.errstate(divide="ignore", invalid="ignore"):
            uv = projected[:, :2] / projected[:, 2:3]
    uv = uv.reshape(-1, 3, 2)
    x = uv[:, :, 0] - (0.5 + offset)
    y = uv[:, :, 1] - (0.5 - offset)
    # Each triangle's plane, n . X = h, in the camera frame.
    normal = np.cross(tris[:, 1] - tris[:, 0], tris[:, 2] - tris[:, 0])
    level = np.einsum("ij,ij->i", normal, tris[:, 0])
    inverse = np.linalg.inv(k[:2, :2]) if ortho else np.linalg.inv(k)
    for tri, row, start, stop in _row_spans(x, y, height, width):
        count = stop - start + 1
        owner = np.repeat(tri, count)
        offsets = np.repeat(np.cumsum(count) - count, count)
        col = np.repeat(start, count) + (np.arange(int(count.sum())) - offsets)
        row = np.repeat(row, count)
        u = col + (0.5 + offset)
        v = row + (0.5 - offset)
        n = normal[owner]
        with np.errstate(divide="ignore", invalid="ignore"):
            if ortho:
                # The ray of (u, v) runs along +z from (x, y, 0).
                dx = inverse[0, 0] * (u - k[0, 2]) + inverse[0, 1] * (v - k[1, 2])
                dy = inverse[1, 0] * (u - k[0, 2]) + inverse[1, 1] * (v - k[1, 2])
                depth = (level[owner] - n[:, 0] * dx - n[:, 1] * dy) / n[:, 2]
            else:
                # The ray of (u, v) is t * K^-1 (u, v, 1); its point at depth t.
                dx = inverse[0, 0] * u + inverse[0, 1] * v + inverse[0, 2]
                dy = inverse[1, 0] * u + inverse[1, 1] * v + inverse[1, 2]
                dz = inverse[2, 0] * u + inverse[2, 1] * v + inverse[2, 2]
                depth = level[owner] / (n[:, 0] * dx + n[:, 1] * dy + n[:, 2] * dz) * dz
        yield owner, row * width + col, depth


@dataclass(frozen=True)
class Silhouette:
    """The pixels some geometry covers, in an image of ``shape`` and beyond its border.

    ``window`` is ``(row0, row1, col0, col1)`` (half-open) of the image part of the
    silhouette's bounding box and ``mask`` its pixels there (``None`` and an empty mask
    when nothing is inside the image); ``inside`` counts them and ``outside`` the
    silhouette's samples beyond the border (exact when ``exact``, else estimated on a
    coarser lattice).
    """

    window: tuple[int, int, int, int] | None
    mask: np.ndarray
    inside: int
    outside: float
    exact: bool


EMPTY = Silhouette(None, np.zeros((0, 0), dtype=bool), 0, 0.0, True)


def _lattice_range(low: float, high: float, offset: float) -> tuple[int, int]:
    """Indices k with ``low <= k + 0.5 + offset <= high`` as ``(first, stop)``, half-open."""
    return int(np.ceil(low - 0.5 - offset)), int(np.floor(high - 0.5 - offset)) + 1


def silhouette(
    triangles_uv: np.ndarray,
    shape: tuple[int, int],
    offset: float = 0.0,
    budget: int | None = None,
) -> Silhouette:
    """The silhouette of image-space triangles (Tx3x2) sampled at the first samples.

    ``shape`` is the image's ``(height, width)``; the sample of pixel (r, c) lies at
    ``(c + 0.5 + offset, r + 0.5 - offset)`` (:func:`first_sample_offset`). ``budget``
    (default: 4 images) is the most pixels counted exactly beyond the image.
    """
    height, width = int(shape[0]), int(shape[1])
    tris = np.asarray(triangles_uv, dtype=np.float64).reshape(-1, 3, 2)
    tris = tris[np.isfinite(tris).all(axis=(1, 2))]
    if not len(tris):
        return EMPTY
    budget = 4 * height * width if budget is None else int(budget)
    dx, dy = float(offset), -float(offset)
    low, high = tris.reshape(-1, 2).min(axis=0), tris.reshape(-1, 2).max(axis=0)
    col0, col1 = _lattice_range(low[0], high[0], dx)
    row0, row1 = _lattice_range(low[1], high[1], dy)
    if col0 >= col1 or row0 >= row1:
        return EMPTY
    area = (row1 - row0) * (col1 - col0)
    window = (max(row0, 0), min(row1, height), max(col0, 0), min(col1, width))
    seen = window[0] < window[1] and window[2] < window[3]
    if area <= budget:
        full = coverage(tris, (col0 + 0.5 + dx, row0 + 0.5 + dy), (row1 - row0, col1 - col0))
        total = int(full.sum())
        if not seen:
            return Silhouette(None, EMPTY.mask, 0, float(total), True)
        mask = full[window[0] - row0 : window[1] - row0, window[2] - col0 : window[3] - col0]
        inside = int(mask.sum())
        return Silhouette(window, mask, inside, float(total - inside), True)
    mask = EMPTY.mask
    inside = 0
    if seen:
        mask = coverage(
            tris,
            (window[2] + 0.5 + dx, window[0] + 0.5 + dy),
            (window[1] - window[0], window[3] - window[2]),
        )
        inside = int(mask.sum())
    # Blocks of step x step pixels, each sampled at its middle pixel and weighing the
    # pixels of the block (cut to the bounding box) that lie outside the image.
    step = int(np.ceil(np.sqrt(area / budget)))
    rows = -(-(row1 - row0) // step)
    cols = -(-(col1 - col0) // step)
    middle = step // 2
    origin = (col0 + middle + 0.5 + dx, row0 + middle + 0.5 + dy)
    coarse = coverage(tris, origin, (rows, cols), float(step))

    def extents(first, stop, size, count):
        start = first + step * np.arange(count)
        end = np.minimum(start + step, stop)
        within = np.clip(np.minimum(end, size) - np.maximum(start, 0), 0, None)
        return end - start, within

    block_h, seen_h = extents(row0, row1, height, rows)
    block_w, seen_w = extents(col0, col1, width, cols)
    beyond = np.outer(block_h, block_w) - np.outer(seen_h, seen_w)
    outside = float(beyond[coarse].sum())
    return Silhouette(window if seen else None, mask, inside, outside, False)
