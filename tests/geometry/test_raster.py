"""geometry.raster: triangle coverage at sample points, clipping, silhouettes beyond the border.

The oracles are written independently of the span rasteriser: a barycentric
point-in-triangle test at every sample, and camera rays intersected with each
triangle's plane.
"""

import numpy as np
import pytest

from ground_truth.geometry import camera, raster

RNG = np.random.default_rng(16)


def inside_any(triangles, points):
    """Oracle: which points (Nx2) lie in at least one triangle (Tx3x2), by barycentrics."""
    result = np.zeros(len(points), dtype=bool)
    for a, b, c in triangles:
        matrix = np.array([b - a, c - a]).T
        if abs(np.linalg.det(matrix)) < 1e-12:
            continue
        weights = np.linalg.solve(matrix, (points - a).T).T
        s, t = weights[:, 0], weights[:, 1]
        result |= (s >= 0) & (t >= 0) & (s + t <= 1)
    return result


def lattice(origin, shape, step=1.0):
    rows, cols = np.mgrid[0 : shape[0], 0 : shape[1]]
    return np.stack([origin[0] + cols * step, origin[1] + rows * step], axis=-1).reshape(-1, 2)


@pytest.mark.parametrize(("step", "per_pass"), [(1.0, 1 << 18), (2.5, 1 << 18), (1.0, 7)])
def test_coverage_matches_a_point_in_triangle_test(monkeypatch, step, per_pass):
    monkeypatch.setattr(raster, "SPANS_PER_PASS", per_pass)  # also in many small passes
    shape = (37, 53)
    origin = (0.5 + 0.0003, 0.5 - 0.0003)
    for _ in range(10):
        count = int(RNG.integers(1, 12))
        centres = RNG.uniform([-10, -10], [140, 100], size=(count, 1, 2))
        triangles = centres + RNG.normal(scale=25.0, size=(count, 3, 2))
        cover = raster.coverage(triangles, origin, shape, step)
        expected = inside_any(triangles, lattice(origin, shape, step)).reshape(shape)
        np.testing.assert_array_equal(cover, expected)


def test_triangles_sharing_edges_leave_no_gap():
    # A fan of 16 triangles around a centre: every sample of the octagon-ish polygon.
    angles = np.linspace(0.0, 2 * np.pi, 17)
    ring = np.stack([30 + 20 * np.cos(angles), 25 + 20 * np.sin(angles)], axis=1)
    centre = np.array([30.0, 25.0])
    triangles = np.array([[centre, ring[k], ring[k + 1]] for k in range(16)])
    cover = raster.coverage(triangles, (0.5, 0.5), (50, 60))
    hull = np.array([[centre, ring[0], ring[8]], [centre, ring[8], ring[16]]])
    assert cover.sum() > 1000
    # Same samples as the two halves of the polygon tested on their own.
    expected = inside_any(triangles, lattice((0.5, 0.5), (50, 60))).reshape(50, 60)
    np.testing.assert_array_equal(cover, expected)
    assert not (raster.coverage(hull, (0.5, 0.5), (50, 60)) & ~cover).any()


def test_degenerate_and_far_away_triangles_cover_nothing():
    flat = np.array([[[0.0, 0.0], [10.0, 10.0], [20.0, 20.0]]])
    away = np.array([[[1e6, 1e6], [1e6 + 5, 1e6], [1e6, 1e6 + 5]]])
    assert not raster.coverage(np.concatenate([flat, away]), (0.5, 0.5), (30, 30)).any()
    assert not raster.coverage(np.zeros((0, 3, 2)), (0.5, 0.5), (30, 30)).any()


def test_a_huge_triangle_covers_every_sample():
    triangle = np.array([[[-1e7, -1e7], [1e7, -1e7], [0.0, 1e7]]])
    assert raster.coverage(triangle, (0.5, 0.5), (20, 30)).all()


def ray_oracle(points_cam, triangles, k_matrix, shape, near, far, offset):
    """Oracle: pixels whose sample ray from the camera centre hits a triangle with
    near <= z <= far (the ray-plane intersection tested by barycentrics in 3D)."""
    height, width = shape
    rows, cols = np.mgrid[0:height, 0:width]
    pixels = np.stack([cols + 0.5 + offset, rows + 0.5 - offset, np.ones(rows.shape)], -1)
    directions = pixels.reshape(-1, 3) @ np.linalg.inv(k_matrix).T  # z = 1
    hit = np.zeros(len(directions), dtype=bool)
    for a, b, c in points_cam[triangles]:
        normal = np.cross(b - a, c - a)
        denominator = directions @ normal
        with np.errstate(divide="ignore", invalid="ignore"):
            depth = (a @ normal) / denominator  # planar depth: the ray is z = 1 per unit
        point = directions * depth[:, None]
        basis = np.array([b - a, c - a, normal]).T
        weights = np.linalg.solve(basis, (point - a).T).T
        s, t = weights[:, 0], weights[:, 1]
        inside = (s >= 0) & (t >= 0) & (s + t <= 1) & (depth >= near) & (depth <= far)
        hit |= inside & np.isfinite(depth)
    return hit.reshape(shape)


