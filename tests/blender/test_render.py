"""Render Ground Truth on small scenes whose truth is known from geometry."""

import json
import os

import bpy
import numpy as np
import OpenEXR
import pytest
from PIL import Image

from ground_truth.codecs import exr, png

from helpers import add_box, add_camera, add_plane, label


def read_outputs(folder, frame):
    stem = f"{frame:06d}"
    depth = exr.read_exr(folder / "depth" / f"{stem}.exr")["Y"]
    klass = png.read_png(folder / "class" / f"{stem}.png")
    instance = png.read_png(folder / "instance" / f"{stem}.png")
    return depth, klass, instance


def test_plane_facing_camera_reads_its_distance_everywhere(scene, out_dir):
    add_camera(scene, location=(0.0, 0.0, 3.75))
    label([add_plane(scene)], "Ground")
    scene.render.resolution_x, scene.render.resolution_y = 20, 12

    assert bpy.ops.ground_truth.render() == {"FINISHED"}

    depth, klass, instance = read_outputs(out_dir, scene.frame_current)
    assert depth.dtype == np.float32 and depth.shape == (12, 20)
    np.testing.assert_array_equal(depth, np.float32(3.75))
    assert klass.dtype == np.uint16 and (klass == 1).all()
    assert instance.dtype == np.uint16 and (instance == 1).all()


def test_depth_is_in_metres_with_the_unit_scale_and_inf_on_background(scene, out_dir):
    scene.unit_settings.scale_length = 0.01  # one Blender unit is a centimetre
    add_camera(scene, location=(0.0, 0.0, 200.0), ortho_scale=32.0)
    label([add_box(scene, "Box", (0.0, 0.0, 50.0), (8.0, 8.0, 100.0))], "Box")

    assert bpy.ops.ground_truth.render() == {"FINISHED"}

    depth, _klass, instance = read_outputs(out_dir, scene.frame_current)
    inside = instance == 1
    assert inside.sum() == 64
    np.testing.assert_allclose(depth[inside], 1.0, rtol=1e-6)  # 100 cm to the box top
    assert np.isposinf(depth[~inside]).all()
    assert (instance[~inside] == 0).all()


def _boxes_scene(scene, samples, filter_width):
    # Orthographic camera looking straight down: one pixel is one unit square,
    # column i covers x in [-16 + i, -15 + i], row r covers y in [11 - r, 12 - r].
    scene.cycles.samples = samples
    scene.cycles.filter_width = filter_width
    add_camera(scene, location=(0.0, 0.0, 10.0), ortho_scale=32.0)
    floor = add_plane(scene, "Floor")
    a = add_box(scene, "A", (-7.0, 5.0, 1.0), (6.0, 6.0, 2.0))
    b = add_box(scene, "B", (5.5, -6.0, 1.5), (7.0, 6.0, 3.0))
    c = add_box(scene, "C", (-1.0, -2.0, 0.5), (4.0, 2.0, 1.0))
    label([a, c], "Crate")
    label([b], "Barrel")
    label([floor], "Floor")
    return {ob.name: ob.pass_index for ob in (floor, a, b, c)}


def test_boxes_land_exactly_where_projection_puts_them(scene, out_dir):
    ids = _boxes_scene(scene, samples=1, filter_width=0.01)
    assert bpy.ops.ground_truth.render() == {"FINISHED"}
    depth, klass, instance = read_outputs(out_dir, scene.frame_current)

    expected = np.full((24, 32), ids["Floor"], dtype=np.uint16)
    expected[12 - 8 : 12 - 2, -10 + 16 : -4 + 16] = ids["A"]
    expected[12 - -3 : 12 - -9, 2 + 16 : 9 + 16] = ids["B"]
    expected[12 - -1 : 12 - -3, -3 + 16 : 1 + 16] = ids["C"]
    np.testing.assert_array_equal(instance, expected)

    class_ids = {c.name: c.id for c in scene.ground_truth.classes}
    object_class = {"Floor": "Floor", "A": "Crate", "B": "Barrel", "C": "Crate"}
    for name, class_name in object_class.items():
        assert (klass[instance == ids[name]] == class_ids[class_name]).all()
    heights = {"Floor": 0.0, "A": 2.0, "B": 3.0, "C": 1.0}
    for name, height in heights.items():
        np.testing.assert_allclose(depth[instance == ids[name]], 10.0 - height, rtol=1e-6)


