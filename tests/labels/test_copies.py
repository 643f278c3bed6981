"""labels.copies: the copy ID table, and copy pixels found by depth at the first samples.

The scenes are squares seen from above by an orthographic camera (10 px per metre);
the rendered depth and Object Index are made by hand from the same geometry, so the
expected map is known exactly.
"""

import numpy as np
import pytest

from ground_truth.geometry import camera
from ground_truth.labels import amodal, copies

W, H = 64, 48


def ortho_block():
    """10 m above the origin looking down: u = 32 + 10 x, v = 24 - 10 y, depth 10 - z."""
    k_matrix = camera.intrinsics(
        50.0, 36.0, 24.0, "AUTO", 0.0, 0.0, W, H, ortho=True, ortho_scale=6.4
    )
    w2c = np.diag([1.0, -1.0, -1.0, 1.0])
    w2c[2, 3] = 10.0
    return {"K": k_matrix, "world_to_camera_cv": w2c, "type": "ORTHO", "clip_start": 0.1,
            "clip_end": 100.0}  # fmt: skip


SQUARE = amodal.Mesh(
    np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]], dtype=np.float32),
    np.array([[0, 1, 2], [0, 2, 3]], dtype=np.int32),
)


def placed(x, y, z, size=1.0):
    matrix = np.diag([size, size, 1.0, 1.0])
    matrix[:3, 3] = [x, y, z]
    return amodal.Placement("square", matrix)


def pixels_of(x, y, size=1.0):
    """The pixel window a square covers (its samples at pixel centres)."""
    c0, c1 = round(32 + 10 * x), round(32 + 10 * (x + size))
    r0, r1 = round(24 - 10 * (y + size)), round(24 - 10 * y)
    return slice(r0, r1), slice(c0, c1)


def render(layers):
    """Depth and Object Index of squares ``(x, y, z, size, pass index)``: nearest wins."""
    depth = np.full((H, W), np.inf)
    index = np.zeros((H, W), dtype=np.uint16)
    for x, y, z, size, carried in layers:
        rows, cols = pixels_of(x, y, size)
        nearer = depth[rows, cols] > 10.0 - z
        depth[rows, cols][nearer] = 10.0 - z
        index[rows, cols][nearer] = carried
    return depth, index


def key(name, *pid):
    return (name, tuple(pid), "Pebble", "")


def test_copies_get_their_ids_where_their_surface_is_the_rendered_one():
    # Two copies carrying pass index 5 overlap; the labelled source (ID 5) lies apart.
    a, b = placed(-2.0, -1.0, 0.0, 2.0), placed(-1.0, -0.5, 0.5, 2.0)
    source = placed(1.5, 0.0, 0.0)
    geometry = amodal.SceneGeometry(
        {"square": SQUARE},
        {5: (source,)},
        (amodal.CopyPlacement(key("E", 0), 5, a), amodal.CopyPlacement(key("E", 1), 5, b)),
    )
    depth, index = render([(-2.0, -1.0, 0.0, 2.0, 5), (-1.0, -0.5, 0.5, 2.0, 5), (1.5, 0, 0, 1, 5)])
    ids = {key("E", 0): 10, key("E", 1): 11}
    result = copies.assign_copy_ids(index, depth, geometry, ortho_block(), ids)
    expected = index.copy()
    expected[pixels_of(-2.0, -1.0, 2.0)] = 10
    expected[pixels_of(-1.0, -0.5, 2.0)] = 11  # b is nearer where they overlap
    np.testing.assert_array_equal(result, expected)
    assert result.dtype == np.uint16
    assert (result == 5).sum() == 100  # the source keeps its own ID


def test_a_pixel_seen_through_a_clipped_copy_goes_to_the_copy_behind():
    a, b = placed(-2.0, -1.0, 0.0, 2.0), placed(-1.0, -0.5, 0.5, 2.0)
    geometry = amodal.SceneGeometry(
        {"square": SQUARE},
        {},
        (amodal.CopyPlacement(key("E", 0), 5, a), amodal.CopyPlacement(key("E", 1), 5, b)),
    )
    # The nearer copy b is clear (alpha 0): the render sees a through it everywhere.
    depth, index = render([(-2.0, -1.0, 0.0, 2.0, 5)])
    result = copies.assign_copy_ids(
        index, depth, geometry, ortho_block(), {key("E", 0): 10, key("E", 1): 11}
    )
    assert set(np.unique(result)) == {0, 10}
    assert (result == 10).sum() == 400


