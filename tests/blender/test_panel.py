"""Every panel's ``draw()`` runs against real data, checked against Blender's own RNA.

The bpy module opens no window, so ``layout`` is a recorder: each call is checked
against ``UILayout``'s RNA functions (argument names, types, icon names), every
``prop()`` against the data's RNA properties, every ``operator()`` against the
registered operator and its properties. The test then looks at what was drawn.
"""

from types import SimpleNamespace

import bpy
import pytest

import ground_truth.panels

from helpers import add_box, add_camera, label, new_class

ENGINES = bpy.types.RenderSettings.bl_rna.properties["engine"].enum_items.keys()
EEVEE = next(name for name in ENGINES if "EEVEE" in name)
UI_FUNCTIONS = bpy.types.UILayout.bl_rna.functions
UI_PROPERTIES = bpy.types.UILayout.bl_rna.properties

_PYTHON_TYPES = {
    "BOOLEAN": (bool,),
    "INT": (int,),
    "FLOAT": (int, float),
    "STRING": (str,),
    "ENUM": (str,),
}


def _check_value(where, rna_property, value):
    """Assert ``value`` fits ``rna_property`` (type, enum item, pointer)."""
    kind = rna_property.type
    if kind == "POINTER":
        assert isinstance(value, bpy.types.bpy_struct), f"{where}: {value!r} is not RNA data"
        return
    if kind == "ENUM" and rna_property.is_enum_flag:
        assert isinstance(value, set), f"{where}: {value!r} is not a set"
        values = value
    elif getattr(rna_property, "array_length", 0):
        assert len(value) == rna_property.array_length, f"{where}: {value!r}"
        return
    else:
        assert isinstance(value, _PYTHON_TYPES[kind]), f"{where}: {value!r} is not {kind}"
        values = {value} if kind == "ENUM" else set()
    items = rna_property.enum_items.keys() if kind == "ENUM" else ()
    for item in values:
        assert item in items, f"{where}: {item!r} is not one of {kind} items"


class OperatorButton:
    """What ``layout.operator()`` returns: property assignments are checked and kept."""

    def __init__(self, idname, log_entry):
        module, name = idname.split(".")
        rna = getattr(getattr(bpy.ops, module), name).get_rna_type()
        object.__setattr__(self, "_rna", rna)
        object.__setattr__(self, "_entry", log_entry)

    def __setattr__(self, name, value):
        properties = self._rna.properties
        assert name in properties and name != "rna_type", (
            f"operator {self._entry['operator']} has no property {name!r}"
        )
        _check_value(f"{self._entry['operator']}.{name}", properties[name], value)
        self._entry["properties"][name] = value


