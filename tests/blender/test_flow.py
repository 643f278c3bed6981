"""Optical flow: forward and backward flow in pixels, from Cycles' Vector pass."""

import json
import os

import bpy
import numpy as np
import pytest

from ground_truth import compat
from ground_truth.codecs import exr, png
from ground_truth.dataset.reader import load_frame
from ground_truth.labels.passes import FLOW_CHANNELS
from ground_truth.render import pipeline

from helpers import add_box, add_camera, add_plane, label

FRAME = 5


def keyframes(ob, poses):
    """``poses``: frame -> (location, rotation_euler); keyed at exactly those frames, so
    the pose at each of them is exact whatever the interpolation."""
    for frame, (location, rotation) in poses.items():
        ob.location = location
        ob.rotation_euler = rotation
        ob.keyframe_insert("location", frame=frame)
        ob.keyframe_insert("rotation_euler", frame=frame)


def read_flow(folder, frame=FRAME):
    channels = exr.read_exr(folder / "flow" / f"{frame:06d}.exr")
    assert sorted(channels) == sorted(FLOW_CHANNELS)
    assert all(c.dtype == np.float32 for c in channels.values())
    return channels


def matrices(scene, ob, frame):
    scene.frame_set(frame)
    return np.array(ob.matrix_world, dtype=np.float64)


def camera_cv(matrix_world):
    """World-to-camera (OpenCV axes) of a camera with this world matrix."""
    return np.diag([1.0, -1.0, -1.0, 1.0]) @ np.linalg.inv(matrix_world)


def predicted_flow(meta, depth, w2c_now, w2c_then, moved=None):
    """Where each pixel's surface point goes by projection: back-project with the depth,
    move it (``moved``: world 4x4 or None), project with the other camera pose."""
    K = np.array(meta["camera"]["K"])  # noqa: N806
    height, width = depth.shape
    v, u = np.indices((height, width), dtype=np.float64)
    u, v = u + 0.5, v + 0.5
    z = np.where(np.isfinite(depth), depth, 1.0)
    points = np.stack([(u - K[0, 2]) * z / K[0, 0], (v - K[1, 2]) * z / K[1, 1], z, 1 + 0 * z])
    world = np.linalg.inv(w2c_now) @ points.reshape(4, -1)
    if moved is not None:
        world = moved @ world
    seen = (K @ (w2c_then @ world)[:3]).reshape(3, height, width)
    return np.stack([seen[0] / seen[2] - u, seen[1] / seen[2] - v], axis=-1)


@pytest.fixture
def flow_scene(scene, out_dir):
    scene.cycles.filter_width = 0.01  # one sample at each pixel's centre
    scene.ground_truth.output_flow = True
    scene.frame_current = FRAME
    return scene


def test_a_panning_camera_gives_the_flow_projection_predicts(flow_scene, out_dir):
    scene = flow_scene
    camera = add_camera(scene)
    keyframes(
        camera,
        {
            FRAME - 1: ((-0.2, 0.1, 10.0), (0.3, 0.0, 0.05)),
            FRAME: ((0.0, 0.0, 10.0), (0.3, 0.0, 0.0)),
            FRAME + 1: ((0.3, 0.2, 10.2), (0.32, 0.02, -0.06)),  # pans, tilts and rolls
        },
    )
    label([add_plane(scene, "Floor")], "Floor")

    assert bpy.ops.ground_truth.render() == {"FINISHED"}

    flow = read_flow(out_dir)
    depth = exr.read_exr(out_dir / "depth" / f"{FRAME:06d}.exr")["Y"]
    meta = json.loads((out_dir / "meta" / f"{FRAME:06d}.json").read_text())
    poses = {f: camera_cv(matrices(scene, camera, f)) for f in (FRAME - 1, FRAME, FRAME + 1)}
    forward = predicted_flow(meta, depth, poses[FRAME], poses[FRAME + 1])
    backward = predicted_flow(meta, depth, poses[FRAME], poses[FRAME - 1])
    assert np.isfinite(depth).all()
    assert np.abs(forward).max() > 2  # a real motion, several pixels
    np.testing.assert_allclose(flow["forward.X"], forward[..., 0], atol=0.01)
    np.testing.assert_allclose(flow["forward.Y"], forward[..., 1], atol=0.01)
    np.testing.assert_allclose(flow["backward.X"], backward[..., 0], atol=0.01)
    np.testing.assert_allclose(flow["backward.Y"], backward[..., 1], atol=0.01)