def test_edge_pixels_carry_one_surface_never_a_blend(scene, out_dir):
    ids = _boxes_scene(scene, samples=4, filter_width=1.5)
    for ob in bpy.data.objects:
        if ob.type == "MESH":
            ob.rotation_euler.z = 0.3  # edges cross pixels diagonally
    assert bpy.ops.ground_truth.render() == {"FINISHED"}
    depth, _klass, instance = read_outputs(out_dir, scene.frame_current)

    assert set(np.unique(instance)) <= set(ids.values())
    heights = {ids["Floor"]: 0.0, ids["A"]: 2.0, ids["B"]: 3.0, ids["C"]: 1.0}
    # Depth and ID come from the same sample: every pixel's depth is its own surface's.
    expected_depth = np.vectorize(lambda i: 10.0 - heights[i])(instance)
    np.testing.assert_allclose(depth, expected_depth, rtol=1e-6)


def test_files_have_the_documented_formats(scene, out_dir):
    add_camera(scene, location=(0.0, 0.0, 5.0))
    label([add_box(scene, "Box", (0.0, 0.0, 0.0), (2.0, 2.0, 2.0))], "Box")
    scene.frame_current = 7

    assert bpy.ops.ground_truth.render() == {"FINISHED"}

    with Image.open(out_dir / "rgb" / "000007.png") as image:
        assert image.mode == "RGB" and image.size == (32, 24)
    for kind in ("class", "instance"):
        with Image.open(out_dir / kind / "000007.png") as image:
            assert image.mode in ("I;16", "I;16B") and image.size == (32, 24)
    with OpenEXR.File(str(out_dir / "depth" / "000007.exr")) as file:
        channels = file.channels()
        assert list(channels) == ["Y"]
        assert channels["Y"].pixels.dtype == np.float32
        assert channels["Y"].pixels.shape == (24, 32)
    with Image.open(out_dir / "preview" / "000007.png") as image:
        assert image.mode == "RGB" and image.size[0] > 4 * 32
    assert not (out_dir / ".raw").exists()  # the run's raw passes are gone

    data = json.loads((out_dir / "dataset.json").read_text())
    assert data["frames"] == [7]
    assert data["classes"][0]["name"] == "Box" and data["classes"][0]["id"] == 1
    assert data["instances"] == [{"id": 1, "object": "Box", "class_id": 1}]
    assert data["blender_version"] == bpy.app.version_string
    assert data["conventions"]["depth"]["unit"] == "metre"
    assert data["resolution"] == {"width": 32, "height": 24}


def test_animation_writes_every_frame_of_the_range(scene, out_dir):
    add_camera(scene, location=(0.0, 0.0, 5.0))
    box = add_box(scene, "Box", (0.0, 0.0, 0.0), (1.0, 1.0, 1.0))
    label([box], "Box")
    scene.frame_start, scene.frame_end, scene.frame_step = 2, 6, 2
    box.location = (0.0, 0.0, 0.0)
    box.keyframe_insert("location", frame=2)
    box.location = (0.0, 0.0, 2.0)
    box.keyframe_insert("location", frame=6)
    scene.frame_current = 1

    assert bpy.ops.ground_truth.render(animation=True) == {"FINISHED"}

    assert sorted(os.listdir(out_dir / "depth")) == ["000002.exr", "000004.exr", "000006.exr"]
    centre = [read_outputs(out_dir, f)[0][12, 16] for f in (2, 4, 6)]
    assert centre[0] > centre[1] > centre[2]  # the box rises towards the camera
    assert scene.frame_current == 1
    assert json.loads((out_dir / "dataset.json").read_text())["frames"] == [2, 4, 6]


@pytest.mark.parametrize("view_transform", ["Standard", "AgX"])
def test_rgb_is_the_image_blender_saves_with_the_view_transform(
    scene, out_dir, tmp_path, view_transform
):
    if view_transform not in {
        item.identifier
        for item in scene.view_settings.bl_rna.properties["view_transform"].enum_items
    }:
        view_transform = "Filmic"  # 4.2 still has Filmic next to AgX
    scene.view_settings.view_transform = view_transform
    add_camera(scene, location=(0.0, 0.0, 5.0))
    box = add_box(scene, "Box", (0.0, 0.0, 0.0), (2.0, 2.0, 2.0))
    label([box], "Box")
    world = bpy.data.worlds.new("World")
    world.color = (0.3, 0.5, 0.8)
    scene.world = world
    scene.render.image_settings.file_format = "PNG"
    scene.render.image_settings.color_mode = "RGB"
    scene.render.image_settings.color_depth = "8"
    scene.render.filepath = str(tmp_path / "plain.png")
    bpy.ops.render.render(write_still=True)

    assert bpy.ops.ground_truth.render() == {"FINISHED"}

    ours = png.read_png(out_dir / "rgb" / "000001.png")
    plain = png.read_png(tmp_path / "plain.png")
    assert ours.shape == plain.shape == (24, 32, 3)
    assert ours.std() > 0
    np.testing.assert_array_equal(ours, plain)
