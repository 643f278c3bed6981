"""Bad input gets a clear message before anything renders, and nothing changes."""

import tempfile

import bpy
import numpy as np
import pytest

from ground_truth.codecs import exr, png
from ground_truth.render import pipeline

from helpers import add_box, add_camera, label, snapshot_scene

EEVEE = "BLENDER_EEVEE" if bpy.app.version >= (5, 0, 0) else "BLENDER_EEVEE_NEXT"


@pytest.fixture
def ready(scene, out_dir):
    add_camera(scene)
    label([add_box(scene, "Box", (0.0, 0.0, 0.0), (1.0, 1.0, 1.0))], "Box")
    return scene


def refused(scene, out_dir, match, **kwargs):
    before = snapshot_scene(scene)
    with pytest.raises(RuntimeError, match=match):
        bpy.ops.ground_truth.render(**kwargs)
    assert snapshot_scene(scene) == before
    assert not out_dir.exists()


def test_no_camera(ready, out_dir):
    bpy.data.objects.remove(ready.camera)
    assert not bpy.ops.ground_truth.render.poll()
    before = snapshot_scene(ready)
    with pytest.raises(Exception, match="no active camera"):
        pipeline.render_ground_truth(ready, [1])
    assert snapshot_scene(ready) == before and not out_dir.exists()


def test_camera_that_is_not_a_camera(ready, out_dir):
    empty = bpy.data.objects.new("Empty", None)
    ready.collection.objects.link(empty)
    ready.camera = empty
    refused(ready, out_dir, "camera 'Empty' is an object of type EMPTY, not a camera")


def test_output_folder_that_is_a_file(ready, tmp_path, out_dir):
    target = tmp_path / "taken"
    target.write_text("user data")
    ready.ground_truth.output_dir = str(target)
    with pytest.raises(RuntimeError, match="is a file"):
        bpy.ops.ground_truth.render()
    assert target.read_text() == "user data"


def test_output_folder_that_cannot_be_created(ready, tmp_path, out_dir):
    (tmp_path / "file").write_text("x")
    ready.ground_truth.output_dir = str(tmp_path / "file" / "sub") + "/"
    refused(ready, out_dir, "cannot be written")


def test_eevee_is_refused_unless_cycles_is_asked_for(ready, out_dir):
    ready.render.engine = EEVEE
    refused(ready, out_dir, "Render with Cycles for the ground truth only")
    assert bpy.ops.ground_truth.render(use_cycles=True) == {"FINISHED"}
    assert ready.render.engine == EEVEE
    assert (out_dir / "instance" / "000001.png").exists()


def test_workbench_is_refused(ready, out_dir):
    ready.render.engine = "BLENDER_WORKBENCH"
    refused(ready, out_dir, "Workbench has no Object Index pass")


def test_unsaved_file_with_relative_folder_renders_into_the_temporary_folder(
    ready, out_dir, tmp_path, monkeypatch
):
    # Issue 19: a first render from Blender's (unsaved) startup file works. A folder
    # relative to the .blend file is then relative to the system's temporary folder.
    (tmp_path / "temp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "temp"))
    ready.ground_truth.output_dir = "//ground_truth/"
    assert bpy.ops.ground_truth.render() == {"FINISHED"}
    assert (tmp_path / "temp" / "ground_truth" / "instance" / "000001.png").exists()
    assert not out_dir.exists() and bpy.data.filepath == ""


def test_duplicate_class_names(ready, out_dir):
    bpy.ops.ground_truth.add_class(name="Other")
    ready.ground_truth.classes[-1].name = "Box"  # as editing the name in the list can do
    refused(ready, out_dir, "Class names must be unique: 'Box'")


def test_no_labelled_objects_warns_and_writes_zero_maps(scene, out_dir):
    add_camera(scene)
    add_box(scene, "Box", (0.0, 0.0, 0.0), (1.0, 1.0, 1.0))
    assert bpy.ops.ground_truth.render() == {"FINISHED"}
    for kind in ("class", "instance"):
        labels = png.read_png(out_dir / kind / "000001.png")
        assert labels.shape == (24, 32) and not labels.any()
    assert np.isfinite(exr.read_exr(out_dir / "depth" / "000001.exr")["Y"]).any()


def test_user_pass_indices_on_unlabelled_objects_are_not_instances(ready, out_dir):
    other = add_box(ready, "Other", (0.0, 0.0, 0.0), (4.0, 4.0, 0.2))
    other.pass_index = 9  # the user's own, from before the extension
    assert bpy.ops.ground_truth.render() == {"FINISHED"}
    instance = png.read_png(out_dir / "instance" / "000001.png")
    assert 9 not in instance and (instance == 0).any()
    assert other.pass_index == 9
