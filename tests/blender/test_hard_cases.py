"""Hard scenes: labels and depth stay exact and agree, and the behaviour is the documented one."""

import json
import os

import bpy
import numpy as np
import pytest

from ground_truth import compat
from ground_truth.codecs import exr, png
from ground_truth.dataset import reader
from ground_truth.render import pipeline
from ground_truth.render.options import options_from_settings

from helpers import add_box, add_camera, add_plane, label


def outputs(folder, frame=1):
    stem = f"{frame:06d}"
    depth = exr.read_exr(folder / "depth" / f"{stem}.exr")["Y"]
    return depth, png.read_png(folder / "instance" / f"{stem}.png")


@pytest.fixture
def stage(scene, out_dir):
    """A labelled box on a labelled floor, seen from straight above."""
    add_camera(scene, location=(0.0, 0.0, 10.0), ortho_scale=32.0)
    floor = add_plane(scene, "Floor")
    box = add_box(scene, "Box", (0.0, 0.0, 1.0), (8.0, 8.0, 2.0))
    label([floor], "Floor")
    label([box], "Box")
    return scene


def transparent_material(alpha):
    material = bpy.data.materials.new(f"Glass {alpha}")
    compat.use_nodes(material)
    bsdf = next(n for n in material.node_tree.nodes if n.type == "BSDF_PRINCIPLED")
    bsdf.inputs["Alpha"].default_value = alpha
    return material


@pytest.mark.parametrize(("alpha", "seen"), [(0.0, "Box"), (0.8, "Sheet"), (1.0, "Sheet")])
def test_clipped_and_opaque_surfaces_follow_the_alpha_threshold(stage, out_dir, alpha, seen):
    sheet = add_box(stage, "Sheet", (0.0, 0.0, 4.0), (12.0, 12.0, 0.01))
    sheet.data.materials.append(transparent_material(alpha))
    label([sheet], "Sheet")
    assert stage.view_layers[0].pass_alpha_threshold == 0.5
    assert bpy.ops.ground_truth.render() == {"FINISHED"}
    depth, instance = outputs(out_dir)
    centre = (slice(9, 15), slice(13, 19))
    owner = bpy.data.objects[seen].pass_index
    assert (instance[centre] == owner).all()
    expected = 10.0 - (4.005 if seen == "Sheet" else 2.0)
    np.testing.assert_allclose(depth[centre], expected, rtol=1e-5)


def test_semi_transparent_pixels_belong_to_one_surface_with_its_depth(stage, out_dir):
    stage.cycles.samples = 4
    sheet = add_plane(stage, "Sheet", z=4.0, half=6.0)  # one face: one depth
    sheet.data.materials.append(transparent_material(0.3))
    label([sheet], "Sheet")
    assert bpy.ops.ground_truth.render() == {"FINISHED"}
    depth, instance = outputs(out_dir)
    centre = (slice(9, 15), slice(13, 19))
    box, sheet_id = bpy.data.objects["Box"].pass_index, sheet.pass_index
    ids = instance[centre]
    assert set(np.unique(ids)) <= {box, sheet_id}
    expected = np.where(ids == sheet_id, 10.0 - 4.0, 10.0 - 2.0)
    np.testing.assert_allclose(depth[centre], expected, rtol=1e-5)


def test_objects_hidden_from_the_camera_or_render_are_not_in_the_maps(stage, out_dir):
    ghost = add_box(stage, "Ghost", (-10.0, 0.0, 3.0), (4.0, 4.0, 2.0))
    hidden = add_box(stage, "Hidden", (10.0, 0.0, 3.0), (4.0, 4.0, 2.0))
    label([ghost, hidden], "Box")
    ghost.visible_camera = False
    hidden.hide_render = True
    assert bpy.ops.ground_truth.render() == {"FINISHED"}
    _depth, instance = outputs(out_dir)
    assert ghost.pass_index not in instance and hidden.pass_index not in instance
    meta = json.loads((out_dir / "meta" / "000001.json").read_text())
    listed = {i["object"]: i["visible_pixels"] for i in meta["instances"]}
    assert listed["Ghost"] == 0 and listed["Hidden"] == 0


def test_holdout_objects_read_as_background(stage, out_dir):
    box = bpy.data.objects["Box"]
    box.is_holdout = True
    assert bpy.ops.ground_truth.render() == {"FINISHED"}
    depth, instance = outputs(out_dir)
    # A holdout cuts a hole in the image and the passes: background depth and ID 0.
    assert (instance[9:15, 13:19] == 0).all()
    assert np.isposinf(depth[9:15, 13:19]).all()


