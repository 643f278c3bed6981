"""Normals: unit surface normals in the OpenCV camera frame, from the same render."""

import json
import os

import bpy
import numpy as np
import pytest
from mathutils import Vector

from ground_truth import compat
from ground_truth.codecs import exr, png
from ground_truth.render import finalize

from helpers import add_box, add_camera, add_plane, label

# Blender camera axes (x right, y up, looking along -z) to OpenCV (x right, y down, z forward).
BLENDER_TO_CV = np.diag([1.0, -1.0, -1.0])


def world_to_camera_rotation(camera):
    """The world-to-camera-cv rotation, straight from the camera's matrix."""
    rotation = np.array(camera.matrix_world.to_3x3().normalized(), dtype=np.float64)
    return BLENDER_TO_CV @ rotation.T


def read_normal(folder, frame=1):
    channels = exr.read_exr(folder / "normal" / f"{frame:06d}.exr")
    assert sorted(channels) == ["X", "Y", "Z"]
    assert all(c.dtype == np.float32 for c in channels.values())
    return np.stack([channels[c] for c in "XYZ"], axis=-1)


def oblique_camera(scene, **kwargs):
    camera = add_camera(scene, location=(1.0, -6.0, 4.5), **kwargs)
    direction = Vector((0.0, 0.0, 0.0)) - camera.location
    camera.rotation_euler = direction.to_track_quat("-Z", "Y").to_euler()
    camera.rotation_euler.y += 0.2  # roll a little too
    return camera


@pytest.fixture
def normals_scene(scene, out_dir):
    scene.cycles.filter_width = 0.01  # one sample at each pixel's centre
    scene.ground_truth.output_normal = True
    return scene


@pytest.mark.parametrize("pixel_aspect", [1.0, 2.0])
def test_a_tilted_plane_has_its_normal_in_the_camera_frame(normals_scene, out_dir, pixel_aspect):
    scene = normals_scene
    scene.render.pixel_aspect_x = pixel_aspect
    camera = oblique_camera(scene)
    plane = add_plane(scene, "Plane", half=30.0)
    plane.rotation_euler = (0.3, -0.2, 0.5)
    label([plane], "Ground")

    assert bpy.ops.ground_truth.render() == {"FINISHED"}

    normal = read_normal(out_dir)
    assert normal.shape == (24, 32, 3)
    world = np.array(plane.matrix_world.to_3x3() @ Vector((0.0, 0.0, 1.0)))
    expected = world_to_camera_rotation(camera) @ world
    assert expected[2] < 0  # the plane faces the camera: its normal points back at it
    np.testing.assert_allclose(normal.reshape(-1, 3), np.tile(expected, (24 * 32, 1)), atol=1e-5)
    meta = json.loads((out_dir / "meta" / "000001.json").read_text())
    rotation = np.array(meta["camera"]["world_to_camera_cv"])[:3, :3]
    np.testing.assert_allclose(rotation, world_to_camera_rotation(camera), atol=1e-6)


def test_the_back_of_a_face_shows_the_normal_towards_the_camera(normals_scene, out_dir):
    scene = normals_scene
    add_camera(scene, location=(0.0, 0.0, 5.0))
    plane = add_plane(scene, "Plane")
    plane.data.flip_normals()  # its geometric normal now points away from the camera
    assert bpy.ops.ground_truth.render() == {"FINISHED"}
    np.testing.assert_allclose(read_normal(out_dir), np.broadcast_to([0, 0, -1], (24, 32, 3)))


