"""Every panel's ``draw()`` runs against real data, checked against Blender's own RNA
(through the recorder in ``panel_recorder.py``), and the test looks at what was drawn."""

from types import SimpleNamespace

import bpy
import pytest

import ground_truth.panels
from ground_truth import compat
from ground_truth.scene import classes

from helpers import add_box, add_camera, label, new_class, select_only
from panel_recorder import (
    FARM,
    MAIN,
    OBJECT_CLASS_MENU,
    OUTPUT,
    RENDER,
    VIEWPORT,
    Layout,
    button,
    buttons,
    draw_all,
    dump_text,
    labels,
    operators,
    props,
    texts,
)


def test_panels_share_the_sidebar_tab():
    panels = [c for c in ground_truth.panels.classes if issubclass(c, bpy.types.Panel)]
    names = {c.__name__ for c in panels}
    assert names >= {MAIN, OUTPUT, RENDER, VIEWPORT, FARM}
    for cls in panels:
        assert (cls.bl_space_type, cls.bl_region_type, cls.bl_category) == (
            "VIEW_3D",
            "UI",
            "Ground Truth",
        )
        parent = getattr(cls, "bl_parent_id", "")
        # One panel in the tab; the others are its sub-panels (Farm is Render's).
        assert parent in names or (cls.__name__ == MAIN and parent == ""), cls
        if parent:
            assert [c.__name__ for c in panels].index(parent) < panels.index(cls), cls


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
    ]
    # Greyed out, and why.
    assign = button(main, "Assign to Selected")
    assert (assign["enabled"], assign["reason"]) == (False, "Add a class first")
    assert button(main, "Clear")["reason"] == "Select the objects first"
    assert ("No active object", "INFO") in labels(main)

    assert set(props(logs[OUTPUT], settings)) >= {
        "output_dir",
        "output_rgb",
        "output_depth",
        "output_class",
        "output_instance",
        "output_preview",
        "distinct_copies",
    }
    # Cycles: no engine hint; no compositor setup yet: only "Set Up".
    render = logs[RENDER]
    assert not [text for text, _ in labels(render) if "Cycles" in text]
    drawn = operators(render)
    assert ("ground_truth.render", {"animation": False}) in drawn
    assert ("ground_truth.render", {"animation": True}) in drawn
    farm = [name for name, _ in operators(logs[FARM])]
    assert "ground_truth.setup_compositor" in farm
    assert "ground_truth.remove_compositor" not in farm


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
    # Each row's colour and name; the selected class's Stuff checkbox below the list.
    assert props(main, settings.classes[0]) == ["color", "name"]
    assert props(main, settings.classes[1]) == ["color", "name", "stuff", "share_copies"]
    texts_ = [text for text, _ in labels(main)]
    # ID and object count of each class in the list.
    assert texts_[:4] == ["1", "2", "2", "0"]
    assert ("Car", "OBJECT_DATA") in labels(main)
    # The active object's class, as a menu to change it, and its own instance ID.
    (menu,) = [e for e in main if e["call"] == "menu"]
    assert (menu["menu"], menu["text"]) == (OBJECT_CLASS_MENU, "1  Vehicle")
    assert str(car.ground_truth.instance_id) in texts_
    assert not [icon for _, icon in labels(main) if icon == "ERROR"]
    # The active object's class is marked in the list (the highlighted row is Person).
    names = [e for e in main if e["call"] == "prop" and e["property"] == "name"]
    assert [e.get("icon") for e in names] == ["LAYER_ACTIVE", "NONE"]
    assert settings.classes[settings.active_class_index].name == "Person"


def test_duplicate_class_names_are_flagged_in_the_list(scene):
    new_class("Car")
    new_class("Bus")
    scene.ground_truth.classes[1].name = "Car"  # edited in the list by hand
    main = draw_all(scene)[MAIN]
    names = [e for e in main if e["call"] == "prop" and e["property"] == "name"]
    assert [e.get("icon") for e in names] == ["ERROR", "ERROR"]
    assert ("Class names must be unique: 'Car' is used twice", "ERROR") in labels(main)


