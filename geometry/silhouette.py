"""Bpy-free geometry for per-instance occlusion: the pixel rays that could reach an instance.

An instance's *visible fraction* is ``visible_pixels / unoccluded_pixels``: the pixels it
holds in the instance map divided by the pixels it would cover if nothing else were in
front of it (its own silhouette). The unoccluded silhouette is found by casting, through
the centre of every pixel that the instance's 3D box can reach, the ray Cycles casts
there, against the instance's own geometry only (``scene/occlusion.py``). This module
gives those rays and the pixel window, in the conventions of :mod:`.camera`.

Camera rays follow Cycles: a pixel's ray starts where it crosses the plane at planar depth
``clip_start`` and ends at planar depth ``clip_end`` (the clip distances are planar, for
perspective and orthographic cameras alike), so geometry nearer than ``clip_start`` or
farther than ``clip_end`` is not seen.
"""

from __future__ import annotations

import numpy as np

from .boxes import box_edges
from .camera import intrinsics_inverse
from .transforms import apply, rigid_inverse, transform_points


def clipped_box_points(corners_cam: np.ndarray, near: float, far: float) -> np.ndarray:
    """Vertices of a box cut to the slab ``near <= z <= far`` of its camera frame.

    ``corners_cam`` are the 8 corners of a box (any parallelepiped, in the order of
    :func:`.boxes.box_corners`) in the OpenCV camera frame. Returns the Mx3 corners that
    lie in the slab plus the points where the box's edges cross ``z = near`` and
    ``z = far``: the vertices of the box's part in the slab (the two planes are
    parallel, so no vertex lies on both). Empty (0x3) when the box misses the slab.
    """
    corners = np.asarray(corners_cam, dtype=np.float64).reshape(8, 3)
    z = corners[:, 2]
    inside = corners[(z >= near) & (z <= far)]
    points = [inside]
    edges = np.array(box_edges())
    a, b = corners[edges[:, 0]], corners[edges[:, 1]]
    za, zb = a[:, 2], b[:, 2]
    for plane in (near, far):
        crosses = (za - plane) * (zb - plane) < 0
        if crosses.any():
            t = (plane - za[crosses]) / (zb[crosses] - za[crosses])
            cut = a[crosses] + t[:, None] * (b[crosses] - a[crosses])
            cut[:, 2] = plane
            points.append(cut)
    return np.concatenate(points)


def _project_box(k, world_to_camera_cv, corners_world, ortho, clip_start, clip_end):
    """Image points of the box's part in the clip slab: Mx2, ``None`` (unseen) or ``"full"``."""
    corners_cam = transform_points(world_to_camera_cv, np.asarray(corners_world, dtype=np.float64))
    if not np.isfinite(corners_cam).all():
        return "full"
    points = clipped_box_points(corners_cam, float(clip_start), float(clip_end))
    if len(points) == 0:
        return None
    if ortho:
        uv = apply(k[:2, :2], points[:, :2]) + k[:2, 2]
    else:
        if (points[:, 2] <= 0).any():
            return "full"
        homogeneous = apply(k, points)
        uv = homogeneous[:, :2] / homogeneous[:, 2:3]
    return uv if np.isfinite(uv).all() else "full"


def _window_of(uv, shape, margin):
    height, width = int(shape[0]), int(shape[1])
    lo, hi = uv.min(axis=0), uv.max(axis=0)
    # Pixel c has its centre in [lo, hi] when lo - 0.5 <= c <= hi - 0.5.
    col0 = max(int(np.ceil(lo[0] - 0.5)) - margin, 0)
    col1 = min(int(np.floor(hi[0] - 0.5)) + margin + 1, width)
    row0 = max(int(np.ceil(lo[1] - 0.5)) - margin, 0)
    row1 = min(int(np.floor(hi[1] - 0.5)) + margin + 1, height)
    if col0 >= col1 or row0 >= row1:
        return None
    return row0, row1, col0, col1


def pixel_window(
    K: np.ndarray,  # noqa: N803 - the conventional name of the intrinsic matrix
    world_to_camera_cv: np.ndarray,
    corners_world: np.ndarray,
    shape: tuple[int, int],
    *,
    ortho: bool,
    clip_start: float,
    clip_end: float,
    margin: int = 1,
) -> tuple[int, int, int, int] | None:
    """The pixels whose centre rays may reach a box: ``(row0, row1, col0, col1)``, half-open.

    ``corners_world`` are the 8 box corners (world frame) and ``shape`` the image's
    ``(height, width)``. The box is first cut to the camera's clip slab (so a box partly
    behind a perspective camera still has a finite window); the window holds every pixel
    whose centre ``(c + 0.5, r + 0.5)`` lies in the projection of that part, grown by
    ``margin`` pixels on each side and cut to the image. ``None`` when no pixel can see
    the box (it is outside the clip range or projects outside the image). A perspective
    camera with ``clip_start <= 0`` and the box reaching ``z <= 0`` gives the full image.
    """
    k = np.asarray(K, dtype=np.float64)
    uv = _project_box(k, world_to_camera_cv, corners_world, ortho, clip_start, clip_end)
    if uv is None:
        return None
    if isinstance(uv, str):
        return 0, int(shape[0]), 0, int(shape[1])
    return _window_of(uv, shape, margin)


