"""geometry.silhouette: clipped box projections, candidate pixels, camera rays."""

import numpy as np
import pytest

from ground_truth.geometry import camera, silhouette
from ground_truth.geometry.boxes import box_corners

W, H = 64, 48


def persp_k():
    return camera.intrinsics(50.0, 36.0, 24.0, "AUTO", 0.0, 0.0, W, H)


def ortho_k(scale=6.4):
    return camera.intrinsics(
        50.0, 36.0, 24.0, "AUTO", 0.0, 0.0, W, H, ortho=True, ortho_scale=scale
    )


def cv_identity():
    # A camera frame equal to the world frame: OpenCV axes, looking along +z.
    return np.eye(4)


def test_clipped_box_points_keep_the_corners_inside_and_add_edge_crossings():
    corners = box_corners([-1.0, -1.0, 1.0], [1.0, 1.0, 5.0])
    points = silhouette.clipped_box_points(corners, 2.0, 4.0)
    assert len(points) == 8  # 4 edges along z, each crossing both planes
    assert sorted(set(points[:, 2].tolist())) == [2.0, 4.0]
    assert len(silhouette.clipped_box_points(corners, 0.5, 10.0)) == 8
    assert silhouette.clipped_box_points(corners, 6.0, 9.0).shape == (0, 3)
    # Cut by one plane: the 4 far corners and the 4 crossings.
    points = silhouette.clipped_box_points(corners, 3.0, 10.0)
    assert len(points) == 8 and points[:, 2].min() == 3.0 and points[:, 2].max() == 5.0


def test_pixel_window_of_an_orthographic_box_is_its_pixel_centres():
    k = ortho_k()  # 10 pixels per unit, centre (32, 24)
    corners = box_corners([-1.0, -1.0, 4.0], [1.0, 1.0, 6.0])
    window = silhouette.pixel_window(
        k, cv_identity(), corners, (H, W), ortho=True, clip_start=0.1, clip_end=100.0, margin=0
    )
    assert window == (14, 34, 22, 42)
    grown = silhouette.pixel_window(
        k, cv_identity(), corners, (H, W), ortho=True, clip_start=0.1, clip_end=100.0
    )
    assert grown == (13, 35, 21, 43)


def test_pixel_window_is_none_outside_the_clip_range_or_the_image():
    k = persp_k()
    behind = box_corners([-1.0, -1.0, -6.0], [1.0, 1.0, -4.0])
    far = box_corners([-1.0, -1.0, 200.0], [1.0, 1.0, 210.0])
    aside = box_corners([100.0, -1.0, 4.0], [102.0, 1.0, 6.0])
    for corners in (behind, far, aside):
        assert (
            silhouette.pixel_window(
                k, cv_identity(), corners, (H, W), ortho=False, clip_start=0.1, clip_end=100.0
            )
            is None
        )


def test_a_box_through_the_camera_plane_gets_the_window_of_its_part_in_front():
    k = persp_k()
    corners = box_corners([0.5, -0.2, -3.0], [1.5, 0.2, 10.0])
    window = silhouette.pixel_window(
        k, cv_identity(), corners, (H, W), ortho=False, clip_start=1.0, clip_end=100.0, margin=0
    )
    # The part in front of the near plane starts at z = 1: x from 0.5 / 1 = 0.5 (u far right).
    fx = k[0, 0]
    assert window is not None
    row0, row1, col0, col1 = window
    assert col0 == int(np.ceil(32 + fx * 0.5 / 10.0 - 0.5))
    assert col1 == W
    assert (row0, row1) != (0, H)