def test_unlabelled_and_missing_class_active_objects(scene):
    box = add_box(scene, "Box", (0.0, 0.0, 0.0), (1.0, 1.0, 1.0))
    new_class("Car")
    main = draw_all(scene, active_object=box)[MAIN]
    assert "Unlabelled" in texts(main) and "None" in texts(main)

    box.ground_truth.class_id = 7  # e.g. appended from a file that had class 7
    (menu,) = [e for e in draw_all(scene, active_object=box)[MAIN] if e["call"] == "menu"]
    assert (menu["text"], menu["icon"]) == ("7 (missing)", "ERROR")

    box.ground_truth.class_id = 0
    box.pass_index = 4  # the user's own
    assert "None (its own pass index 4 reads 0)" in texts(draw_all(scene, active_object=box))


def test_preview_buttons_turn_the_colours_off_when_they_are_on(scene):
    add_box(scene, "Box", (0.0, 0.0, 0.0), (1.0, 1.0, 1.0))
    new_class("Car")
    viewport = draw_all(scene)[VIEWPORT]
    assert [(b["text"], b["properties"]) for b in buttons(viewport)] == [
        ("Show Class Colours", {"enable": True, "mode": "CLASS"}),
        ("Show Instance Colours", {"enable": True, "mode": "INSTANCE"}),
    ]
    assert bpy.ops.ground_truth.preview_colors(enable=True) == {"FINISHED"}
    viewport = draw_all(scene)[VIEWPORT]
    hide = button(viewport, "Hide Class Colours")
    assert hide["properties"] == {"enable": False, "mode": "CLASS"} and hide["depress"]
    # The other mode switches the colours over.
    assert button(viewport, "Show Instance Colours")["properties"]["enable"] is True
    bpy.ops.ground_truth.preview_colors(enable=False)


def test_render_panel_with_another_engine_and_a_compositor_setup(scene):
    add_camera(scene)
    scene.render.engine = compat.EEVEE_ENGINE
    render = draw_all(scene)[RENDER]
    assert [icon for text, icon in labels(render) if "Cycles" in text] == ["INFO"]

    scene.render.engine = "CYCLES"
    assert bpy.ops.ground_truth.setup_compositor() == {"FINISHED"}
    farm = draw_all(scene)[FARM]
    assert button(farm, "Update Compositor")["operator"] == "ground_truth.setup_compositor"
    assert "ground_truth.remove_compositor" in [name for name, _ in operators(farm)]
    bpy.ops.ground_truth.remove_compositor()
    drawn = [name for name, _ in operators(draw_all(scene)[FARM])]
    assert "ground_truth.remove_compositor" not in drawn


def test_render_buttons_say_why_they_are_greyed_out(scene):
    render = draw_all(scene)[RENDER]
    why = "The scene has no active camera: add one or set it in Scene > Camera"
    assert (why, "ERROR") in labels(render)
    for text in ("Render Ground Truth", "Render Frame Range"):
        assert (button(render, text)["enabled"], button(render, text)["reason"]) == (False, why)
    add_camera(scene)
    render = draw_all(scene)[RENDER]
    assert (why, "ERROR") not in labels(render)
    assert button(render, "Render Ground Truth")["enabled"]


def test_render_options_come_before_the_buttons_that_use_them(scene):
    add_camera(scene)
    render = draw_all(scene)[RENDER]
    order = [
        e.get("property") or e.get("text") or e.get("operator")
        for e in render
        if e["call"] in ("prop", "operator")
    ]
    first_button = order.index("ground_truth.render")
    for option in ("samples", "labels_only", "resume", "use_scene_range", "frame_start"):
        assert order.index(option) < first_button, option
    headings = [e.get("heading") for e in render if e["call"] == "column" and e.get("heading")]
    assert headings == ["Options", "Frame Range"]
    assert [(e.get("text"), e["property"]) for e in render if e["call"] == "prop"][-3:] == [
        ("Frame Start", "frame_start"),
        ("End", "frame_end"),
        ("Step", "frame_step"),
    ]


