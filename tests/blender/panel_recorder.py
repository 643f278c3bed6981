"""A recording stand-in for Blender's ``UILayout``, to read what panels draw.

The bpy module opens no window, so ``layout`` is a recorder: each call is checked
against ``UILayout``'s RNA functions (argument names, types, icon names), every
``prop()`` against the data's RNA properties, every ``operator()`` against the
registered operator and its properties. ``template_list`` runs the list's
``filter_items`` once and ``draw_item`` for every row, as Blender does in a redraw.

Every entry of the log remembers the layout it was drawn into, and every layout its
parent, so that :func:`is_enabled` can say whether a button is greyed out (its
operator's ``poll()``, with the message it sets, or a layout's ``enabled``) and
:func:`dump_text` can write the panels as indented text, as a user reads them.
"""

import itertools
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

# Layout functions that return a sub-layout drawn on one line (the others stack lines).
_INLINE = {"row", "split"}

_layout_ids = itertools.count(1)


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


def _operator_rna(idname):
    module, name = idname.split(".")
    return getattr(getattr(bpy.ops, module), name).get_rna_type()


def poll_with_reason(idname, context):
    """``(polls, message)`` of operator ``idname`` in ``context``.

    The extension's operators are polled through their Python ``poll()`` with a
    ``poll_message_set`` that records the message (the panel's context is a stand-in);
    Blender's own operators through ``bpy.ops`` in the real context (no message).
    """
    module, name = idname.split(".")
    cls = getattr(bpy.types, f"{module.upper()}_OT_{name}", None)
    poll = None
    if cls is not None:
        poll = next((k.__dict__["poll"] for k in cls.__mro__ if "poll" in k.__dict__), None)
    if poll is None:
        return getattr(getattr(bpy.ops, module), name).poll(), None
    messages = []
    probe = SimpleNamespace(poll_message_set=messages.append, bl_rna=cls.bl_rna)
    result = bool(poll.__func__(probe, context))
    return result, (messages[-1] if messages and not result else None)


class OperatorButton:
    """What ``layout.operator()`` returns: property assignments are checked and kept."""

    def __init__(self, idname, log_entry):
        object.__setattr__(self, "_rna", _operator_rna(idname))
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

    def __init__(self, log, context, parent=None, kind="panel"):
        object.__setattr__(self, "_log", log)
        object.__setattr__(self, "_context", context)
        object.__setattr__(self, "_attributes", {})
        object.__setattr__(self, "_parent", parent)
        object.__setattr__(self, "_kind", kind)
        object.__setattr__(self, "_id", next(_layout_ids))

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
        if name in UI_PROPERTIES:
            return _inherited(self, name, UI_PROPERTIES[name].default)
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
        entry = {"call": name, "layout": self, **bound}
        self._log.append(entry)
        handler = getattr(type(self), f"_on_{name}", None)
        if handler is not None:
            return handler(self, entry)
        if (
            outputs
            and outputs[0].type == "POINTER"
            and outputs[0].fixed_type == bpy.types.UILayout.bl_rna
        ):
            sub = Layout(self._log, self._context, parent=self, kind=name)
            entry["result"] = sub
            return sub
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
            button = OperatorButton(idname, entry)
        except KeyError:
            pytest.fail(f"operator {idname!r} is not registered")
        entry["polls"], entry["reason"] = poll_with_reason(idname, self._context)
        return button

    def _on_menu(self, entry):
        menu = getattr(bpy.types, entry["menu"], None)
        assert menu is not None and issubclass(menu, bpy.types.Menu), entry

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
            row = Layout(self._log, self._context, parent=self, kind="list_row")
            self._log.append(
                {"call": "draw_item", "layout": self, "item": item, "index": index, "result": row}
            )
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


def _inherited(layout, name, default):
    """A layout attribute as it applies: set on the layout or the nearest parent."""
    while layout is not None:
        if name in layout._attributes:
            return layout._attributes[name]
        layout = layout._parent
    return default


def _layouts_allow(layout):
    while layout is not None:
        if layout._attributes.get("enabled", True) is False:
            return False
        layout = layout._parent
    return True


def is_enabled(entry):
    """Whether a drawn button or field can be clicked: its layouts are enabled and, for
    an operator, its ``poll()`` passes."""
    return _layouts_allow(entry["layout"]) and entry.get("polls", True)


def make_context(scene, active_object=None):
    view_layer = bpy.context.view_layer
    return SimpleNamespace(
        scene=scene,
        view_layer=view_layer,
        active_object=active_object,
        object=active_object,
        selected_objects=[ob for ob in scene.objects if ob.select_get(view_layer=view_layer)],
        window_manager=bpy.context.window_manager,
        preferences=bpy.context.preferences,
        collection=view_layer.active_layer_collection.collection,
    )