class Layout:
    """A recording stand-in for ``UILayout``; sub-layouts share the log."""

    def __init__(self, log, context):
        object.__setattr__(self, "_log", log)
        object.__setattr__(self, "_context", context)
        object.__setattr__(self, "_attributes", {})

    def __setattr__(self, name, value):
        assert name in UI_PROPERTIES, f"UILayout has no attribute {name!r}"
        assert not UI_PROPERTIES[name].is_readonly, f"UILayout.{name} is read-only"
        _check_value(f"UILayout.{name}", UI_PROPERTIES[name], value)
        self._attributes[name] = value

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        if name in self._attributes:
            return self._attributes[name]
        assert name in UI_FUNCTIONS, f"UILayout has no function {name!r}"
        return lambda *args, **kwargs: self._call(name, args, kwargs)

    def _call(self, name, args, kwargs):
        function = UI_FUNCTIONS[name]
        inputs = [p for p in function.parameters if not p.is_output]
        outputs = [p for p in function.parameters if p.is_output]
        assert len(args) <= len(inputs), f"{name}(): too many arguments"
        bound = dict(zip((p.identifier for p in inputs), args, strict=False))
        for key, value in kwargs.items():
            assert key not in bound, f"{name}(): {key} given twice"
            bound[key] = value
        by_name = {p.identifier: p for p in inputs}
        for key, value in bound.items():
            assert key in by_name, f"UILayout.{name}() has no argument {key!r}"
            _check_value(f"UILayout.{name}({key}=)", by_name[key], value)
        for parameter in inputs:
            assert not parameter.is_required or parameter.identifier in bound, (
                f"UILayout.{name}() needs {parameter.identifier!r}"
            )
        entry = {"call": name, **bound}
        self._log.append(entry)
        handler = getattr(type(self), f"_on_{name}", None)
        if handler is not None:
            return handler(self, entry)
        if (
            outputs
            and outputs[0].type == "POINTER"
            and outputs[0].fixed_type == bpy.types.UILayout.bl_rna
        ):
            return Layout(self._log, self._context)
        assert not outputs, f"the stand-in does not know what UILayout.{name}() returns"
        return None

    def _on_prop(self, entry):
        data, name = entry["data"], entry["property"]
        properties = data.bl_rna.properties
        assert name in properties, f"{data.bl_rna.identifier} has no property {name!r}"

    def _on_operator(self, entry):
        idname = entry["operator"]
        entry["properties"] = {}
        try:
            return OperatorButton(idname, entry)
        except KeyError:
            pytest.fail(f"operator {idname!r} is not registered")

    def _on_template_list(self, entry):
        ui_list = getattr(bpy.types, entry["listtype_name"], None)
        assert ui_list is not None and issubclass(ui_list, bpy.types.UIList), entry
        data, active = entry["dataptr"], entry["active_dataptr"]
        assert data.bl_rna.properties[entry["propname"]].type == "COLLECTION"
        assert active.bl_rna.properties[entry["active_propname"]].type == "INT"
        active_index = getattr(active, entry["active_propname"])
        for index, item in enumerate(getattr(data, entry["propname"])):
            row = Layout(self._log, self._context)
            self._log.append({"call": "draw_item", "item": item, "index": index})
            list_self = SimpleNamespace(layout_type="DEFAULT", filter_name="")
            ui_list.draw_item(
                list_self,
                self._context,
                row,
                data,
                item,
                0,
                active,
                entry["active_propname"],
                index,
            )
        entry["active_index"] = active_index


def draw_all(scene, active_object=None):
    """Draw every panel of the extension; returns the log, one list per panel."""
    view_layer = bpy.context.view_layer
    context = SimpleNamespace(
        scene=scene,
        view_layer=view_layer,
        active_object=active_object,
        object=active_object,
        selected_objects=[ob for ob in scene.objects if ob.select_get(view_layer=view_layer)],
        window_manager=bpy.context.window_manager,
        preferences=bpy.context.preferences,
    )
    logs = {}
    for cls in ground_truth.panels.classes:
        if not issubclass(cls, bpy.types.Panel):
            continue
        assert cls.is_registered
        log = []
        panel = SimpleNamespace(layout=Layout(log, context), bl_label=cls.bl_label)
        poll = cls.__dict__.get("poll")
        if poll is None or poll.__func__(cls, context):
            if "draw_header" in cls.__dict__:
                cls.draw_header(panel, context)
            cls.draw(panel, context)
        logs[cls.__name__] = log
    # Every operator the panels show must poll without an error in the real context.
    for log in logs.values():
        for entry in log:
            if entry["call"] == "operator":
                module, name = entry["operator"].split(".")
                getattr(getattr(bpy.ops, module), name).poll()
    return logs


def props(log, data=None):
    return [
        entry["property"]
        for entry in log
        if entry["call"] == "prop" and (data is None or entry["data"] == data)
    ]


def operators(log):
    return [
        (entry["operator"], entry["properties"]) for entry in log if entry["call"] == "operator"
    ]


def labels(log):
    return [
        (entry.get("text"), entry.get("icon", "NONE")) for entry in log if entry["call"] == "label"
    ]


MAIN, OUTPUT, RENDER = (
    "VIEW3D_PT_ground_truth",
    "VIEW3D_PT_ground_truth_output",
    "VIEW3D_PT_ground_truth_render",
)


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
    scene.render.engine = EEVEE
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
