"""Masks to polygons, numpy only: one closed polygon per object, holes and parts included.

Coordinates
-----------
Vertices lie on pixel *corners*, in the continuous image coordinates of
:mod:`~ground_truth.geometry.camera` (top-left corner of the image at (0, 0), x right,
y down; pixel (row r, column c) is the square ``c <= x <= c + 1, r <= y <= r + 1``).
The polygon runs along the boundary between the mask's pixels and the others, so it
encloses exactly the mask's pixel squares: its extent is the mask's box ``[x, y, w, h]``
of :mod:`~ground_truth.geometry.boxes`, and a rasteriser that fills pixels whose centre
lies inside (even-odd rule: pycocotools' ``frPyObjects``, scikit-image, matplotlib's
``Path.contains_points``) gives the mask back exactly. Only corners are kept: a vertex
is where the boundary turns.

Connectivity: mask pixels that touch only at a corner belong to one part (8-connected
objects, 4-connected holes, as OpenCV's ``findContours`` sees them).

One polygon per object: holes and parts are bridged
-------------------------------------------------
Ultralytics reads every line of a YOLO segmentation label as one instance: its box is
the extent of that line's polygon (``segments2boxes``), and training rasterises each
instance's polygon with OpenCV's ``fillPoly`` (``polygon2mask``), which fills with the
even-odd rule. So an object must be *one* line: several lines would turn one occluded
object into several objects with their own boxes. Ultralytics' own COCO converter does
the same (``merge_multi_segment`` joins an object's polygons with zero-width bridges).

Here every hole and every further part is joined to the boundary directly above it by a
zero-width bridge along a pixel-column line, traversed once down and once back up:

- a hole's bridge goes up from the hole's top-left corner through the object's own
  pixels to the first boundary above (the object's outline or another hole), so it
  covers no pixel outside the object;
- a further part's bridge goes up from the part's top-left corner, across the gap, to
  the nearest part of the same object above it in that column; a part with nothing of
  its object above it is joined by a straight bridge to the nearest corner of the
  parts before it (ordered top to bottom, then left to right).

Traversed twice in opposite directions, a bridge encloses no area: even-odd and
non-zero fills give exactly the mask. OpenCV's ``fillPoly`` also paints the pixels a
polygon's edges pass over (about one pixel outside the mask along the right and bottom
edges, and on a bridge across a gap between parts a one-pixel line): that is
OpenCV's rasterisation, the same for any polygon of a pixel mask.
"""

from __future__ import annotations

import numpy as np

# Unit-edge directions in image coordinates (y down): east, south, west, north.
_STEP_X = np.array([1, 0, -1, 0], dtype=np.int64)
_STEP_Y = np.array([0, 1, 0, -1], dtype=np.int64)
EAST, SOUTH, WEST, NORTH = 0, 1, 2, 3


def _unit_edges(padded: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Directed unit edges between true and false pixels of a zero-padded mask.

    Returns (x, y, direction) of each edge's start vertex, in the padded lattice (vertex
    (x, y) is the top-left corner of padded pixel (row y, column x)). Edges keep the
    mask on their left as seen on screen (y down): outlines run counter-clockwise on
    screen, holes clockwise.
    """
    above, below = padded[:-1, :], padded[1:, :]
    left, right = padded[:, :-1], padded[:, 1:]
    # Horizontal edges on row line y between pixel rows y - 1 and y, column x.
    y_e, x_e = np.nonzero(above & ~below)  # mask above: runs east
    y_w, x_w = np.nonzero(~above & below)  # mask below: runs west, from x + 1
    # Vertical edges on column line x between pixel columns x - 1 and x, row y.
    y_n, x_n = np.nonzero(left & ~right)  # mask left: runs north, from y + 1
    y_s, x_s = np.nonzero(~left & right)  # mask right: runs south
    xs = np.concatenate([x_e, x_w + 1, x_n + 1, x_s + 1])
    ys = np.concatenate([y_e + 1, y_w + 1, y_n + 1, y_s])
    dirs = np.concatenate(
        [
            np.full(x_e.size, EAST),
            np.full(x_w.size, WEST),
            np.full(x_n.size, NORTH),
            np.full(x_s.size, SOUTH),
        ]
    )
    return xs.astype(np.int64), ys.astype(np.int64), dirs.astype(np.int64)


def _successors(
    xs: np.ndarray, ys: np.ndarray, dirs: np.ndarray, table: np.ndarray, stride: int
) -> np.ndarray:
    """For each unit edge, the edge that continues the boundary at its end vertex.

    ``table[(y * stride + x) * 4 + direction]`` is the edge leaving vertex (x, y) that
    way, or -1. Where two edges leave a vertex (mask pixels touching at a corner only),
    the right turn is taken, which keeps those pixels in one part (8-connected mask).
    """
    end = ((ys + _STEP_Y[dirs]) * stride + (xs + _STEP_X[dirs])) * 4
    right = table[end + (dirs + 1) % 4]
    straight = table[end + dirs]
    left = table[end + (dirs + 3) % 4]
    return np.where(right >= 0, right, np.where(straight >= 0, straight, left))


def _cycles(successor: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Split a permutation into cycles: (cycle id per element, position in its cycle).

    Cycles are numbered in order of their smallest element; each is walked from it.
    """
    nxt = successor.tolist()
    count = len(nxt)
    cycle = [-1] * count
    position = [0] * count
    number = 0
    for first in range(count):
        if cycle[first] >= 0:
            continue
        edge, step = first, 0
        while cycle[edge] < 0:
            cycle[edge] = number
            position[edge] = step
            step += 1
            edge = nxt[edge]
        number += 1
    return np.asarray(cycle, dtype=np.int64), np.asarray(position, dtype=np.int64)


