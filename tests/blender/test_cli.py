"""The headless command, driven through its entry function with argument lists."""

import json
import os

import bpy
import numpy as np
import pytest

from ground_truth.codecs import exr, png
from ground_truth.commands import cli

from helpers import add_box, add_camera, add_plane, label


@pytest.fixture
def saved_scene(scene, tmp_path):
    add_camera(scene, location=(0.0, 0.0, 5.0))
    floor = add_plane(scene, "Floor")
    box = add_box(scene, "Box", (0.0, 0.0, 0.5), (1.0, 1.0, 1.0))
    box.keyframe_insert("location", frame=1)
    box.location.x = 1.0
    box.keyframe_insert("location", frame=9)
    label([box], "Box")
    label([floor], "Floor")
    scene.frame_start, scene.frame_end = 1, 9
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "scene.blend"))
    return bpy.context.scene


def run(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def listing(folder):
    return sorted(os.listdir(folder))


def test_render_a_range_with_a_step(saved_scene, tmp_path, capsys):
    out_dir = tmp_path / "data"
    code, out, err = run(capsys, "render", "--output", str(out_dir), "--frames", "1-5:2")
    assert code == 0, err
    assert listing(out_dir / "instance") == ["000001.png", "000003.png", "000005.png"]
    assert "Frame 3 (2/3)" in out and "Wrote 3 frame(s)" in out
    assert json.loads((out_dir / "dataset.json").read_text())["frames"] == [1, 3, 5]
    assert saved_scene.ground_truth.output_dir == "//ground_truth/"


def test_resume_renders_only_missing_or_broken_frames(saved_scene, tmp_path, capsys):
    out_dir = tmp_path / "data"
    assert run(capsys, "render", "--output", str(out_dir), "--frames", "1-4")[0] == 0
    # An interruption: frame 2 lost its class map, frame 4's depth was cut short.
    os.remove(out_dir / "class" / "000002.png")
    depth4 = out_dir / "depth" / "000004.exr"
    depth4.write_bytes(depth4.read_bytes()[:300])
    untouched = (out_dir / "instance" / "000001.png").stat().st_mtime_ns

    code, out, err = run(capsys, "render", "--output", str(out_dir), "--frames", "1-4", "--resume")
    assert code == 0, err
    assert "Skipping 2 complete frame(s)" in out
    assert "Frame 2 (1/2)" in out and "Frame 4 (2/2)" in out
    assert (out_dir / "instance" / "000001.png").stat().st_mtime_ns == untouched
    assert np.isfinite(exr.read_exr(depth4)["Y"]).all()
    assert png.read_png(out_dir / "class" / "000002.png").any()

    # Without --resume every frame is rendered again, as Blender's Output > Overwrite does.
    code, out, _ = run(capsys, "render", "--output", str(out_dir), "--frames", "1-4")
    assert code == 0 and "Frame 1 (1/4)" in out and "Skipping" not in out


def test_a_dataset_of_another_scene_is_refused(saved_scene, tmp_path, capsys):
    out_dir = tmp_path / "data"
    assert run(capsys, "render", "--output", str(out_dir), "--frames", "1")[0] == 0
    before = listing(out_dir / "instance")
    saved_scene.ground_truth.classes[0].name = "Crate"
    code, _out, err = run(capsys, "render", "--output", str(out_dir), "--frames", "2")
    assert code == 1
    assert "The labels changed" in err and "'Box' there, 'Crate' here" in err
    assert listing(out_dir / "instance") == before


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["explode"],
        ["render"],
        ["render", "--output", "x", "--frames", "5-1"],
        ["render", "--output", "x", "--samples", "many"],
        ["finalize"],
    ],
)
def test_bad_arguments_exit_2_with_usage(saved_scene, capsys, argv):
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert "usage:" in err and "ground_truth: error:" in err
    assert out == ""


def test_failures_exit_1_with_the_reason_on_stderr(saved_scene, tmp_path, capsys):
    bpy.data.objects.remove(saved_scene.camera)
    code, _out, err = run(capsys, "render", "--output", str(tmp_path / "d"))
    assert code == 1 and "no active camera" in err
    assert not (tmp_path / "d").exists()


def test_info_lists_classes_instances_and_frames(saved_scene, capsys):
    code, out, _ = run(capsys, "info", "--frames", "1-9:4")
    assert code == 0
    assert "Box  (1 instance(s))" in out and "Floor  (1 instance(s))" in out
    assert "Would render 3 frame(s): 1, 5, 9" in out


def test_labels_only_matches_the_labels_of_a_full_render(saved_scene, tmp_path, capsys):
    saved_scene.cycles.samples = 4
    full, fast = tmp_path / "full", tmp_path / "fast"
    assert run(capsys, "render", "--output", str(full), "--frames", "3")[0] == 0
    assert run(capsys, "render", "--output", str(fast), "--frames", "3", "--labels-only")[0] == 0
    assert not (fast / "rgb").exists() or not os.listdir(fast / "rgb")
    for kind in ("class", "instance"):
        np.testing.assert_array_equal(
            png.read_png(full / kind / "000003.png"), png.read_png(fast / kind / "000003.png")
        )
    np.testing.assert_array_equal(
        exr.read_exr(full / "depth" / "000003.exr")["Y"],
        exr.read_exr(fast / "depth" / "000003.exr")["Y"],
    )
    assert saved_scene.cycles.samples == 4 and saved_scene.cycles.max_bounces == 12


def test_finalize_completes_a_farm_render(saved_scene, tmp_path, capsys):
    saved_scene.frame_end = 3
    bpy.ops.ground_truth.setup_compositor()
    bpy.ops.wm.save_mainfile()
    bpy.ops.render.render(animation=True)  # the farm: blender -b scene.blend -a
    out_dir = tmp_path / "ground_truth"
    raw = [name for name in listing(out_dir / ".raw") if name.endswith(".exr")]
    assert raw == ["000001.exr", "000002.exr", "000003.exr"]

    code, out, err = run(capsys, "finalize", str(out_dir))
    assert code == 0, err
    assert "Converted 3 raw frame(s)" in out
    assert listing(out_dir / ".raw") == []
    assert listing(out_dir / "class") == ["000001.png", "000002.png", "000003.png"]
    assert json.loads((out_dir / "dataset.json").read_text())["frames"] == [1, 2, 3]
    box = next(c.id for c in saved_scene.ground_truth.classes if c.name == "Box")
    assert (png.read_png(out_dir / "class" / "000002.png") == box).any()


def test_render_can_switch_on_extra_outputs_for_one_run(saved_scene, tmp_path, capsys):
    out_dir = tmp_path / "data"
    argv = ["render", "--output", str(out_dir), "--frames", "2", "--normal", "--part"]
    code, _out, err = run(capsys, *argv, "--depth-mm", "--visible-fraction")
    assert code == 0, err
    assert listing(out_dir / "normal") == ["000002.exr"]
    assert listing(out_dir / "part") == ["000002.png"]
    assert listing(out_dir / "depth_mm") == ["000002.png"]
    meta = json.loads((out_dir / "meta" / "000002.json").read_text())
    assert all("visible_fraction" in i for i in meta["instances"])
    settings = saved_scene.ground_truth
    assert not (settings.output_normal or settings.output_part or settings.output_visible_fraction)