def test_clipped_projected_triangles_match_camera_rays():
    shape = (48, 64)
    k_matrix = camera.intrinsics(35.0, 36.0, 24.0, "AUTO", 0.0, 0.0, 64, 48)
    # A fan of triangles reaching from behind the near plane to beyond the far plane.
    points = RNG.uniform([-3, -2, 0.2], [3, 2, 9.0], size=(12, 3))
    triangles = np.array([[0, 1, 2], [3, 4, 5], [6, 7, 8], [9, 10, 11], [0, 5, 9]])
    points[0] = [0.1, 0.1, -1.0]  # behind the camera
    uv = raster.camera_triangles(
        points, triangles, k_matrix, ortho=False, clip_start=1.0, clip_end=6.0
    )
    offset = raster.first_sample_offset("BLACKMAN_HARRIS", 1.5)
    outline = raster.silhouette(uv, shape, offset)
    mask = np.zeros(shape, dtype=bool)
    if outline.window is not None:
        r0, r1, c0, c1 = outline.window
        mask[r0:r1, c0:c1] = outline.mask
    expected = ray_oracle(points, triangles, k_matrix, shape, 1.0, 6.0, offset)
    assert expected.sum() > 100
    np.testing.assert_array_equal(mask, expected)


def test_clip_triangles_cuts_at_both_planes():
    triangle = np.array([[[0.0, 0.0, 0.0], [1.0, 0.0, 10.0], [0.0, 1.0, 10.0]]])
    pieces = raster.clip_triangles(triangle, 2.0, 5.0)
    assert len(pieces) == 2  # a quadrilateral fanned into two triangles
    assert pieces[..., 2].min() == 2.0 and pieces[..., 2].max() == 5.0
    assert len(raster.clip_triangles(triangle, 11.0, 12.0)) == 0
    assert np.array_equal(raster.clip_triangles(triangle, -1.0, 10.0), triangle)


def test_orthographic_triangles_are_projected_affinely():
    k_matrix = camera.intrinsics(
        50.0, 36.0, 24.0, "AUTO", 0.0, 0.0, 64, 48, ortho=True, ortho_scale=6.4
    )  # 10 px per unit, principal point (32, 24)
    points = np.array([[0.0, 0.0, 3.0], [1.0, 0.0, 3.0], [0.0, 1.0, 3.0]])
    uv = raster.camera_triangles(
        points, [[0, 1, 2]], k_matrix, ortho=True, clip_start=1.0, clip_end=5.0
    )
    np.testing.assert_allclose(uv[0], [[32.0, 24.0], [42.0, 24.0], [32.0, 34.0]])
    assert (
        len(
            raster.camera_triangles(
                points, [[0, 1, 2]], k_matrix, ortho=True, clip_start=4.0, clip_end=5.0
            )
        )
        == 0
    )


def square(x0, y0, x1, y1):
    return np.array([[[x0, y0], [x1, y0], [x1, y1]], [[x0, y0], [x1, y1], [x0, y1]]])


def test_a_rectangle_half_outside_the_image_counts_both_halves():
    # Columns 40..59 (edges on pixel boundaries), half of them beyond the width of 50.
    outline = raster.silhouette(square(40.0, 10.0, 60.0, 20.0), (30, 50), 0.0005)
    assert outline.exact
    assert outline.window == (10, 20, 40, 50)
    assert outline.inside == 100 and outline.outside == 100.0
    assert outline.mask.all()


def test_a_silhouette_beyond_the_budget_is_counted_on_a_coarser_lattice():
    triangles = square(-500.0, -300.0, 550.0, 320.0)
    exact = raster.silhouette(triangles, (40, 50), 0.0005, budget=10**7)
    coarse = raster.silhouette(triangles, (40, 50), 0.0005, budget=2000)
    assert exact.exact and not coarse.exact
    assert exact.inside == coarse.inside == 2000
    assert exact.outside == 1050 * 620 - 2000
    assert coarse.outside == pytest.approx(exact.outside, rel=0.02)


