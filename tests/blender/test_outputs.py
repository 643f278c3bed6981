"""The output declarations drive every layer: a walk over them finds each output in the
setting, the panel, the headless command, dataset.json's conventions, the converter, the
reader, and in the files a render writes."""

import json

import bpy
import pytest

from ground_truth.commands import cli
from ground_truth.dataset import description, layout, reader
from ground_truth.dataset.outputs import BY_KEY, OUTPUTS
from ground_truth.labels.convert import CONVERTERS
from ground_truth.render import pipeline

from helpers import add_box, add_camera, add_plane, label
from panel_recorder import OUTPUT, draw_all, props


def test_every_output_is_a_setting_with_its_label_and_default(scene):
    settings = scene.ground_truth
    properties = settings.bl_rna.properties
    for output in OUTPUTS:
        prop = properties[output.setting]
        assert (prop.name, prop.default) == (output.label, output.default), output.key
        assert getattr(settings, output.setting) is output.default


def test_every_output_is_in_the_panel(scene):
    drawn = props(draw_all(scene)[OUTPUT], scene.ground_truth)
    for output in OUTPUTS:
        assert output.setting in drawn, output.key


def test_every_output_has_a_flag_and_a_no_flag():
    parser = cli.build_parser()
    for output in OUTPUTS:
        on = parser.parse_args(["render", "--output", "x", output.flag])
        off = parser.parse_args(["render", "--output", "x", "--no-" + output.flag[2:]])
        neither = parser.parse_args(["render", "--output", "x"])
        assert getattr(on, output.setting) is True, output.key
        assert getattr(off, output.setting) is False, output.key
        assert getattr(neither, output.setting) is None, output.key


def test_every_output_is_in_the_conventions_with_its_path():
    for output in OUTPUTS:
        entry = description.CONVENTIONS[output.key]
        assert entry.get("path") == output.path_pattern, output.key
        if len(output.channels) > 1:
            assert entry["channels"] == list(output.channels)


def test_every_output_has_a_converter_or_a_writer_and_a_reader():
    for output in OUTPUTS:
        if output.frame_files and not output.needs_instances:
            assert output.key in CONVERTERS, output.key
        if output.frame_files:
            assert output.reader_keys, output.key
    assert set(CONVERTERS) <= set(BY_KEY)
    assert set(reader.DEFAULT_KEYS) | {"preview"} == {
        key for output in OUTPUTS for key in output.reader_keys
    }


@pytest.fixture
def every_output(scene, out_dir):
    add_camera(scene)
    floor = add_plane(scene, "Floor")
    box = add_box(scene, "Box", (0.0, 0.0, 0.5), (1.0, 1.0, 1.0))
    box.keyframe_insert("location", frame=1)
    box.location.x = 0.5
    box.keyframe_insert("location", frame=3)
    label([box], "Box")
    label([floor], "Floor")
    for output in OUTPUTS:
        setattr(scene.ground_truth, output.setting, True)
    return scene


def test_a_render_with_every_output_writes_every_file_the_reader_reads(every_output, out_dir):
    report = pipeline.render_ground_truth(every_output, [2])
    assert report.frames == [2]
    for output in OUTPUTS:
        if output.frame_files:
            assert (out_dir / layout.frame_relative_path(output.key, 2)).is_file(), output.key
        elif output.file:
            assert (out_dir / output.file).is_file(), output.key
    keys = [key for output in OUTPUTS for key in output.reader_keys]
    sample = reader.load_frame(out_dir, 2, keys=keys)
    missing = [key for key in keys if sample[key] is None and key != "alpha"]
    assert not missing
    instances = sample["meta"]["instances"]
    assert all("visible_fraction" in i for i in instances)
    coco = reader.load_coco(out_dir)
    assert [image["id"] for image in coco["images"]] == [2]
    assert all("visible_fraction" in a for a in coco["annotations"])
    conventions = json.loads((out_dir / "dataset.json").read_text())["conventions"]
    assert set(BY_KEY) <= set(conventions)


def test_flags_switch_outputs_for_one_run_only(every_output, out_dir, tmp_path):
    blend = tmp_path / "scene.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))
    scene = bpy.context.scene
    target = tmp_path / "run"
    argv = ["render", "--output", str(target), "--frames", "1", "--no-depth", "--no-preview"]
    assert cli.main(argv) == 0
    assert not (target / "depth").exists() and not (target / "preview").exists()
    assert (target / "normal" / "000001.exr").is_file()
    assert scene.ground_truth.output_depth and scene.ground_truth.output_preview