def test_a_moving_object_gives_the_flow_projection_predicts(flow_scene, out_dir):
    scene = flow_scene
    camera = add_camera(scene, location=(0.0, -3.0, 9.0), rotation=(0.3, 0.0, 0.0))
    label([add_plane(scene, "Floor")], "Floor")
    box = add_box(scene, "Box", (0.0, 0.0, 0.0), (3.0, 3.0, 2.0))
    label([box], "Box")
    keyframes(
        box,
        {
            FRAME - 1: ((-0.6, 0.3, 1.0), (0.0, 0.0, -0.1)),
            FRAME: ((0.0, 0.0, 1.0), (0.0, 0.0, 0.0)),
            FRAME + 1: ((0.8, 0.5, 1.3), (0.1, 0.0, 0.2)),
        },
    )

    assert bpy.ops.ground_truth.render() == {"FINISHED"}

    flow = read_flow(out_dir)
    depth = exr.read_exr(out_dir / "depth" / f"{FRAME:06d}.exr")["Y"]
    instance = png.read_png(out_dir / "instance" / f"{FRAME:06d}.png")
    meta = json.loads((out_dir / "meta" / f"{FRAME:06d}.json").read_text())
    w2c = camera_cv(matrices(scene, camera, FRAME))
    pose = {f: matrices(scene, box, f) for f in (FRAME - 1, FRAME, FRAME + 1)}
    on_box = instance == box.pass_index
    assert on_box.sum() > 50
    for direction, other in (("forward", FRAME + 1), ("backward", FRAME - 1)):
        moved = pose[other] @ np.linalg.inv(pose[FRAME])
        expected = predicted_flow(meta, depth, w2c, w2c, moved)
        np.testing.assert_allclose(
            flow[f"{direction}.X"][on_box], expected[on_box][:, 0], atol=0.01
        )
        np.testing.assert_allclose(
            flow[f"{direction}.Y"][on_box], expected[on_box][:, 1], atol=0.01
        )
        # The floor stays where it is.
        np.testing.assert_allclose(flow[f"{direction}.X"][~on_box], 0, atol=1e-3)
        np.testing.assert_allclose(flow[f"{direction}.Y"][~on_box], 0, atol=1e-3)


# A camera 10 units above the floor looking straight down: 50 mm lens on a 36 mm
# sensor, 32 px wide, so a point at depth z moves FOCAL_PX / z pixels per unit.
FOCAL_PX = 32 * 50 / 36


def test_warping_the_next_frame_back_with_the_flow_gives_this_frame(flow_scene, out_dir):
    # The box's top (depth 8) moves 3 px right and 2 px down in the image from 5 to 6.
    scene = flow_scene
    add_camera(scene, location=(0.0, 0.0, 10.0))
    label([add_plane(scene, "Floor")], "Floor")
    box = add_box(scene, "Box", (0.0, 0.0, 0.0), (3.0, 2.0, 4.0))
    label([box], "Box")
    step = np.array([3.0, -2.0, 0.0]) * 8.0 / FOCAL_PX
    zero = (0.0, 0.0, 0.0)
    keyframes(box, {f: (tuple(step * (f - 5)), zero) for f in (4, 5, 6, 7)})
    scene.frame_start, scene.frame_end = 5, 6

    assert bpy.ops.ground_truth.render(animation=True) == {"FINISHED"}

    flow = read_flow(out_dir, 5)
    now = png.read_png(out_dir / "instance" / "000005.png")
    then = png.read_png(out_dir / "instance" / "000006.png")
    top = np.isclose(exr.read_exr(out_dir / "depth" / "000005.exr")["Y"], 8.0)
    assert top.sum() > 20
    np.testing.assert_allclose(flow["forward.X"][top], 3.0, atol=0.01)
    np.testing.assert_allclose(flow["forward.Y"][top], 2.0, atol=0.01)
    rows, columns = np.nonzero(flow["forward.valid"] > 0)
    target_rows = rows + np.rint(flow["forward.Y"][rows, columns]).astype(int)
    target_columns = columns + np.rint(flow["forward.X"][rows, columns]).astype(int)
    warped = then[target_rows, target_columns]
    # Every pixel of the box's top lands on the box in the next frame; the floor it
    # covers there is occluded (the flow does not say so), the floor does not move.
    assert (warped[top[rows, columns]] == box.pass_index).all()
    floor = now[rows, columns] != box.pass_index
    assert (np.abs(flow["forward.X"][rows, columns][floor]) < 1e-3).all()
    backward = read_flow(out_dir, 6)
    top_then = np.isclose(exr.read_exr(out_dir / "depth" / "000006.exr")["Y"], 8.0)
    np.testing.assert_allclose(backward["backward.X"][top_then], -3.0, atol=0.01)
    np.testing.assert_allclose(backward["backward.Y"][top_then], -2.0, atol=0.01)