def test_nothing_in_front_of_the_camera_has_no_silhouette():
    outline = raster.silhouette(np.zeros((0, 3, 2)), (10, 10))
    assert outline.window is None and outline.inside == 0 and outline.outside == 0.0
    away = raster.silhouette(square(100.0, 100.0, 110.0, 105.0), (10, 10))
    assert away.window is None and away.inside == 0 and away.outside == 50.0


def test_the_first_sample_offset_follows_cycles_filter_table():
    # Half an entry of a 1024-entry table: under a thousandth of a pixel at 1.5 px.
    default = raster.first_sample_offset("BLACKMAN_HARRIS", 1.5)
    assert 4e-4 < default < 6e-4
    assert raster.first_sample_offset("BLACKMAN_HARRIS", 3.0) == pytest.approx(
        2 * default, rel=0.01
    )
    # The box filter is rendered 1 px wide whatever its width.
    assert raster.first_sample_offset("BOX", 1.5) == raster.first_sample_offset("BOX", 3.0)
    assert raster.first_sample_offset("GAUSSIAN", 1.5) > 0
    assert raster.first_sample_offset("BLACKMAN_HARRIS", 0.01) < 1e-5
    with pytest.raises(ValueError):
        raster.first_sample_offset("MITCHELL", 1.5)


def ray_depths(points_cam, triangles, k_matrix, shape, offset):
    """Oracle: per triangle, the planar depth where each sample's ray meets it (nan: miss)."""
    height, width = shape
    rows, cols = np.mgrid[0:height, 0:width]
    pixels = np.stack([cols + 0.5 + offset, rows + 0.5 - offset, np.ones(rows.shape)], -1)
    directions = pixels.reshape(-1, 3) @ np.linalg.inv(k_matrix).T  # z = 1
    result = []
    for a, b, c in points_cam[triangles]:
        normal = np.cross(b - a, c - a)
        with np.errstate(divide="ignore", invalid="ignore"):
            depth = (a @ normal) / (directions @ normal)
        point = directions * depth[:, None]
        weights = np.linalg.solve(np.array([b - a, c - a, normal]).T, (point - a).T).T
        s, t = weights[:, 0], weights[:, 1]
        result.append(np.where((s >= 0) & (t >= 0) & (s + t <= 1), depth, np.nan))
    return np.array(result)


@pytest.mark.parametrize("per_pass", [1 << 18, 5])
def test_depth_fragments_give_each_covered_sample_its_ray_depth(monkeypatch, per_pass):
    monkeypatch.setattr(raster, "SPANS_PER_PASS", per_pass)
    shape = (30, 40)
    k_matrix = camera.intrinsics(35.0, 36.0, 24.0, "AUTO", 0.1, -0.05, 40, 30)
    points = RNG.uniform([-2, -1.5, 2.0], [2, 1.5, 8.0], size=(15, 3))
    triangles = np.arange(15).reshape(5, 3)
    offset = raster.first_sample_offset("BLACKMAN_HARRIS", 1.5)
    expected = ray_depths(points, triangles, k_matrix, shape, offset)
    found = np.full(expected.shape, np.nan)
    for tri, pixel, depth in raster.depth_fragments(
        points[triangles], k_matrix, ortho=False, shape=shape, offset=offset
    ):
        assert np.isnan(found[tri, pixel]).all()  # each sample once per triangle
        found[tri, pixel] = depth
    assert np.isfinite(expected).sum() > 200
    np.testing.assert_array_equal(np.isfinite(found), np.isfinite(expected))
    np.testing.assert_allclose(found[np.isfinite(found)], expected[np.isfinite(expected)], 1e-9)


def test_orthographic_depth_fragments_read_the_plane_along_z():
    k_matrix = camera.intrinsics(
        50.0, 36.0, 24.0, "AUTO", 0.0, 0.0, 64, 48, ortho=True, ortho_scale=6.4
    )  # 10 px per unit, principal point (32, 24)
    # A plane tilted in x: z = 3 + 0.5 x.
    points = np.array([[-1.0, -1.0, 2.5], [1.0, -1.0, 3.5], [0.0, 1.0, 3.0]])
    pixels, depths = [], []
    for _tri, pixel, depth in raster.depth_fragments(
        points[None], k_matrix, ortho=True, shape=(48, 64)
    ):
        pixels.append(pixel)
        depths.append(depth)
    pixel, depth = np.concatenate(pixels), np.concatenate(depths)
    x = ((pixel % 64) + 0.5 - 32.0) / 10.0
    assert len(pixel) > 100
    np.testing.assert_allclose(depth, 3.0 + 0.5 * x, atol=1e-12)
