"""geometry.camera: hand-computed intrinsics and reference values from Blender.

The reference values in BLENDER_REFERENCE were computed with Blender 5.0 (bpy):
``Object.calc_matrix_camera`` for the camera settings, mapped from NDC to pixels.
CYCLES_BOXES holds the tight pixel boxes of a cube rendered with Cycles (box filter,
mask = pixels more than half covered) for the camera and cube matrices below.
"""

import numpy as np
import pytest

from ground_truth.geometry import camera
from ground_truth.geometry.boxes import box_corners
from ground_truth.geometry.transforms import transform_points


def k_of(**kw):
    args = {
        "lens_mm": 50.0,
        "sensor_width": 36.0,
        "sensor_height": 24.0,
        "sensor_fit": "AUTO",
        "shift_x": 0.0,
        "shift_y": 0.0,
        "res_x": 1920,
        "res_y": 1080,
        "pixel_aspect_x": 1.0,
        "pixel_aspect_y": 1.0,
    }
    args.update(kw)
    return camera.intrinsics(**args)


def test_default_camera():
    k = k_of()
    fx = 50.0 / 36.0 * 1920
    assert np.allclose(k, [[fx, 0, 960], [0, fx, 540], [0, 0, 1]])
    assert fx == pytest.approx(2666.6667, abs=1e-3)


def test_auto_fit_portrait_uses_sensor_width_for_height():
    k = k_of(res_x=1080, res_y=1920)
    f = 50.0 / 36.0 * 1920
    assert np.allclose(k, [[f, 0, 540], [0, f, 960], [0, 0, 1]])


def test_vertical_and_horizontal_fit():
    k = k_of(sensor_fit="VERTICAL")
    assert k[0, 0] == pytest.approx(50.0 / 24.0 * 1080) == k[1, 1]
    k = k_of(sensor_fit="HORIZONTAL", res_x=1080, res_y=1920)
    assert k[0, 0] == pytest.approx(50.0 / 36.0 * 1080) == k[1, 1]
    k = k_of(sensor_fit="VERTICAL", res_x=1080, res_y=1920)
    assert k[1, 1] == pytest.approx(50.0 / 24.0 * 1920)


def test_shift_is_a_fraction_of_the_fitted_side():
    k = k_of(shift_x=0.1, shift_y=0.1)
    assert k[0, 2] == pytest.approx(960 - 192)  # view moves right: principal point left
    assert k[1, 2] == pytest.approx(540 + 192)  # view moves up: principal point down
    k = k_of(res_x=1080, res_y=1920, shift_x=0.1, shift_y=-0.05)  # vertical fit
    assert k[0, 2] == pytest.approx(540 - 192)
    assert k[1, 2] == pytest.approx(960 - 96)
    k = k_of(sensor_fit="HORIZONTAL", res_x=1080, res_y=1920, shift_y=0.1)
    assert k[1, 2] == pytest.approx(960 + 108)


def test_non_square_pixels():
    # Wide pixels (2:1): the frame is 3840 x 1080 "square units" -> horizontal fit.
    k = k_of(pixel_aspect_x=2.0, pixel_aspect_y=1.0)
    fx = 50.0 / 36.0 * 1920
    assert k[0, 0] == pytest.approx(fx)
    assert k[1, 1] == pytest.approx(2 * fx)
    # Tall pixels (1:2): the frame is 1920 x 2160 -> vertical fit, sensor width on height.
    k = k_of(pixel_aspect_x=1.0, pixel_aspect_y=2.0, shift_y=0.1)
    assert k[1, 1] == pytest.approx(50.0 / 36.0 * 1080)
    assert k[0, 0] == pytest.approx(2 * k[1, 1])
    assert k[1, 2] == pytest.approx(540 + 0.1 * 1080)