def test_the_materials_own_normal_counts(normals_scene, out_dir):
    scene = normals_scene
    # Orthographic: every ray meets the plane at the same angle. (Cycles bends a
    # material normal that a grazing view would see from behind; not at this angle.)
    add_camera(scene, location=(0.0, 0.0, 5.0), ortho_scale=32.0)
    plane = add_plane(scene, "Plane")
    material = bpy.data.materials.new("Bumpy")
    compat.use_nodes(material)
    tree = material.node_tree
    bent = tree.nodes.new("ShaderNodeCombineXYZ")  # a world-space normal, as a normal map gives
    bent.inputs[0].default_value, bent.inputs[2].default_value = 0.6, 0.8
    tree.links.new(bent.outputs[0], tree.nodes["Principled BSDF"].inputs["Normal"])
    plane.data.materials.append(material)
    assert bpy.ops.ground_truth.render() == {"FINISHED"}
    np.testing.assert_allclose(
        read_normal(out_dir), np.broadcast_to([0.6, 0, -0.8], (24, 32, 3)), atol=1e-6
    )


def ray_sphere_normals(K, center, radius, width, height):  # noqa: N803
    """Analytic normals (camera frame) where each pixel centre's ray meets the sphere."""
    v, u = np.indices((height, width), dtype=np.float64)
    pixels = np.stack([u + 0.5, v + 0.5, np.ones_like(u)], axis=-1)
    rays = pixels @ np.linalg.inv(K).T
    rays /= np.linalg.norm(rays, axis=-1, keepdims=True)
    along = rays @ center
    gap = along**2 - center @ center + radius**2
    hit = gap > 0
    t = along - np.sqrt(np.where(hit, gap, 0.0))
    normals = (rays * t[..., None] - center) / radius
    facing = -(normals * rays).sum(axis=-1)  # cosine between the normal and the view ray
    return normals, hit, facing


def test_a_smooth_sphere_gives_the_analytic_normals(normals_scene, out_dir):
    scene = normals_scene
    scene.render.resolution_x, scene.render.resolution_y = 64, 48
    camera = oblique_camera(scene)
    center = (0.3, 0.2, 0.4)
    bpy.ops.mesh.primitive_uv_sphere_add(segments=256, ring_count=128, radius=1.5, location=center)
    sphere = bpy.context.active_object
    sphere.data.shade_smooth()
    label([sphere], "Ball")

    assert bpy.ops.ground_truth.render() == {"FINISHED"}

    normal = read_normal(out_dir)
    meta = json.loads((out_dir / "meta" / "000001.json").read_text())
    K = np.array(meta["camera"]["K"])  # noqa: N806
    w2c = np.array(meta["camera"]["world_to_camera_cv"])
    np.testing.assert_allclose(w2c[:3, :3], world_to_camera_rotation(camera), atol=1e-6)
    center_cv = w2c[:3, :3] @ np.array(center) + w2c[:3, 3]
    expected, hit, facing = ray_sphere_normals(K, center_cv, 1.5, 64, 48)
    instance = png.read_png(out_dir / "instance" / "000001.png")
    np.testing.assert_array_equal(instance > 0, hit)  # same silhouette, pixel for pixel
    inside = hit & (facing > 0.3)  # well inside the silhouette
    assert inside.sum() > 300
    np.testing.assert_allclose(normal[inside], expected[inside], atol=1e-3)
    assert (normal[~hit] == 0).all()
    np.testing.assert_allclose(np.linalg.norm(normal[hit], axis=-1), 1.0, atol=1e-6)


def test_edges_with_many_samples_keep_unit_normals_and_a_zero_background(scene, out_dir):
    scene.cycles.samples = 16  # the Normal pass averages the samples; filter 1.5 px
    scene.ground_truth.output_normal = True
    add_camera(scene, location=(0.0, 0.0, 10.0), ortho_scale=32.0)
    box = add_box(scene, "Box", (0.0, 0.0, 0.0), (8.0, 8.0, 8.0))
    box.rotation_euler = (0.4, 0.3, 0.2)
    label([box], "Box")

    assert bpy.ops.ground_truth.render() == {"FINISHED"}

    normal = read_normal(out_dir)
    depth = exr.read_exr(out_dir / "depth" / "000001.exr")["Y"]
    surface = np.isfinite(depth)
    assert (normal[~surface] == 0).all()
    np.testing.assert_allclose(np.linalg.norm(normal[surface], axis=-1), 1.0, atol=1e-5)
    # Away from the edges each pixel sees one face: its normal is that face's exactly.
    faces = [np.array(box.matrix_world.to_3x3() @ Vector(axis)) for axis in _AXES]
    rotation = BLENDER_TO_CV  # the camera looks straight down, unrotated
    visible = [rotation @ n for n in faces if (rotation @ n)[2] < 0]
    distances = np.min([np.linalg.norm(normal - n, axis=-1) for n in visible], axis=0)
    assert (distances[surface] < 1e-5).mean() > 0.6
    assert (normal[surface][:, 2] < 0).all()  # blended or not, they face the camera


