"""A recording stand-in for Blender's ``UILayout``, to read what panels draw.

The bpy module opens no window, so ``layout`` is a recorder: each call is checked
against ``UILayout``'s RNA functions (argument names, types, icon names), every
``prop()`` against the data's RNA properties, every ``operator()`` against the
registered operator and its properties. ``template_list`` runs the list's
``filter_items`` once and ``draw_item`` for every row, as Blender does in a redraw.
"""

from types import SimpleNamespace

import bpy
import pytest

import ground_truth.panels

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
        list_self = SimpleNamespace(
            layout_type="DEFAULT",
            filter_name="",
            bitflag_filter_item=1 << 30,
            use_filter_sort_alpha=False,
        )
        if "filter_items" in ui_list.__dict__:
            ui_list.filter_items(list_self, self._context, data, entry["propname"])
        for index, item in enumerate(getattr(data, entry["propname"])):
            row = Layout(self._log, self._context)
            self._log.append({"call": "draw_item", "item": item, "index": index})
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