def convex_hull(points: np.ndarray) -> np.ndarray:
    """Convex hull of 2D points, Kx2, counter-clockwise in the points' own axes.

    Andrew's monotone chain; collinear points are dropped, so fewer than 3 rows means
    the points are collinear (or fewer than 3 distinct).
    """
    pts = sorted({(float(x), float(y)) for x, y in np.asarray(points, dtype=np.float64)})
    if len(pts) < 3:
        return np.array(pts, dtype=np.float64).reshape(-1, 2)

    def cross(o, a, b):
        return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])

    lower, upper = [], []
    for p in pts:
        while len(lower) >= 2 and cross(lower[-2], lower[-1], p) <= 0:
            lower.pop()
        lower.append(p)
    for p in reversed(pts):
        while len(upper) >= 2 and cross(upper[-2], upper[-1], p) <= 0:
            upper.pop()
        upper.append(p)
    return np.array(lower[:-1] + upper[:-1], dtype=np.float64)


def near_convex_polygon(points: np.ndarray, hull: np.ndarray, margin: float) -> np.ndarray:
    """Whether each 2D point lies in a counter-clockwise convex ``hull`` or within ``margin``.

    (Within ``margin`` of every edge's line, which holds a little more than the
    ``margin``-neighbourhood near the corners.)
    """
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    corners = np.asarray(hull, dtype=np.float64).reshape(-1, 2)
    inside = np.ones(len(pts), dtype=bool)
    for a, b in zip(corners, np.roll(corners, -1, axis=0), strict=True):
        edge = b - a
        # Signed distance to the edge's line (times its length), positive inside.
        cross = edge[0] * (pts[:, 1] - a[1]) - edge[1] * (pts[:, 0] - a[0])
        inside &= cross >= -margin * float(np.hypot(edge[0], edge[1]))
    return inside


def candidate_pixels(
    K: np.ndarray,  # noqa: N803
    world_to_camera_cv: np.ndarray,
    corners_world: np.ndarray,
    shape: tuple[int, int],
    *,
    ortho: bool,
    clip_start: float,
    clip_end: float,
    margin: float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Rows and columns (1-D, row-major) of the pixels whose centre rays may reach a box.

    The pixels whose centre lies in the projection of the box's part in the clip slab
    (the convex hull of its projected vertices: exact for a convex box), or within
    ``margin`` pixels of it. Empty when no pixel can see the box; every pixel of the
    image in the cases where :func:`pixel_window` gives the full image.
    """
    k = np.asarray(K, dtype=np.float64)
    uv = _project_box(k, world_to_camera_cv, corners_world, ortho, clip_start, clip_end)
    empty = np.zeros(0, dtype=np.int64)
    if uv is None:
        return empty, empty
    if isinstance(uv, str):
        return window_pixels((0, int(shape[0]), 0, int(shape[1])))
    window = _window_of(uv, shape, int(np.ceil(margin)))
    if window is None:
        return empty, empty
    rows, cols = window_pixels(window)
    hull = convex_hull(uv)
    if len(hull) < 3:  # seen edge-on: the window is already thin
        return rows, cols
    keep = near_convex_polygon(np.column_stack([cols + 0.5, rows + 0.5]), hull, margin)
    return rows[keep], cols[keep]


def pixel_rays(
    K: np.ndarray,  # noqa: N803
    world_to_camera_cv: np.ndarray,
    rows: np.ndarray,
    cols: np.ndarray,
    *,
    ortho: bool,
    clip_start: float,
    clip_end: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """World-space camera rays through the centres of pixels ``(rows[i], cols[i])``.

    Returns ``(origins, directions, lengths)``: Nx3 start points, Nx3 unit directions and
    N lengths (float64). Ray ``i`` runs from its pixel's point at planar depth
    ``clip_start`` to its point at planar depth ``clip_end``, as Cycles' camera ray for
    that pixel does (through the pixel centre ``(c + 0.5, r + 0.5)``; perspective rays
    all pass through the camera centre, orthographic rays run along the view axis).
    """
    k = np.asarray(K, dtype=np.float64)
    u = np.asarray(cols, dtype=np.float64).reshape(-1) + 0.5
    v = np.asarray(rows, dtype=np.float64).reshape(-1) + 0.5
    uv = np.stack([u, v], axis=1)
    n = len(uv)
    if ortho:
        xy = apply(intrinsics_inverse(k)[:2, :2], uv - k[:2, 2])
        start = np.column_stack([xy, np.full(n, float(clip_start))])
        end = np.column_stack([xy, np.full(n, float(clip_end))])
    else:
        # (x/z, y/z, 1) of the pixel centre's ray.
        unit_depth = apply(intrinsics_inverse(k), np.column_stack([uv, np.ones(n)]))
        unit_depth /= unit_depth[:, 2:3]
        start = unit_depth * float(clip_start)
        end = unit_depth * float(clip_end)
    camera_to_world = rigid_inverse(world_to_camera_cv)
    origins = transform_points(camera_to_world, start)
    span = transform_points(camera_to_world, end) - origins
    lengths = np.linalg.norm(span, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        directions = span / lengths[:, None]
    return origins, directions, lengths


def window_pixels(window: tuple[int, int, int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Row and column indices (1-D, row-major) of every pixel in a :func:`pixel_window`."""
    row0, row1, col0, col1 = window
    rows, cols = np.mgrid[row0:row1, col0:col1]
    return rows.reshape(-1), cols.reshape(-1)


def visible_fraction(visible_pixels: int, unoccluded_pixels: int) -> float:
    """An instance's visible fraction: ``visible / unoccluded``, clamped to ``[0, 1]``.

    ``visible / max(unoccluded, visible)``: 1.0 when the instance holds at least as many
    pixels as its unoccluded silhouette (the render's pixel samples and the silhouette's
    pixel centres can differ by a pixel at an edge), 0.0 when it holds none.
    """
    visible = int(visible_pixels)
    if visible <= 0:
        return 0.0
    return visible / max(int(unoccluded_pixels), visible)