def test_validity_background_and_leaving_the_image(flow_scene, out_dir):
    scene = flow_scene
    add_camera(scene, location=(0.0, 0.0, 10.0))
    square = add_plane(scene, "Square", half=2.0)  # nothing behind it
    label([square], "Square")
    step = 9.0 * 10.0 / FOCAL_PX  # 9 px to the right per frame
    zero = (0.0, 0.0, 0.0)
    keyframes(square, {f: ((step * (f - FRAME), 0.0, 0.0), zero) for f in (4, 5, 6)})

    assert bpy.ops.ground_truth.render() == {"FINISHED"}

    flow = read_flow(out_dir)
    instance = png.read_png(out_dir / "instance" / f"{FRAME:06d}.png")
    on_square = instance > 0
    assert 100 < on_square.sum() < 24 * 32
    for name in FLOW_CHANNELS:
        assert (flow[name][~on_square] == 0).all(), name
    np.testing.assert_allclose(flow["forward.X"][on_square], 9.0, atol=0.01)
    columns = np.nonzero(on_square)[1]
    # Those 9 px or less from the right edge leave the 32-px image at the next frame,
    # those 9 px or less from the left edge came from outside it.
    np.testing.assert_array_equal(flow["forward.valid"][on_square], columns + 0.5 + 9.0 < 32)
    np.testing.assert_array_equal(flow["backward.valid"][on_square], columns + 0.5 - 9.0 >= 0)
    assert (flow["forward.valid"][on_square] == 0).any()
    assert (flow["backward.valid"][on_square] == 0).any()


def test_motion_blur_is_off_for_the_render_only_and_said(flow_scene, out_dir):
    scene = flow_scene
    scene.render.use_motion_blur = True
    camera = add_camera(scene)
    keyframes(camera, {f: ((0.1 * (f - FRAME), 0.0, 10.0), (0.0, 0.0, 0.0)) for f in (4, 5, 6)})
    label([add_plane(scene, "Floor")], "Floor")

    report = pipeline.render_ground_truth(scene, [FRAME])
    assert scene.render.use_motion_blur  # restored
    assert any("Motion blur is off" in w for w in report.warnings)
    flow = read_flow(out_dir)
    fx = json.loads((out_dir / "meta" / f"{FRAME:06d}.json").read_text())["camera"]["K"][0][0]
    np.testing.assert_allclose(flow["forward.X"], -0.1 * fx / 10.0, atol=0.01)  # not zeros


def test_orthographic_cameras_follow_what_this_blender_gets_right(flow_scene, out_dir):
    scene = flow_scene
    camera = add_camera(scene, ortho_scale=32.0)
    keyframes(camera, {f: ((0.5 * (f - FRAME), 0.0, 10.0), (0.0, 0.0, 0.0)) for f in (4, 5, 6)})
    label([add_plane(scene, "Floor")], "Floor")
    if not compat.ORTHO_CAMERA_VECTOR_PASS_OK:
        with pytest.raises(RuntimeError, match="orthographic"):
            bpy.ops.ground_truth.render()
        assert not os.path.exists(out_dir / "flow")
        return
    assert bpy.ops.ground_truth.render() == {"FINISHED"}
    flow = read_flow(out_dir)
    np.testing.assert_allclose(flow["forward.X"], -0.5, atol=0.01)
    np.testing.assert_allclose(flow["backward.X"], 0.5, atol=0.01)


def test_flow_is_off_by_default_and_adds_a_preview_panel_and_reader_keys(scene, out_dir):
    add_camera(scene, location=(0.0, 0.0, 5.0))
    label([add_plane(scene)], "Ground")
    assert bpy.ops.ground_truth.render() == {"FINISHED"}
    assert not os.path.exists(out_dir / "flow")
    assert not scene.view_layers[0].use_pass_vector
    narrow = png.read_png(out_dir / "preview" / "000001.png")

    scene.ground_truth.output_flow = True
    assert bpy.ops.ground_truth.render() == {"FINISHED"}
    assert not scene.view_layers[0].use_pass_vector  # switched on for the render only
    wide = png.read_png(out_dir / "preview" / "000001.png")
    assert wide.shape[1] == narrow.shape[1] + 32 + 4
    assert not (out_dir / ".raw").exists()  # the run's raw passes are gone
    frame = load_frame(out_dir, 1)
    assert frame["flow"].shape == (24, 32, 2) and frame["flow_valid"].all()
    np.testing.assert_allclose(frame["flow"], 0, atol=1e-4)  # nothing moves

    assert bpy.ops.ground_truth.setup_compositor() == {"FINISHED"}
    assert scene.view_layers[0].use_pass_vector
    assert bpy.ops.ground_truth.remove_compositor() == {"FINISHED"}
    assert not scene.view_layers[0].use_pass_vector
