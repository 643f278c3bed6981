"""Every panel's ``draw()`` runs against real data, checked against Blender's own RNA
(through the recorder in ``panel_recorder.py``), and the test looks at what was drawn."""

from types import SimpleNamespace

import bpy
import pytest

import ground_truth.panels
from ground_truth import compat
from ground_truth.scene import classes

from helpers import add_box, add_camera, label, new_class
from panel_recorder import MAIN, OUTPUT, RENDER, Layout, draw_all, labels, operators, props


def test_panels_share_the_sidebar_tab():
    panels = [c for c in ground_truth.panels.classes if issubclass(c, bpy.types.Panel)]
    assert {c.__name__ for c in panels} >= {MAIN, OUTPUT, RENDER}
    for cls in panels:
        assert (cls.bl_space_type, cls.bl_region_type, cls.bl_category) == (
            "VIEW_3D",
            "UI",
            "Ground Truth",
        )
        parent = getattr(cls, "bl_parent_id", "")
        assert parent in ("", MAIN), cls


def test_empty_scene_without_an_active_object(scene):
    logs = draw_all(scene)
    settings = scene.ground_truth
    main = logs[MAIN]
    (listing,) = [e for e in main if e["call"] == "template_list"]
    assert listing["listtype_name"] == "GROUND_TRUTH_UL_classes"
    assert listing["dataptr"] == settings and listing["propname"] == "classes"
    assert listing["active_propname"] == "active_class_index"
    assert not [e for e in main if e["call"] == "draw_item"]
    assert [name for name, _ in operators(main)] == [
        "ground_truth.add_class",
        "ground_truth.remove_class",
        "ground_truth.rename_class",
        "ground_truth.select_class",
        "ground_truth.assign_class",
        "ground_truth.clear_class",
        "ground_truth.import_pass_indices",
        "ground_truth.preview_colors",
    ]
    assert operators(main)[-1][1] == {"enable": True}
    assert ("No active object", "INFO") in labels(main)

    assert set(props(logs[OUTPUT], settings)) >= {
        "output_dir",
        "output_rgb",
        "output_depth",
        "output_class",
        "output_instance",
        "output_preview",
    }
    # Cycles: no engine hint; no compositor setup yet: only "Set Up".
    render = logs[RENDER]
    assert not [text for text, _ in labels(render) if "Cycles" in text]
    drawn = operators(render)
    assert ("ground_truth.render", {"animation": False}) in drawn
    assert ("ground_truth.render", {"animation": True}) in drawn
    assert "ground_truth.setup_compositor" in [name for name, _ in drawn]
    assert "ground_truth.remove_compositor" not in [name for name, _ in drawn]


def test_classes_and_a_labelled_active_object(scene):
    car = add_box(scene, "Car", (0.0, 0.0, 0.0), (1.0, 1.0, 1.0))
    bus = add_box(scene, "Bus", (2.0, 0.0, 0.0), (1.0, 1.0, 1.0))
    label([car, bus], "Vehicle")
    new_class("Person")
    settings = scene.ground_truth
    logs = draw_all(scene, active_object=car)
    main = logs[MAIN]

    items = [e for e in main if e["call"] == "draw_item"]
    assert [e["item"].name for e in items] == ["Vehicle", "Person"]
    for item in settings.classes:
        assert props(main, item) == ["color", "name"]
    texts = [text for text, _ in labels(main)]
    # ID and object count of each class in the list.
    assert texts[:4] == ["1", "2", "2", "0"]
    assert ("Car", "OBJECT_DATA") in labels(main)
    assert "1  Vehicle" in texts
    assert str(car.ground_truth.instance_id) in texts
    assert not [icon for _, icon in labels(main) if icon == "ERROR"]


def test_duplicate_class_names_are_flagged_in_the_list(scene):
    new_class("Car")
    new_class("Bus")
    scene.ground_truth.classes[1].name = "Car"  # edited in the list by hand
    main = draw_all(scene)[MAIN]
    names = [e for e in main if e["call"] == "prop" and e["property"] == "name"]
    assert [e.get("icon") for e in names] == ["ERROR", "ERROR"]


def test_unlabelled_and_missing_class_active_objects(scene):
    box = add_box(scene, "Box", (0.0, 0.0, 0.0), (1.0, 1.0, 1.0))
    new_class("Car")
    texts = [text for text, _ in labels(draw_all(scene, active_object=box)[MAIN])]
    assert "Unlabelled" in texts and "None" in texts

    box.ground_truth.class_id = 7  # e.g. appended from a file that had class 7
    assert ("7 (missing)", "ERROR") in labels(draw_all(scene, active_object=box)[MAIN])


def test_preview_button_turns_the_preview_off_when_it_is_on(scene):
    add_box(scene, "Box", (0.0, 0.0, 0.0), (1.0, 1.0, 1.0))
    new_class("Car")
    assert bpy.ops.ground_truth.preview_colors(enable=True) == {"FINISHED"}
    main = draw_all(scene)[MAIN]
    (button,) = [e for e in main if e.get("operator") == "ground_truth.preview_colors"]
    assert button["properties"] == {"enable": False}
    assert button["depress"] is True and button["text"] == "Hide Class Colours"
    bpy.ops.ground_truth.preview_colors(enable=False)