def test_geometry_beyond_the_clip_end_is_background(stage, out_dir):
    stage.camera.data.clip_end = 9.5  # the floor (10) is cut, the box top (8) is kept
    assert bpy.ops.ground_truth.render() == {"FINISHED"}
    depth, instance = outputs(out_dir)
    box = instance == bpy.data.objects["Box"].pass_index
    assert box.sum() == 64
    assert np.isposinf(depth[~box]).all() and (instance[~box] == 0).all()


def test_non_mesh_geometry_and_render_time_modifiers_are_labelled(scene, out_dir):
    add_camera(scene, location=(0.0, 0.0, 10.0), ortho_scale=32.0)
    text = bpy.data.objects.new("Text", bpy.data.curves.new("Text", "FONT"))
    text.data.body = "GT"
    text.data.size = 6.0
    text.location = (-12.0, 2.0, 0.0)
    scene.collection.objects.link(text)
    ball = bpy.data.objects.new("Ball", bpy.data.metaballs.new("Ball"))
    ball.data.elements.new().radius = 3.0
    ball.location = (8.0, 4.0, 0.0)
    scene.collection.objects.link(ball)
    bar = add_box(scene, "Bar", (0.0, -7.0, 0.0), (2.0, 2.0, 2.0))
    array = bar.modifiers.new("Array", "ARRAY")
    array.count = 4
    array.relative_offset_displace = (2.0, 0.0, 0.0)
    array.show_viewport = False  # render only: the labels follow the rendered geometry
    label([text], "Text")
    label([ball], "Ball")
    label([bar], "Bar")
    assert bpy.ops.ground_truth.render() == {"FINISHED"}
    _depth, instance = outputs(out_dir)
    for ob in (text, ball, bar):
        assert (instance == ob.pass_index).sum() > 4, ob.name
    # The array's fourth copy spans x in [11, 13], y in [-8, -6]: columns 27-28, rows 18-19.
    assert (instance[18:20, 27:29] == bar.pass_index).all()


@pytest.mark.parametrize(("distance", "clip"), [(4000.0, (1.0, 1.0e5)), (0.004, (1e-4, 1.0))])
def test_huge_and_tiny_scales(scene, out_dir, distance, clip):
    camera = add_camera(scene, location=(0.0, 0.0, distance))
    camera.data.clip_start, camera.data.clip_end = clip
    label([add_plane(scene, half=distance * 10.0)], "Ground")
    assert bpy.ops.ground_truth.render() == {"FINISHED"}
    depth, instance = outputs(out_dir)
    np.testing.assert_allclose(depth, distance, rtol=1e-6)
    assert (instance == 1).all()


def test_panoramic_cameras_are_refused(stage, out_dir):
    stage.camera.data.type = "PANO"
    with pytest.raises(RuntimeError, match="panoramic"):
        bpy.ops.ground_truth.render()
    assert not out_dir.exists()


def test_depth_of_field_motion_blur_and_empty_classes_are_said(stage, out_dir):
    stage.camera.data.dof.use_dof = True
    stage.render.use_motion_blur = True
    bpy.ops.ground_truth.add_class(name="Unused")
    options = options_from_settings(
        stage.ground_truth, output_dir=str(out_dir), frames=[1], view_layer="ViewLayer"
    )
    job = pipeline.RenderJob(stage, options)
    text = " | ".join(job.report.warnings)
    assert "Depth of field" in text and "Motion blur" in text and "Unused" in text


def test_paths_with_spaces_and_accents(stage, tmp_path):
    folder = tmp_path / "Données d'été 2026" / "run #1"
    stage.ground_truth.output_dir = str(folder) + "/"
    assert bpy.ops.ground_truth.render() == {"FINISHED"}
    frame = reader.load_frame(str(folder), 1)
    assert frame["instance"].shape == (24, 32) and frame["rgb"].shape == (24, 32, 3)


@pytest.mark.parametrize(
    "content",
    ['{"name": "my own notes"}', '{"format": "ground_truth", "format_version": 0, "frames": []}'],
)
def test_a_dataset_json_that_is_not_ours_is_never_overwritten(stage, out_dir, content):
    out_dir.mkdir()
    (out_dir / "dataset.json").write_text(content)
    with pytest.raises(RuntimeError, match="choose another output folder"):
        bpy.ops.ground_truth.render()
    assert (out_dir / "dataset.json").read_text() == content
    assert sorted(p.name for p in out_dir.iterdir()) == ["dataset.json"]


def test_a_failed_write_keeps_earlier_frames_complete(stage, out_dir):
    stage.frame_start, stage.frame_end = 1, 2
    blocker = out_dir / "class" / "000002.png"

    def progress(done, total, frame):
        if frame == 2:
            blocker.mkdir(parents=True)  # the file cannot be written where a folder is

    with pytest.raises(Exception, match="Could not write"):
        pipeline.render_ground_truth(stage, [1, 2], progress=progress)
    assert json.loads((out_dir / "dataset.json").read_text())["frames"] == [1]
    assert reader.load_frame(str(out_dir), 1)["instance"].any()
    assert not [p for p in (out_dir / "class").iterdir() if p.name.startswith(".")]