def draw_all(scene, active_object=None):
    """Draw every panel and menu of the extension; returns the log, one list per class.

    A panel whose ``poll()`` fails is left out; a sub-panel is drawn when its parent is.
    """
    context = make_context(scene, active_object)
    logs = {}
    # Panels first (parents before their sub-panels), then menus.
    ordered = sorted(ground_truth.panels.classes, key=lambda c: issubclass(c, bpy.types.Menu))
    for cls in ordered:
        if issubclass(cls, bpy.types.Panel):
            assert cls.is_registered
            parent = getattr(cls, "bl_parent_id", "")
            if parent and parent not in logs:
                continue
        elif not issubclass(cls, bpy.types.Menu):
            continue
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


def button_text(entry):
    """The text a user reads on a drawn operator button, menu button or field."""
    if entry["call"] == "operator":
        text = entry.get("text")
        return _operator_rna(entry["operator"]).name if text is None else text
    if entry["call"] == "prop":
        text = entry.get("text")
        return entry["data"].bl_rna.properties[entry["property"]].name if text is None else text
    return entry.get("text", "")


def buttons(log, idname=None):
    """The drawn operator buttons: dicts with ``operator``, ``text``, ``properties``,
    ``enabled`` and ``reason`` (the poll message when greyed out)."""
    return [
        {
            "operator": entry["operator"],
            "text": button_text(entry),
            "properties": entry["properties"],
            "enabled": is_enabled(entry),
            "reason": entry["reason"],
            "depress": entry.get("depress", False),
        }
        for entry in log
        if entry["call"] == "operator" and idname in (None, entry["operator"])
    ]


def button(log, text):
    """The one drawn operator button that reads ``text``."""
    found = [b for b in buttons(log) if b["text"] == text]
    assert len(found) == 1, (text, [b["text"] for b in buttons(log)])
    return found[0]


def texts(logs):
    """Every text a user reads in the drawn panels: labels, buttons, menus, field names,
    column headings; with a dict of logs, the panels' titles too."""
    found = []
    if isinstance(logs, dict):
        found += [getattr(bpy.types, name).bl_label for name in logs]
        logs = logs.values()
    else:
        logs = [logs]
    for log in logs:
        for entry in log:
            if entry["call"] in ("label", "operator", "menu", "prop"):
                found.append(button_text(entry))
            elif entry.get("heading"):
                found.append(entry["heading"])
    return found


def reports(capfd):
    """The operator reports printed since the last call, as a user reads them in the
    status bar (the bpy module prints them: ``Info: ...``, ``Warning: ...``)."""
    out, err = capfd.readouterr()
    return [
        line
        for line in (out + err).splitlines()
        if line.startswith(("Info: ", "Warning: ", "Error: "))
    ]


MAIN, OUTPUT, RENDER = (
    "VIEW3D_PT_ground_truth",
    "VIEW3D_PT_ground_truth_output",
    "VIEW3D_PT_ground_truth_render",
)
LABELLING = "VIEW3D_PT_ground_truth_labelling"
UNLABELLED = "VIEW3D_PT_ground_truth_unlabelled"
VIEWPORT = "VIEW3D_PT_ground_truth_viewport"
FARM = "VIEW3D_PT_ground_truth_farm"
OBJECT_CLASS_MENU = "GROUND_TRUTH_MT_object_class"


# --- the panels as text ------------------------------------------------------------------

_ICON_MARKS = {"ERROR": "(!) ", "INFO": "(i) ", "LAYER_ACTIVE": "(o) "}
_ICON_BUTTONS = {"ADD": "+", "REMOVE": "-", "TRASH": "trash", "X": "x"}


def _value_text(entry):
    data, name = entry["data"], entry["property"]
    rna = data.bl_rna.properties[name]
    value = getattr(data, name)
    if rna.type == "BOOLEAN":
        return "[x]" if value else "[ ]"
    if rna.type == "ENUM":
        return rna.enum_items[value].name
    if rna.type == "FLOAT" and getattr(rna, "array_length", 0):
        return "#" + "".join(f"{round(min(max(v, 0.0), 1.0) * 255):02x}" for v in value[:3])
    if rna.type == "STRING":
        return repr(value)
    return str(value)