def test_render_panel_with_another_engine_and_a_compositor_setup(scene):
    add_camera(scene)
    scene.render.engine = compat.EEVEE_ENGINE
    render = draw_all(scene)[RENDER]
    assert [icon for text, icon in labels(render) if "Cycles" in text] == ["INFO"]

    scene.render.engine = "CYCLES"
    assert bpy.ops.ground_truth.setup_compositor() == {"FINISHED"}
    drawn = [name for name, _ in operators(draw_all(scene)[RENDER])]
    assert "ground_truth.setup_compositor" in drawn  # "Update Compositor"
    assert "ground_truth.remove_compositor" in drawn
    bpy.ops.ground_truth.remove_compositor()
    drawn = [name for name, _ in operators(draw_all(scene)[RENDER])]
    assert "ground_truth.remove_compositor" not in drawn


def test_frame_range_shows_the_scene_or_the_panels_own_range(scene):
    settings = scene.ground_truth
    if "use_scene_range" not in settings.bl_rna.properties:
        pytest.skip("no frame range setting")
    settings.use_scene_range = True
    render = draw_all(scene)[RENDER]
    assert {"frame_start", "frame_end", "frame_step"} <= set(props(render, scene))
    settings.use_scene_range = False
    render = draw_all(scene)[RENDER]
    assert {"frame_start", "frame_end", "frame_step"} <= set(props(render, settings))
    assert not set(props(render, scene))


def test_every_visible_setting_is_somewhere_in_the_panels(scene):
    add_camera(scene)
    box = add_box(scene, "Box", (0.0, 0.0, 0.0), (1.0, 1.0, 1.0))
    label([box], "Car")
    settings = scene.ground_truth
    shown = set()
    for use_scene_range in (True, False):
        if "use_scene_range" in settings.bl_rna.properties:
            settings.use_scene_range = use_scene_range
        for log in draw_all(scene, active_object=box).values():
            shown |= set(props(log, settings))
            shown |= {
                e["propname"]
                for e in log
                if e["call"] == "template_list" and e["dataptr"] == settings
            }
            shown |= {
                e["active_propname"]
                for e in log
                if e["call"] == "template_list" and e["active_dataptr"] == settings
            }
    visible = {
        p.identifier
        for p in settings.bl_rna.properties
        if not p.is_hidden and p.identifier not in ("rna_type", "name")
    }
    assert visible - shown == set()


def test_the_recorder_rejects_what_blender_would_reject(scene):
    # The checks above are only worth something if the stand-in fails on mistakes.
    layout = Layout([], SimpleNamespace(scene=scene))
    settings = scene.ground_truth
    with pytest.raises(AssertionError, match="no property"):
        layout.prop(settings, "output_folder")
    with pytest.raises(AssertionError, match="not one of"):
        layout.label(text="x", icon="NO_SUCH_ICON")
    with pytest.raises(AssertionError, match="no argument"):
        layout.row(aligned=True)
    with pytest.raises(AssertionError, match="has no attribute"):
        layout.scale = 2.0
    with pytest.raises(pytest.fail.Exception, match="not registered"):
        layout.operator("ground_truth.no_such_operator")
    with pytest.raises(AssertionError, match="has no property"):
        layout.operator("ground_truth.render").animations = True
    with pytest.raises(AssertionError, match="is not BOOLEAN"):
        layout.operator("ground_truth.render").animation = "yes"


def test_the_active_objects_materials_show_their_part_ids(scene):
    box = add_box(scene, "Box", (0.0, 0.0, 0.0), (1.0, 1.0, 1.0))
    wheel = bpy.data.materials.new("Wheel")
    wheel.pass_index = 3
    door = bpy.data.materials.new("Door")
    for material in (wheel, door, wheel):  # a material in two slots is shown once
        box.data.materials.append(material)
    main = draw_all(scene, active_object=box)[MAIN]
    assert props(main, wheel) == ["pass_index"] and props(main, door) == ["pass_index"]
    assert ("Wheel", "MATERIAL") in labels(main) and ("Door", "MATERIAL") in labels(main)
    (field,) = [e for e in main if e["call"] == "prop" and e["data"] == wheel]
    assert field["text"] == "Part ID"

    plain = add_box(scene, "Plain", (2.0, 0.0, 0.0), (1.0, 1.0, 1.0))
    assert "Parts" not in [text for text, _ in labels(draw_all(scene, active_object=plain)[MAIN])]


def test_the_class_list_counts_objects_once_per_redraw(scene, monkeypatch):
    for number in range(8):
        new_class(f"Class {number}")
    for number in range(20):
        label([add_box(scene, f"Box {number}", (number, 0.0, 0.0), (1.0, 1.0, 1.0))], "Class 3")
    counted = []
    count = classes.class_object_counts
    monkeypatch.setattr(classes, "class_object_counts", lambda s: counted.append(s) or count(s))
    rows = [entry for entry in draw_all(scene)[MAIN] if entry["call"] == "draw_item"]
    assert len(rows) == 8 and counted == [scene]
    texts = [t for t, icon in labels(draw_all(scene)[MAIN]) if icon == "OBJECT_DATA"]
    assert texts[:8] == ["0", "0", "0", "20", "0", "0", "0", "0"]