def test_candidate_pixels_keep_the_projected_hull():
    k = ortho_k()
    # A box turned 45 degrees about the view axis: a diamond on screen.
    c, s = np.cos(np.pi / 4), np.sin(np.pi / 4)
    rotation = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    corners = box_corners([-1.0, -1.0, 4.0], [1.0, 1.0, 6.0]) @ rotation.T
    rows, cols = silhouette.candidate_pixels(
        k, cv_identity(), corners, (H, W), ortho=True, clip_start=0.1, clip_end=100.0, margin=0
    )
    u, v = cols + 0.5 - 32.0, rows + 0.5 - 24.0
    # Every pixel centre inside the diamond |u| + |v| <= 10 * sqrt(2), none outside.
    assert (np.abs(u) + np.abs(v) <= 10 * np.sqrt(2) + 1e-9).all()
    all_rows, all_cols = np.mgrid[0:H, 0:W]
    inside = np.abs(all_cols + 0.5 - 32) + np.abs(all_rows + 0.5 - 24) <= 10 * np.sqrt(2) - 1e-9
    assert len(rows) == inside.sum()
    window = silhouette.pixel_window(
        k, cv_identity(), corners, (H, W), ortho=True, clip_start=0.1, clip_end=100.0, margin=0
    )
    assert len(rows) < 0.6 * (window[1] - window[0]) * (window[3] - window[2])


def test_candidate_pixels_of_a_box_behind_the_camera_are_empty():
    rows, cols = silhouette.candidate_pixels(
        persp_k(),
        cv_identity(),
        box_corners([-1.0, -1.0, -6.0], [1.0, 1.0, -4.0]),
        (H, W),
        ortho=False,
        clip_start=0.1,
        clip_end=100.0,
    )
    assert len(rows) == len(cols) == 0


@pytest.mark.parametrize("ortho", [False, True])
def test_pixel_rays_run_through_pixel_centres_between_the_clip_planes(ortho):
    k = ortho_k() if ortho else persp_k()
    # A camera 5 units above the origin looking down (Blender default orientation).
    camera_world = np.eye(4)
    camera_world[:3, 3] = [0.3, -0.2, 5.0]
    w2c = camera.world_to_camera_cv(camera_world)
    rows = np.array([0, 10, 23, 47])
    cols = np.array([0, 40, 31, 63])
    origins, directions, lengths = silhouette.pixel_rays(
        k, w2c, rows, cols, ortho=ortho, clip_start=0.5, clip_end=20.0
    )
    np.testing.assert_allclose(np.linalg.norm(directions, axis=1), 1.0)
    ends = origins + directions * lengths[:, None]
    for points, depth in ((origins, 0.5), (ends, 20.0)):
        uv = camera.project_points(k, w2c, points, ortho=ortho)
        np.testing.assert_allclose(uv, np.column_stack([cols + 0.5, rows + 0.5]), atol=1e-9)
        cam = points @ w2c[:3, :3].T + w2c[:3, 3]
        np.testing.assert_allclose(cam[:, 2], depth, atol=1e-9)
    if ortho:
        np.testing.assert_allclose(directions, [[0.0, 0.0, -1.0]] * 4, atol=1e-12)
    else:
        # Perspective rays pass through the camera centre.
        offset = origins - camera_world[:3, 3]
        along = np.sum(offset * directions, axis=1)
        np.testing.assert_allclose(offset, directions * along[:, None], atol=1e-9)
        assert (along > 0).all()


def test_convex_hull_and_point_test():
    square = np.array([[0, 0], [2, 0], [2, 2], [0, 2], [1, 1], [1, 0]], dtype=float)
    hull = silhouette.convex_hull(square)
    assert len(hull) == 4
    points = np.array([[1, 1], [2.5, 1], [3.5, 1], [-0.9, -0.9]])
    np.testing.assert_array_equal(
        silhouette.near_convex_polygon(points, hull, 1.0), [True, True, False, True]
    )
    np.testing.assert_array_equal(
        silhouette.near_convex_polygon(points, hull, 0.0), [True, False, False, False]
    )
    assert len(silhouette.convex_hull([[0, 0], [1, 1], [2, 2]])) < 3


def test_visible_fraction_is_clamped():
    assert silhouette.visible_fraction(200, 400) == 0.5
    assert silhouette.visible_fraction(400, 400) == 1.0
    assert silhouette.visible_fraction(401, 400) == 1.0
    assert silhouette.visible_fraction(5, 0) == 1.0
    assert silhouette.visible_fraction(0, 400) == 0.0
    assert silhouette.visible_fraction(0, 0) == 0.0