_AXES = [(1, 0, 0), (-1, 0, 0), (0, 1, 0), (0, -1, 0), (0, 0, 1), (0, 0, -1)]


def test_normals_are_off_by_default_and_add_a_preview_panel_when_on(scene, out_dir):
    add_camera(scene, location=(0.0, 0.0, 5.0))
    label([add_plane(scene)], "Ground")
    assert bpy.ops.ground_truth.render() == {"FINISHED"}
    assert not os.path.exists(out_dir / "normal")
    assert not scene.view_layers[0].use_pass_normal
    narrow = png.read_png(out_dir / "preview" / "000001.png")

    scene.ground_truth.output_normal = True
    assert bpy.ops.ground_truth.render() == {"FINISHED"}
    assert not scene.view_layers[0].use_pass_normal  # switched on for the render only
    wide = png.read_png(out_dir / "preview" / "000001.png")
    assert wide.shape[1] == narrow.shape[1] + 32 + 4
    panel = wide[11 : 11 + 24, 4 * 36 : 4 * 36 + 32]
    assert (panel == (128, 128, 255)).all()  # facing the camera: lavender blue
    assert not (out_dir / ".raw").exists()  # the run's raw passes are gone


def test_the_setup_switches_the_normal_pass_with_the_output_choice(scene):
    add_camera(scene)
    view_layer = scene.view_layers[0]
    settings = scene.ground_truth
    assert bpy.ops.ground_truth.setup_compositor() == {"FINISHED"}
    assert not view_layer.use_pass_normal
    settings.output_normal = True
    assert bpy.ops.ground_truth.setup_compositor() == {"FINISHED"}
    assert view_layer.use_pass_normal
    settings.output_normal = False
    assert bpy.ops.ground_truth.setup_compositor() == {"FINISHED"}
    assert not view_layer.use_pass_normal
    settings.output_normal = True
    assert bpy.ops.ground_truth.setup_compositor() == {"FINISHED"}
    assert bpy.ops.ground_truth.remove_compositor() == {"FINISHED"}
    assert not view_layer.use_pass_normal

    view_layer.use_pass_normal = True  # the user's own: kept
    assert bpy.ops.ground_truth.setup_compositor() == {"FINISHED"}
    settings.output_normal = False
    assert bpy.ops.ground_truth.setup_compositor() == {"FINISHED"}
    assert bpy.ops.ground_truth.remove_compositor() == {"FINISHED"}
    assert view_layer.use_pass_normal


def test_a_saved_setup_writes_the_raw_normals_for_finalize(scene, tmp_path):
    add_camera(scene, location=(0.0, 0.0, 5.0))
    label([add_plane(scene)], "Ground")
    scene.ground_truth.output_normal = True
    scene.ground_truth.output_dir = str(tmp_path / "farm") + "/"
    assert bpy.ops.ground_truth.setup_compositor() == {"FINISHED"}
    scene.render.filepath = str(tmp_path / "plain" / "")
    bpy.ops.render.render(write_still=False)
    assert sorted(os.listdir(tmp_path / "farm" / ".raw")) == [
        "000001.bmp",
        "000001.exr",
        "000001_normal.exr",
    ]
    finalize.finalize(scene, str(tmp_path / "farm"))
    np.testing.assert_allclose(
        read_normal(tmp_path / "farm"), np.broadcast_to([0, 0, -1], (24, 32, 3)), atol=1e-6
    )