def test_copies_carrying_no_pass_index_take_only_pixels_at_their_depth():
    # An unlabelled source (pass index 0) copied by a labelled instancer; an unlabelled
    # floor below also reads 0 and must stay 0.
    copy = placed(-1.0, -1.0, 1.0, 2.0)
    geometry = amodal.SceneGeometry(
        {"square": SQUARE}, {}, (amodal.CopyPlacement(key("E", 0), 0, copy),)
    )
    depth, index = render([(-3.0, -2.4, 0.0, 6.0, 0), (-1.0, -1.0, 1.0, 2.0, 0)])
    result = copies.assign_copy_ids(index, depth, geometry, ortho_block(), {key("E", 0): 7})
    assert (result == 7).sum() == 400
    assert set(np.unique(result)) == {0, 7}


def test_copies_sharing_a_different_id_are_moved_and_others_are_left_alone():
    # Geometry-nodes copies carry the instancer's pass index (3); shared, they read
    # their source's ID (8). Copies whose ID is what they carry change nothing.
    copy = placed(0.0, 0.0, 1.0)
    geometry = amodal.SceneGeometry(
        {"square": SQUARE},
        {3: (placed(-3.0, -2.4, 0.0, 6.0),)},
        (amodal.CopyPlacement(key("G", 0), 3, copy),),
    )
    depth, index = render([(-3.0, -2.4, 0.0, 6.0, 3), (0.0, 0.0, 1.0, 1.0, 3)])
    result = copies.assign_copy_ids(index, depth, geometry, ortho_block(), {key("G", 0): 8})
    assert (result == 8).sum() == 100
    unchanged = copies.assign_copy_ids(index, depth, geometry, ortho_block(), {key("G", 0): 3})
    np.testing.assert_array_equal(unchanged, index)


