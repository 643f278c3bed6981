"""Part labels: each pixel holds the part ID (pass index) of its surface's material."""

import json
import os

import bpy
import numpy as np

from ground_truth.codecs import png

from helpers import add_box, add_camera, add_plane, label


def add_material(name, part_id):
    material = bpy.data.materials.get(name) or bpy.data.materials.new(name)
    material.pass_index = part_id
    return material


def add_panel(scene, faces, z=1.0, name="Panel"):
    """A row of 6x8 quads at height ``z``: quad i covers x in [-9 + 6i, -3 + 6i], y in
    [-4, 4]; ``faces`` gives each quad's material."""
    verts, polygons = [], []
    for i in range(len(faces) + 1):
        x = -9.0 + 6.0 * i
        verts += [(x, -4.0, z), (x, 4.0, z)]
    for i in range(len(faces)):
        polygons.append((2 * i, 2 * i + 2, 2 * i + 3, 2 * i + 1))
    mesh = bpy.data.meshes.new(name)
    mesh.from_pydata(verts, [], polygons)
    materials = list(dict.fromkeys(faces))
    for material in materials:
        mesh.materials.append(material)
    for polygon, material in zip(mesh.polygons, faces, strict=True):
        polygon.material_index = materials.index(material)
    ob = bpy.data.objects.new(name, mesh)
    scene.collection.objects.link(ob)
    return ob


def parts_scene(scene, samples=1, filter_width=0.01):
    # Orthographic camera looking straight down: one pixel is one unit square,
    # column i covers x in [-16 + i, -15 + i], row r covers y in [11 - r, 12 - r].
    scene.cycles.samples = samples
    scene.cycles.filter_width = filter_width
    scene.ground_truth.output_part = True
    add_camera(scene, location=(0.0, 0.0, 10.0), ortho_scale=32.0)
    floor = add_plane(scene, "Floor")
    door, wheel, plain = add_material("Door", 2), add_material("Wheel", 5), add_material("Plain", 0)
    panel = add_panel(scene, [door, wheel, plain])
    label([panel], "Car")
    label([floor], "Floor")
    return panel, floor


def read_map(folder, kind, frame=1):
    return png.read_png(folder / kind / f"{frame:06d}.png")


def test_part_ids_land_on_the_faces_projection_gives(scene, out_dir):
    parts_scene(scene)
    # An unlabelled object keeps its material's part ID: parts do not need classes.
    trim = add_box(scene, "Trim", (10.5, 8.5, 0.5), (3.0, 3.0, 1.0))
    trim.data.materials.append(add_material("Door", 2))

    assert bpy.ops.ground_truth.render() == {"FINISHED"}

    part = read_map(out_dir, "part")
    assert part.dtype == np.uint16 and part.shape == (24, 32)
    expected = np.zeros((24, 32), dtype=np.uint16)
    expected[12 - 4 : 12 + 4, -9 + 16 : -3 + 16] = 2  # Door
    expected[12 - 4 : 12 + 4, -3 + 16 : 3 + 16] = 5  # Wheel; "Plain" (pass index 0) reads 0
    expected[12 - 10 : 12 - 7, 9 + 16 : 12 + 16] = 2  # the unlabelled Trim
    np.testing.assert_array_equal(part, expected)
    instance = read_map(out_dir, "instance")
    assert (instance[12 - 10 : 12 - 7, 9 + 16 : 12 + 16] == 0).all()


def test_edge_pixels_hold_the_part_of_the_surface_their_labels_belong_to(scene, out_dir):
    panel, _floor = parts_scene(scene, samples=16, filter_width=1.5)
    panel.rotation_euler.z = 0.3  # edges cross pixels diagonally

    assert bpy.ops.ground_truth.render() == {"FINISHED"}

    part = read_map(out_dir, "part")
    instance = read_map(out_dir, "instance")
    assert set(np.unique(part)) == {0, 2, 5}  # exact IDs, never a blend
    on_panel = instance == panel.pass_index
    assert (part[~on_panel] == 0).all()
    assert (part[on_panel] == 2).sum() > 20 and (part[on_panel] == 5).sum() > 20