def mask_polygon(mask: np.ndarray) -> np.ndarray | None:
    """The one polygon of an HxW boolean mask (see the module docstring), or None if empty.

    Returns an Nx2 int64 array of (x, y) pixel-corner vertices (the polygon closes from
    the last vertex to the first). Parts touching only at a corner share a vertex;
    bridges visit their end vertices twice.
    """
    mask = np.asarray(mask, dtype=bool)
    if mask.ndim != 2:
        raise ValueError(f"mask_polygon needs an HxW mask, got shape {mask.shape}")
    height, width = mask.shape
    padded = np.zeros((height + 2, width + 2), dtype=bool)
    padded[1:-1, 1:-1] = mask
    xs, ys, dirs = _unit_edges(padded)
    if xs.size == 0:
        return None
    # Vertices of the padded lattice: (height + 3) rows of (width + 3).
    stride = width + 3
    table = np.full((height + 3) * stride * 4, -1, dtype=np.int64)
    table[(ys * stride + xs) * 4 + dirs] = np.arange(xs.size)
    successor = _successors(xs, ys, dirs, table, stride)
    cycle, position = _cycles(successor)
    loops = int(cycle.max()) + 1
    lengths = np.bincount(cycle, minlength=loops)
    starts = np.r_[0, np.cumsum(lengths)[:-1]]
    order = np.empty(xs.size, dtype=np.int64)
    order[starts[cycle] + position] = np.arange(xs.size)

    # Each loop's entry: its top-left vertex (smallest y, then x). An outline leaves it
    # going south, a hole going east (the loop lies below and to the right of it).
    key = ys * stride + xs
    entry_key = np.full(loops, np.iinfo(np.int64).max)
    np.minimum.at(entry_key, cycle, key)
    is_entry = (key == entry_key[cycle]) & ((dirs == SOUTH) | (dirs == EAST))
    entry = np.full(loops, -1, dtype=np.int64)
    entry[cycle[is_entry]] = np.flatnonzero(is_entry)
    hole = dirs[entry] == EAST
    top_x, top_y = xs[entry], ys[entry]

    # Bridges: attachments[loop] = [(edge to insert before, child loop, bridge)].
    attachments: dict[int, list[tuple[int, int, int]]] = {}
    roots = []
    for loop in np.argsort(entry_key, kind="stable").tolist():
        x0, y0 = int(top_x[loop]), int(top_y[loop])
        column = padded[:y0, x0]
        if hole[loop]:
            # Up through the object's pixels to the first pixel outside it.
            outside = np.flatnonzero(~column)
            y1 = int(outside[-1]) + 1
            # The boundary edge there runs west, ending at (x0, y1): insert after it.
            before = int(successor[table[(y1 * stride + x0 + 1) * 4 + WEST]])
        else:
            inside = np.flatnonzero(column)
            if inside.size == 0:
                roots.append(loop)
                continue
            y1 = int(inside[-1]) + 1
            # That part's lower boundary runs east from (x0, y1): insert before it.
            before = int(table[(y1 * stride + x0) * 4 + EAST])
        target = int(cycle[before])
        attachments.setdefault(target, []).append((before, loop, y0 - y1))

    # Parts with nothing of the object above them: a straight bridge from the nearest
    # corner of an earlier such part (top to bottom, left to right).
    rotated = {}

    def loop_edges(loop: int) -> np.ndarray:
        if loop not in rotated:
            edges = order[starts[loop] : starts[loop] + lengths[loop]]
            rotated[loop] = np.roll(edges, -int(position[entry[loop]]))
        return rotated[loop]

    for index in range(1, len(roots)):
        loop = roots[index]
        candidates = np.concatenate([loop_edges(r) for r in roots[:index]])
        dx = xs[candidates] - top_x[loop]
        dy = ys[candidates] - top_y[loop]
        before = int(candidates[np.argmin(dx * dx + dy * dy)])
        attachments.setdefault(int(cycle[before]), []).append((before, loop, 0))

    return _walk(roots[0], loop_edges, attachments, xs, ys, dirs, top_x, top_y)