def test_ortho():
    k = k_of(ortho=True, ortho_scale=10.0)
    assert np.allclose(k, [[192, 0, 960], [0, 192, 540], [0, 0, 1]])
    uv = camera.project(k, [[1.0, 0.5, 3.0], [1.0, 0.5, 30.0]], ortho=True)
    assert np.allclose(uv, [[1152, 636], [1152, 636]])
    k = k_of(ortho=True, ortho_scale=10.0, sensor_fit="VERTICAL", shift_x=0.1)
    assert k[1, 1] == pytest.approx(108) == k[0, 0]
    assert k[0, 2] == pytest.approx(960 - 108)


def test_invalid_arguments():
    with pytest.raises(ValueError):
        k_of(sensor_fit="DIAGONAL")
    with pytest.raises(ValueError):
        k_of(ortho=True)
    with pytest.raises(ValueError):
        k_of(res_x=0)


BLENDER_POINTS = np.array([[0.3, -0.2, -4.0], [-1.0, 0.7, -9.0], [2.0, 1.5, -6.0]])
BLENDER_REFERENCE = [
    (
        dict(lens_mm=35.0, sensor_fit="VERTICAL", shift_x=0.1, shift_y=-0.2, res_x=640, res_y=480),
        False,
        [[324.5, 179.0], [194.222, 89.556], [505.333, -31.0]],
    ),
    (
        dict(
            lens_mm=28.0,
            sensor_width=32.0,
            sensor_height=18.0,
            shift_x=-0.15,
            shift_y=0.05,
            res_x=480,
            res_y=640,
        ),
        False,
        [[378.0, 380.0], [273.778, 308.444], [522.667, 212.0]],
    ),
    (
        dict(shift_y=0.25, res_x=800, res_y=600, pixel_aspect_y=1.6),
        False,
        [[500.0, 491.667], [251.852, 385.185], [844.444, 241.667]],
    ),
    (
        dict(
            lens_mm=85.0,
            sensor_fit="HORIZONTAL",
            shift_x=0.3,
            shift_y=0.1,
            res_x=300,
            res_y=500,
            pixel_aspect_x=2.0,
        ),
        False,
        [[113.125, 380.833], [-18.704, 199.815], [296.111, -44.167]],
    ),
    (
        dict(ortho_scale=7.0, shift_x=0.2, shift_y=-0.1, res_x=640, res_y=360),
        True,
        [[219.429, 134.286], [100.571, 52.0], [374.857, -21.143]],
    ),
    (
        dict(
            ortho_scale=3.0,
            sensor_fit="VERTICAL",
            shift_x=-0.05,
            shift_y=0.3,
            res_x=400,
            res_y=300,
            pixel_aspect_x=1.5,
        ),
        True,
        [[230.0, 260.0], [143.333, 170.0], [343.333, 90.0]],
    ),
]


@pytest.mark.parametrize("settings,ortho,expected", BLENDER_REFERENCE)
def test_matches_blender_projection(settings, ortho, expected):
    k = k_of(ortho=ortho, **settings)
    points_cv = BLENDER_POINTS * [1, -1, -1]
    assert np.allclose(camera.project(k, points_cv, ortho=ortho), expected, atol=2e-3)


def test_opencv_flip_and_world_to_camera():
    flip = camera.opencv_from_blender_camera()
    assert np.array_equal(flip, np.diag([1.0, -1.0, -1.0, 1.0]))
    # Camera at the origin looking down -z (Blender's identity): (1, 1, -5) is right, up.
    w2c = camera.world_to_camera_cv(np.eye(4))
    assert np.allclose(transform_points(w2c, [[1.0, 1.0, -5.0]]), [[1.0, -1.0, 5.0]])
    k = k_of()
    u, v = camera.project_points(k, w2c, [[1.0, 1.0, -5.0]])[0]
    assert u > 960 and v < 540