def test_samples_field_with_its_meaning(scene):
    add_camera(scene)
    settings = scene.ground_truth
    scene.cycles.samples = 16
    render = draw_all(scene)[RENDER]
    assert "samples" in props(render, settings)
    assert "0: the scene's 16 samples" in texts(render)
    settings.samples = 4
    assert not [t for t in texts(draw_all(scene)[RENDER]) if t.startswith("0: ")]
    settings.labels_only = True
    render = draw_all(scene)[RENDER]
    assert "Labels Only renders 1 sample" in texts(render)
    (field,) = [e for e in render if e.get("property") == "samples"]
    assert field["layout"].active is False


def test_frame_range_shows_the_scene_or_the_panels_own_range(scene):
    settings = scene.ground_truth
    settings.use_scene_range = True
    render = draw_all(scene)[RENDER]
    assert {"frame_start", "frame_end", "frame_step"} <= set(props(render, scene))
    assert "Frame Start: 1 (greyed)" in dump_text({RENDER: render})
    settings.use_scene_range = False
    render = draw_all(scene)[RENDER]
    assert {"frame_start", "frame_end", "frame_step"} <= set(props(render, settings))
    assert not set(props(render, scene))


def test_output_groups_are_headed_and_distinct_copies_is_apart(scene):
    output = draw_all(scene)[OUTPUT]
    headings = [e.get("heading") for e in output if e["call"] == "column"]
    assert headings == ["Images", "Labels", "Geometry", "Annotations", "Instances"]
    text = dump_text({OUTPUT: output})
    assert "      Instances:\n        [x] Distinct Copies" in text


def test_every_visible_setting_is_somewhere_in_the_panels(scene):
    add_camera(scene)
    box = add_box(scene, "Box", (0.0, 0.0, 0.0), (1.0, 1.0, 1.0))
    label([box], "Car")
    settings = scene.ground_truth
    shown = set()
    for use_scene_range in (True, False):
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
    # The class's own settings too: colour and name in the list, stuff below it.
    main = draw_all(scene, active_object=box)[MAIN]
    assert set(props(main, settings.classes[0])) == {"color", "name", "share_copies", "stuff"}


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
    with pytest.raises(AssertionError, match="GROUND_TRUTH_MT_nothing"):
        layout.menu("GROUND_TRUTH_MT_nothing")


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
    texts_ = [t for t, icon in labels(draw_all(scene)[MAIN]) if icon == "OBJECT_DATA"]
    assert texts_[:8] == ["0", "0", "0", "20", "0", "0", "0", "0"]


def test_the_dump_reads_as_the_panels_do(scene):
    add_camera(scene)
    car = add_box(scene, "Car", (0.0, 0.0, 0.0), (1.0, 1.0, 1.0))
    label([car], "Vehicle")
    select_only([car])
    text = dump_text(draw_all(scene, active_object=car))
    assert text.startswith("== Ground Truth ==\n  list of 1 classes\n")
    assert "\n    > #" in text and "(o) 'Vehicle'" in text
    assert '[Assign "Vehicle" to Selected]  [Clear]' in text
    assert "Class  [1  Vehicle v]" in text
    assert "    == Output ==" in text and "        == Farm ==" in text
    assert text.rstrip().endswith("[Unlabelled]")


def test_copy_ids_show_their_choice_and_their_limit(scene):
    add_camera(scene)
    box = add_box(scene, "Box", (0, 0, 0), (1, 1, 1))
    label([box], "Car")
    collection = bpy.data.collections.new("Cars")
    empty = bpy.data.objects.new("Car park", None)
    empty.instance_type = "COLLECTION"
    empty.instance_collection = collection
    scene.collection.objects.link(empty)
    logs = draw_all(scene, active_object=empty)
    # The instancer's own choice sits in the active object's box; a plain object has none.
    assert props(logs[MAIN], empty.ground_truth) == ["share_copies"]
    assert props(draw_all(scene, active_object=box)[MAIN], box.ground_truth) == []
    assert ("Instance IDs up to 65,535 (16-bit map)", "NONE") in labels(logs[OUTPUT])
    scene.ground_truth.output_instance = False
    scene.ground_truth.output_instance32 = True
    shown = labels(draw_all(scene)[OUTPUT])
    assert ("Instance IDs up to 4,294,967,295 (32-bit map)", "NONE") in shown