def _walk(root, loop_edges, attachments, xs, ys, dirs, top_x, top_y) -> np.ndarray:
    """Join the loops into one polygon: each loop from its entry edge, detouring into the
    loops attached to it (down a bridge, around, back up the same bridge); corners only.

    A bridge of length ``rise`` > 0 runs along the column line of the child's entry
    vertex; ``rise`` 0 is a straight segment. Returns Nx2 (x, y) in the padded lattice
    shifted back to image coordinates.
    """
    pieces: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    codes = iter(range(4, 1 << 62))  # straight bridges get directions of their own

    def vertical(x: int, y_from: int, y_to: int) -> None:
        step = 1 if y_to > y_from else -1
        run = np.arange(y_from, y_to, step, dtype=np.int64)
        heading = SOUTH if step > 0 else NORTH
        pieces.append((np.full(run.size, x), run, np.full(run.size, heading)))

    def segment(x: int, y: int) -> None:
        pieces.append((np.array([x]), np.array([y]), np.array([next(codes)])))

    def plan(loop: int) -> tuple[np.ndarray, list[tuple[int, int, int]]]:
        edges = loop_edges(loop)
        spots = attachments.get(loop, [])
        if spots:
            where = {edge: index for index, edge in enumerate(edges.tolist())}
            spots = sorted((where[before], child, rise) for before, child, rise in spots)
        return edges, spots

    # Stack items: ("loop", loop, k) emits the loop's edges from its k-th detour on;
    # ("back", child, rise, x, y) returns from a child to the vertex (x, y).
    stack: list[tuple] = [("loop", root, 0)]
    plans: dict[int, tuple[np.ndarray, list[tuple[int, int, int]]]] = {}
    while stack:
        item = stack.pop()
        if item[0] == "back":
            _, child, rise, x, y = item
            x0, y0 = int(top_x[child]), int(top_y[child])
            if rise:
                vertical(x0, y0, y0 - rise)
            else:
                segment(x0, y0)
            continue
        _, loop, k = item
        if loop not in plans:
            plans[loop] = plan(loop)
        edges, spots = plans[loop]
        start = spots[k - 1][0] if k > 0 else 0
        if k == len(spots):
            pieces.append((xs[edges[start:]], ys[edges[start:]], dirs[edges[start:]]))
            continue
        at, child, rise = spots[k]
        pieces.append((xs[edges[start:at]], ys[edges[start:at]], dirs[edges[start:at]]))
        x, y = int(xs[edges[at]]), int(ys[edges[at]])
        x0, y0 = int(top_x[child]), int(top_y[child])
        if rise:
            vertical(x0, y0 - rise, y0)
        else:
            segment(x, y)
        stack.append(("loop", loop, k + 1))
        stack.append(("back", child, rise, x, y))
        stack.append(("loop", child, 0))

    px = np.concatenate([p[0] for p in pieces])
    py = np.concatenate([p[1] for p in pieces])
    pd = np.concatenate([p[2] for p in pieces])
    corner = pd != np.roll(pd, 1)
    return np.stack([px[corner] - 1, py[corner] - 1], axis=1).astype(np.int64)