def test_world_to_camera_removes_scale_and_inverts():
    rotation = np.array([[1.0, 0, 0], [0, 0, -1], [0, 1, 0]])  # 90 deg about x: looks at +y
    pose = np.eye(4)
    pose[:3, :3] = rotation
    pose[:3, 3] = [0.0, -10.0, 0.0]
    scaled = pose.copy()
    scaled[:3, :3] = rotation * [3.0, 0.5, 2.0]
    for matrix in (pose, scaled):
        w2c = camera.world_to_camera_cv(matrix)
        assert np.allclose(w2c[3], [0, 0, 0, 1])
        assert np.allclose(w2c[:3, :3] @ w2c[:3, :3].T, np.eye(3))
        p = transform_points(w2c, [[0.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
        assert np.allclose(p, [[0, 0, 10], [0, -1, 10]])  # world up is image up (-y)
    assert np.allclose(camera.normalized_matrix(scaled), pose)


def test_points_behind_camera_are_nan():
    k = k_of()
    uv = camera.project(k, [[0.0, 0.0, -1.0], [0.0, 0.0, 0.0], [0.0, 0.0, 2.0]])
    assert np.isnan(uv[:2]).all()
    assert np.allclose(uv[2], [960, 540])


CAMERA_MATRIX = np.array(
    [
        [1.2896530628204346, -0.1733483076095581, 1.0217633247375488, 6.0],
        [1.5286579132080078, 0.14624540507793427, -0.8620113134384155, -5.0],
        [0.0, 0.44560369849205017, 0.6803941130638123, 4.0],
        [0.0, 0.0, 0.0, 1.0],
    ]
)  # rotation (1.1, 0, 0.87), scale (2, 0.5, 1.5): scale must not matter
CUBE_MATRIX = np.array(
    [
        [0.5996770262718201, -0.6944487690925598, 0.2344956398010254, 0.30000001192092896],
        [0.5051009654998779, 0.9805983901023865, -0.10797624289989471, -0.20000000298023224],
        [-0.15893547236919403, 0.4961526393890381, 0.541620671749115, 0.10000000149011612],
        [0.0, 0.0, 0.0, 1.0],
    ]
)
# (camera settings, ortho, resolution, Cycles mask box as [x0, y0, x1, y1] pixel edges)
CYCLES_BOXES = [
    (
        dict(lens_mm=35.0, sensor_height=20.0, sensor_fit="VERTICAL", shift_x=0.15, shift_y=-0.1),
        False,
        (160, 120, 1.0, 1.0),
        [47, 31, 76, 70],
    ),
    (
        dict(lens_mm=40.0, sensor_width=30.0, shift_x=-0.1, shift_y=0.2),
        False,
        (120, 160, 2.0, 1.0),
        [60, 103, 83, 160],
    ),
    (
        dict(sensor_fit="HORIZONTAL", shift_x=0.05, shift_y=0.12),
        False,
        (100, 150, 1.0, 1.7),
        [35, 75, 54, 91],
    ),
    (
        dict(ortho_scale=4.0, shift_x=0.1, shift_y=0.15),
        True,
        (150, 100, 1.0, 1.5),
        [38, 48, 82, 87],
    ),
    (
        dict(ortho_scale=5.0, sensor_fit="VERTICAL", shift_x=-0.1, shift_y=0.05),
        True,
        (160, 90, 1.3, 1.0),
        [79, 37, 95, 65],
    ),
]


@pytest.mark.parametrize("settings,ortho,resolution,drawn", CYCLES_BOXES)
def test_cube_corners_land_where_cycles_drew_them(settings, ortho, resolution, drawn):
    res_x, res_y, aspect_x, aspect_y = resolution
    k = k_of(
        ortho=ortho,
        res_x=res_x,
        res_y=res_y,
        pixel_aspect_x=aspect_x,
        pixel_aspect_y=aspect_y,
        **settings,
    )
    w2c = camera.world_to_camera_cv(CAMERA_MATRIX)
    corners = transform_points(CUBE_MATRIX, box_corners([-0.5] * 3, [0.5] * 3))
    uv = camera.project_points(k, w2c, corners, ortho=ortho)
    predicted = [uv[:, 0].min(), uv[:, 1].min(), uv[:, 0].max(), uv[:, 1].max()]
    limits = [0, 0, res_x, res_y]
    for value, edge, limit in zip(predicted, drawn, limits, strict=True):
        if edge == limit and abs(value - limit) > 1:  # clipped by the image border
            continue
        assert abs(value - edge) < 1.0