def test_many_copies_in_several_passes(monkeypatch):
    monkeypatch.setattr(copies, "TRIANGLES_PER_PASS", 8)
    layers, placements, ids = [], [], {}
    for n in range(20):
        x, y = (n % 5) * 1.2 - 3.0, (n // 5) * 1.1 - 2.2
        layers.append((x, y, 0.1 * n, 1.0, 4))
        placements.append(amodal.CopyPlacement(key("P", n), 4, placed(x, y, 0.1 * n)))
        ids[key("P", n)] = 100 + n
    depth, index = render(layers)
    geometry = amodal.SceneGeometry({"square": SQUARE}, {}, tuple(placements))
    result = copies.assign_copy_ids(index, depth, geometry, ortho_block(), ids)
    for n, (x, y, *_rest) in enumerate(layers):
        assert (result[pixels_of(x, y)] == 100 + n).all()


# --------------------------------------------------------------------- the table


def test_ids_depend_on_the_copy_alone():
    particles = copies.Instancer("Emitter/Hair", particles=30)
    grid = copies.listed_instancer("Grid", [key("Grid", 5), key("Grid", 2), key("Grid", 9)])
    table = copies.CopyTable(12, [particles, grid])
    again = copies.CopyTable(12, [grid, particles])  # whatever order they are found in
    # Blocks in name order: Emitter/Hair 12..41, Grid 42..44 (ranks of sorted IDs).
    for each in (table, again):
        assert each.id_of(("Emitter", (0,), "Pebble", "Hair")) == 12
        assert each.id_of(("Emitter", (29,), "Pebble", "Hair")) == 41
        assert each.id_of(key("Grid", 2)) == 42
        assert each.id_of(key("Grid", 9)) == 44
    assert table.last_id == 44
    assert table.describe() == [
        {"instancer": "Emitter/Hair", "first_id": 12, "size": 30},
        {"instancer": "Grid", "first_id": 42, "size": 3},
    ]


def test_particles_drawing_a_whole_collection_take_a_slot_per_object():
    block = copies.Instancer("E/P", particles=4, objects=("A", "B"))
    table = copies.CopyTable(1, [block])
    assert table.id_of(("E", (0,), "A", "P")) == 1
    assert table.id_of(("E", (0,), "B", "P")) == 2
    assert table.id_of(("E", (3,), "B", "P")) == 8
    with pytest.raises(copies.CopyOutsideTableError):
        table.id_of(("E", (4,), "A", "P"))  # beyond the particle count


def test_a_copy_not_drawn_at_the_reference_frame_is_named():
    table = copies.CopyTable(3, [copies.listed_instancer("Grid", [key("Grid", 1)])])
    with pytest.raises(copies.CopyOutsideTableError, match="Grid draws a copy of Pebble"):
        table.id_of(key("Grid", 2))
    with pytest.raises(copies.CopyOutsideTableError):
        table.id_of(key("Other", 1))


def test_more_ids_than_the_map_holds_name_the_largest_instancers():
    blocks = [copies.Instancer("Grass/Blades", particles=70000), copies.Instancer("F/x", 5)]
    with pytest.raises(copies.TooManyInstancesError, match=r"Grass/Blades \(70000\)"):
        copies.CopyTable(10, blocks)
    assert copies.CopyTable(10, blocks, limit=2**32 - 1).last_id == 70014


def test_perspective_copies_reaching_behind_the_camera_match_a_ray_cast():
    """A pinhole camera at the origin looking down -z (world); copies as squares at
    several depths, one reaching from in front of the camera to behind it."""
    k_matrix = camera.intrinsics(35.0, 36.0, 24.0, "AUTO", 0.0, 0.0, W, H)
    block = {"K": k_matrix, "world_to_camera_cv": np.diag([1.0, -1.0, -1.0, 1.0]),
             "type": "PERSP", "clip_start": 0.1, "clip_end": 100.0}  # fmt: skip
    squares = [(-1.0, -0.8, -4.0, 1.5), (-0.2, -0.5, -3.0, 1.0), (0.3, 0.1, -6.0, 2.0)]
    placements = [placed(x, y, z, s) for x, y, z, s in squares]
    # A large tilted copy: its far end 8 m in front, its near end behind the camera.
    tilted = np.array([[1, 0, 0, -3.0], [0, 0.6, 0, -1.2], [0, 0.8, 0.6, -9.0], [0, 0, 0, 1]])
    tilted[:3, :3] *= [[4.0], [12.0], [12.0]]  # the unit square scaled to 4 x 12 m
    placements.append(amodal.Placement("square", tilted))
    copies_ = tuple(amodal.CopyPlacement(key("E", n), 2, p) for n, p in enumerate(placements))
    geometry = amodal.SceneGeometry({"square": SQUARE}, {}, copies_)
    # Oracle: each pixel centre's ray against every square, nearest hit within clip.
    rows, cols = np.mgrid[0:H, 0:W]
    rays = np.stack([cols + 0.5, rows + 0.5, np.ones((H, W))], -1) @ np.linalg.inv(k_matrix).T
    depth = np.full((H, W), np.inf)
    owner = np.full((H, W), -1)
    w2c = block["world_to_camera_cv"]
    for n, placement in enumerate(placements):
        corners = (w2c @ placement.matrix @ np.c_[SQUARE.vertices, np.ones(4)].T).T[:, :3]
        a, b, d = corners[0], corners[1], corners[3]
        normal = np.cross(b - a, d - a)
        with np.errstate(divide="ignore", invalid="ignore"):
            t = (a @ normal) / (rays @ normal)
        point = rays * t[..., None]
        u = (point - a) @ (b - a) / ((b - a) @ (b - a))
        v = (point - a) @ (d - a) / ((d - a) @ (d - a))
        hit = (u >= 0) & (u <= 1) & (v >= 0) & (v <= 1) & (t >= 0.1) & (t <= 100) & (t < depth)
        depth[hit], owner[hit] = t[hit], n
    index = np.where(owner >= 0, 2, 0).astype(np.uint16)
    ids = {key("E", n): 20 + n for n in range(len(placements))}
    result = copies.assign_copy_ids(index, depth, geometry, block, ids)
    expected = np.where(owner >= 0, 20 + owner, 0)
    assert len(np.unique(expected)) == 5
    # Pixels whose centre lies on an edge may go either way.
    padded = np.pad(expected, 1, mode="edge")
    interior = np.stack(
        [padded[r : r + H, c : c + W] == expected for r in range(3) for c in range(3)]
    ).all(axis=0)
    np.testing.assert_array_equal(result[interior], expected[interior])