def _token(entry):
    """One drawn element as text; None for what shows nothing (separators)."""
    call = entry["call"]
    if call == "label":
        return _ICON_MARKS.get(entry.get("icon", "NONE"), "") + entry.get("text", "")
    if call == "prop":
        data, name = entry["data"], entry["property"]
        text = button_text(entry)
        if data.bl_rna.properties[name].type == "BOOLEAN":
            token = f"{_value_text(entry)} {text}".rstrip()
        else:
            token = f"{text}: {_value_text(entry)}" if text else _value_text(entry)
        token = _ICON_MARKS.get(entry.get("icon", "NONE"), "") + token
    elif call == "operator":
        text = button_text(entry) or _ICON_BUTTONS.get(
            entry.get("icon"), _operator_rna(entry["operator"]).name
        )
        token = f"[{_ICON_MARKS.get(entry.get('icon', 'NONE'), '')}{text}]"
        if entry.get("depress"):
            token = f"[*{text}*]"
        if not entry.get("polls", True):
            token += f" (greyed: {entry['reason']})" if entry.get("reason") else " (greyed)"
            return token
    elif call == "menu":
        token = f"[{_ICON_MARKS.get(entry.get('icon', 'NONE'), '')}{entry.get('text', '')} v]"
    elif call == "template_list":
        count = len(getattr(entry["dataptr"], entry["propname"]))
        return f"list of {count} {entry['propname']}"
    else:
        return None
    if not _layouts_allow(entry["layout"]):
        token += " (greyed)"
    elif _inherited(entry["layout"], "active", True) is False:
        token += " (inactive)"
    return token


def _children(log, layout):
    return [entry for entry in log if entry["layout"] is layout]


def _inline(log, layout):
    """The tokens of ``layout`` and its sub-layouts, side by side."""
    tokens = []
    for entry in _children(log, layout):
        sub = entry.get("result")
        if sub is not None:
            if entry.get("heading"):
                tokens.append(f"{entry['heading']}:")
            tokens.extend(_inline(log, sub))
        else:
            token = _token(entry)
            if token is not None:
                tokens.append(token)
    return tokens


def _icon_buttons_only(log, layout):
    entries = [e for e in _children(log, layout) if e["call"] != "separator"]
    return entries and all(e["call"] == "operator" and e.get("text") == "" for e in entries)


def _lines(log, layout, depth):
    """The lines of a layout that stacks its elements (a panel, column or box)."""
    indent = "  " * depth
    lines = []
    active_index = next(
        (e["active_index"] for e in _children(log, layout) if e["call"] == "template_list"),
        None,
    )
    for entry in _children(log, layout):
        sub, kind = entry.get("result"), entry["call"]
        if sub is None:
            token = _token(entry)
            if token is not None:
                lines.append(indent + token)
        elif kind == "draw_item":
            marker = ">" if entry["index"] == active_index else " "
            lines.append(f"{indent}  {marker} " + "  ".join(_inline(log, sub)))
        elif kind in _INLINE and not any(e["call"] == "template_list" for e in _children(log, sub)):
            tokens = _inline(log, sub)
            if entry.get("heading"):
                tokens.insert(0, f"{entry['heading']}:")
            if tokens:
                lines.append(indent + "  ".join(tokens))
        elif _icon_buttons_only(log, sub):
            lines.append(indent + "  ".join(_inline(log, sub)))
        else:
            if entry.get("heading"):
                lines.append(f"{indent}{entry['heading']}:")
            nested = 1 if entry.get("heading") or kind == "box" else 0
            lines.extend(_lines(log, sub, depth + nested))
    return lines


def _panel_depths():
    depths = {}
    for cls in ground_truth.panels.classes:
        if issubclass(cls, bpy.types.Panel):
            parent = getattr(cls, "bl_parent_id", "")
            depths[cls.__name__] = depths[parent] + 1 if parent else 0
    return depths


def dump_text(logs):
    """The drawn panels (and menus) as indented text: one line per element or row, a
    row's elements side by side, ``[Button]``, ``[x] Checkbox``, ``Field: value``,
    ``[Menu v]``, ``>`` before the active list row, ``(greyed: why)`` after a button
    that cannot be clicked, ``(i)``/``(!)`` for info and error icons. Sub-panels are
    indented under their parents."""
    depths = _panel_depths()
    out = []
    for name, log in logs.items():
        cls = getattr(bpy.types, name)
        indent = "    " * depths.get(name, 0)
        notes = []
        if "DEFAULT_CLOSED" in getattr(cls, "bl_options", ()):
            notes.append("closed by default")
        if issubclass(cls, bpy.types.Menu):
            notes.append("menu")
        note = f" ({', '.join(notes)})" if notes else ""
        out.append(f"{indent}== {cls.bl_label} =={note}")
        roots = [e["layout"] for e in log if e["layout"]._parent is None]
        if roots:
            out.extend(f"{indent}  {line}" for line in _lines(log, roots[0], 0))
    return "\n".join(out)