def test_library_overrides_can_be_labelled_and_keep_their_label(scene, tmp_path, request):
    if bpy.app.version >= (5, 0, 0):
        # Measured: 5.0 records the override of a Python-defined PointerProperty as one
        # REPLACE of the whole group and does not apply it on load (4.2/4.5 record
        # "ground_truth.class_id" and keep it); pass_index survives on every version.
        request.applymarker(pytest.mark.xfail(reason="Blender 5.0 drops the override on load"))
    add_camera(scene, location=(0.0, 0.0, 10.0), ortho_scale=32.0)
    asset = add_box(scene, "Asset", (0.0, 0.0, 1.0), (8.0, 8.0, 2.0))
    library = tmp_path / "assets.blend"
    bpy.data.libraries.write(str(library), {asset})
    bpy.data.objects.remove(asset)
    with bpy.data.libraries.load(str(library), link=True) as (_source, linked):
        linked.objects = ["Asset"]
    scene.collection.objects.link(linked.objects[0])
    override = linked.objects[0].override_create(remap_local_usages=True)
    label([override], "Asset")
    assert override.ground_truth.class_id == 1 and override.pass_index == 1

    blend = tmp_path / "shot.blend"
    scene.ground_truth.output_dir = "//out/"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))
    bpy.ops.wm.open_mainfile(filepath=str(blend))
    reopened = next(ob for ob in bpy.data.objects if ob.override_library)
    assert reopened.ground_truth.class_id == 1 and reopened.pass_index == 1
    assert bpy.ops.ground_truth.render() == {"FINISHED"}
    _depth, instance = outputs(tmp_path / "out")
    assert (instance == 1).sum() == 64


def test_volumes_are_never_labelled_and_pixels_stay_consistent(stage, out_dir):
    fog = add_box(stage, "Fog", (0.0, 0.0, 5.0), (12.0, 12.0, 2.0))
    material = bpy.data.materials.new("Fog")
    compat.use_nodes(material)
    nodes = material.node_tree.nodes
    nodes.remove(next(n for n in nodes if n.type == "BSDF_PRINCIPLED"))
    volume = nodes.new("ShaderNodeVolumePrincipled")
    output = next(n for n in nodes if n.type == "OUTPUT_MATERIAL")
    material.node_tree.links.new(volume.outputs[0], output.inputs["Volume"])
    fog.data.materials.append(material)
    label([fog], "Fog")
    assert bpy.ops.ground_truth.render() == {"FINISHED"}
    depth, instance = outputs(out_dir)
    assert fog.pass_index not in instance
    # A camera ray that scatters inside the volume at the first sample hits no surface:
    # background. Every other pixel holds the surface behind, with its own depth.
    centre = (slice(9, 15), slice(13, 19))
    box = bpy.data.objects["Box"].pass_index
    ids, values = instance[centre], depth[centre]
    assert set(np.unique(ids)) <= {0, box}
    np.testing.assert_allclose(values[ids == box], 8.0, rtol=1e-6)
    assert np.isposinf(values[ids == 0]).all()


def test_a_camera_inside_an_object_sees_its_inside(scene, out_dir):
    add_camera(scene, location=(0.0, 0.0, 0.0))
    room = add_box(scene, "Room", (0.0, 0.0, 0.0), (10.0, 10.0, 10.0))
    label([room], "Room")
    assert bpy.ops.ground_truth.render() == {"FINISHED"}
    depth, instance = outputs(out_dir)
    assert (instance == room.pass_index).all()
    np.testing.assert_allclose(depth, 5.0, rtol=1e-6)  # the far wall, planar


def test_files_the_extension_did_not_write_are_never_touched(stage, out_dir):
    # A folder of the user's with no dataset.json is refused, and nothing in it changes.
    (out_dir / "rgb").mkdir(parents=True)
    mine = {out_dir / "notes.txt": "keep", out_dir / "rgb" / "000001.png": "mine too"}
    for path, text in mine.items():
        path.write_text(text)
    with pytest.raises(RuntimeError, match=r"did not write \(notes.txt, rgb\)"):
        bpy.ops.ground_truth.render()
    assert sorted(os.listdir(out_dir)) == ["notes.txt", "rgb"]
    for path, text in mine.items():
        assert path.read_text() == text
    # In a dataset's own folder, files of the user's beside the dataset stay too.
    stage.ground_truth.output_dir = str(out_dir.parent / "fresh") + "/"
    assert bpy.ops.ground_truth.render() == {"FINISHED"}
    notes = out_dir.parent / "fresh" / "notes.txt"
    notes.write_text("keep")
    assert bpy.ops.ground_truth.render() == {"FINISHED"}
    assert notes.read_text() == "keep"