def test_dataset_lists_the_parts_of_the_rendered_materials(scene, out_dir):
    parts_scene(scene)
    box = add_box(scene, "Box", (10.0, 8.0, 0.5), (2.0, 2.0, 1.0))
    box.data.materials.append(add_material("Door Trim", 2))
    add_material("Spare", 9)  # used by no object: not listed

    assert bpy.ops.ground_truth.render() == {"FINISHED"}

    data = json.loads((out_dir / "dataset.json").read_text())
    assert data["parts"] == [
        {"id": 2, "materials": ["Door", "Door Trim"]},
        {"id": 5, "materials": ["Wheel"]},
    ]
    assert data["conventions"]["part"]["path"] == "part/NNNNNN.png"


def test_part_maps_are_off_by_default_and_add_a_preview_panel_when_on(scene, out_dir):
    parts_scene(scene)
    scene.ground_truth.output_part = False
    assert bpy.ops.ground_truth.render() == {"FINISHED"}
    assert not os.path.exists(out_dir / "part")
    narrow = png.read_png(out_dir / "preview" / "000001.png").shape[1]

    scene.ground_truth.output_part = True
    assert bpy.ops.ground_truth.render() == {"FINISHED"}
    assert os.path.exists(out_dir / "part" / "000001.png")
    wide = png.read_png(out_dir / "preview" / "000001.png").shape[1]
    assert wide == narrow + 32 + 4  # one more 32-pixel panel and its gap


def test_the_material_index_pass_is_on_only_for_the_part_map(scene):
    add_camera(scene)
    view_layer = scene.view_layers[0]
    assert bpy.ops.ground_truth.setup_compositor() == {"FINISHED"}
    assert view_layer.use_pass_z and view_layer.use_pass_object_index
    assert not view_layer.use_pass_material_index  # each pass costs Cycles time
    scene.ground_truth.output_part = True
    assert bpy.ops.ground_truth.setup_compositor() == {"FINISHED"}
    assert view_layer.use_pass_material_index
    scene.ground_truth.output_part = False
    assert bpy.ops.ground_truth.setup_compositor() == {"FINISHED"}
    assert not view_layer.use_pass_material_index
    scene.ground_truth.output_part = True
    assert bpy.ops.ground_truth.setup_compositor() == {"FINISHED"}
    assert bpy.ops.ground_truth.remove_compositor() == {"FINISHED"}
    assert not view_layer.use_pass_material_index


def test_a_users_material_index_pass_stays_on(scene):
    add_camera(scene)
    view_layer = scene.view_layers[0]
    view_layer.use_pass_material_index = True
    assert bpy.ops.ground_truth.setup_compositor() == {"FINISHED"}
    assert bpy.ops.ground_truth.remove_compositor() == {"FINISHED"}
    assert view_layer.use_pass_material_index


def test_a_farm_setup_made_without_parts_is_named_when_finalize_asks_for_them(scene, tmp_path):
    from ground_truth.render import finalize

    add_camera(scene, location=(0.0, 0.0, 5.0))
    plane = add_plane(scene)
    plane.data.materials.append(add_material("Wood", 7))
    label([plane], "Ground")
    settings = scene.ground_truth
    settings.output_dir = str(tmp_path / "farm") + "/"
    assert bpy.ops.ground_truth.setup_compositor() == {"FINISHED"}
    scene.render.filepath = str(tmp_path / "plain" / "")
    bpy.ops.render.render(write_still=False)  # a farm node renders the saved setup

    settings.output_part = True  # ticked after the setup: its raw frames have no parts
    report = finalize.finalize(scene, str(tmp_path / "farm"), expected=[1])
    assert report.frames == [] and report.missing == [1]
    [(frame, reason)] = report.damaged
    assert frame == 1 and "no Material Index pass" in reason and "Set Up Compositor" in reason

    assert bpy.ops.ground_truth.setup_compositor() == {"FINISHED"}
    bpy.ops.render.render(write_still=False)
    report = finalize.finalize(scene, str(tmp_path / "farm"), expected=[1])
    assert report.frames == [1] and report.damaged == []
    part = png.read_png(tmp_path / "farm" / "part" / "000001.png")
    assert (part == 7).all()
