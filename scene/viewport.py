"""Viewport colours: every object in its class (or instance) colour, and back.

Object colours show in Solid shading with the *Object* colour type, and in Wireframe
shading with the *Object* wireframe colour; Material Preview and Rendered shading never
show them. So turning the colours on saves each object's own colour and, for each 3D
view, its shading type, colour type and wireframe colour type; then views in Material
Preview or Rendered switch to Solid, and every view shows object colours (Solid views
by colour type, Wireframe views by wireframe colour). Turning them off puts exactly the
saved values back.

The colours are those of the preview picture: a class's own colour, or
:func:`~ground_truth.preview.colors.instance_color` of the instance ID. Unlabelled
parts of an instance (children, objects made part of it) show its colour.
"""

import contextlib
import json

import bpy

from ..preview import colors
from . import classes

UNLABELLED_COLOR = (0.35, 0.35, 0.35, 1.0)

# Shading types that do not show object colours, and what a view switches to.
NO_OBJECT_COLORS = ("MATERIAL", "RENDERED")
SHOWING_TYPE = "SOLID"

MODES = ("CLASS", "INSTANCE")


def _view3d_shadings():
    for screen in bpy.data.screens:
        for area_index, area in enumerate(screen.areas):
            if area.type != "VIEW_3D":
                continue
            for space_index, space in enumerate(area.spaces):
                if space.type == "VIEW_3D":
                    yield f"{screen.name}|{area_index}|{space_index}", space.shading


def _palette(scene):
    """``{class ID: colour}`` of the class table."""
    return {c.id: (*c.color, 1.0) for c in scene.ground_truth.classes}


def object_color(ob, palette, mode):
    """The colour ``ob`` shows: its instance's class colour or instance colour, else grey."""
    owner = classes.instance_owner(ob, palette)
    if owner is None:
        return UNLABELLED_COLOR
    if mode == "INSTANCE":
        instance_id = owner.ground_truth.instance_id
        return (*colors.instance_color(instance_id), 1.0) if instance_id else UNLABELLED_COLOR
    return palette[owner.ground_truth.class_id]


def refresh_colors(scene):
    """Colour every object by its class or instance (the scene's preview mode); saves
    the object's own colour the first time."""
    palette = _palette(scene)
    mode = scene.ground_truth.preview_mode
    for ob in scene.objects:
        settings = ob.ground_truth
        if ob.library is not None:
            continue
        if not settings.has_saved_color:
            settings.saved_color = ob.color
            settings.has_saved_color = True
        color = object_color(ob, palette, mode)
        if tuple(ob.color) != color:
            ob.color = color


def restore_colors(scene):
    """Give every object back the colour it had before the preview."""
    for ob in scene.objects:
        settings = ob.ground_truth
        if settings.has_saved_color:
            ob.color = settings.saved_color
            settings.has_saved_color = False


def _shading_saved_by_another_scene(scene):
    # The 3D views belong to the file's screens, shared by all scenes: while another
    # scene shows class colours, it holds the views' own settings.
    for other in bpy.data.scenes:
        settings = other.ground_truth
        if other != scene and settings.preview_colors and settings.saved_shading:
            return settings.saved_shading
    return ""


def _saved_view(value):
    """A saved view's settings; files saved by 0.1 kept the colour type only."""
    if isinstance(value, str):
        return {"color_type": value}
    return value


def _save_views():
    return json.dumps(
        {
            key: {
                "type": shading.type,
                "color_type": shading.color_type,
                "wireframe_color_type": shading.wireframe_color_type,
            }
            for key, shading in _view3d_shadings()
        }
    )


def _show_object_colors():
    """Make every 3D view show object colours; returns the views switched to Solid.

    Solid views get the Object colour type, Wireframe views the Object wireframe
    colour. A value Blender reads back as "" (4.2 keeps a wireframe colour type of
    its startup views outside the enum's items) cannot be restored, so it is not
    changed: the view stays exactly as it was.
    """
    switched = []
    for key, shading in _view3d_shadings():
        if shading.type in NO_OBJECT_COLORS:
            switched.append((key, shading.type))
            shading.type = SHOWING_TYPE
        attribute = "wireframe_color_type" if shading.type == "WIREFRAME" else "color_type"
        if getattr(shading, attribute) not in ("", "OBJECT"):
            setattr(shading, attribute, "OBJECT")
    return switched


def _restore_views(saved):
    """Put the saved settings back in every view that still exists; all are tried even
    when one fails (the errors are chained)."""
    restored = 0
    with contextlib.ExitStack() as stack:
        for key, shading in _view3d_shadings():
            if key not in saved:
                continue
            restored += 1
            # Three independent values: their order does not matter.
            for attribute, value in _saved_view(saved[key]).items():
                if value:  # "": unreadable, so never changed (see _show_object_colors)
                    stack.callback(_set, shading, attribute, value)
    return restored


def _set(owner, attribute, value):
    if getattr(owner, attribute) != value:
        setattr(owner, attribute, value)


class PreviewChange:
    """What :func:`set_preview` did, for the operator's report."""

    def __init__(self):
        self.views = 0
        self.switched = []
        self.objects = 0


def set_preview(scene, enabled, mode="CLASS"):
    """Turn the viewport colours on (by class or instance) or off (idempotent).

    Returns a :class:`PreviewChange`: how many 3D views show (or got back) their
    shading, which were switched from Material Preview or Rendered to Solid, and how
    many objects got their own colour back.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
    settings = scene.ground_truth
    change = PreviewChange()
    if enabled:
        settings.preview_colors = True
        if settings.preview_mode != mode:
            settings.preview_mode = mode
        if not settings.saved_shading:
            settings.saved_shading = _shading_saved_by_another_scene(scene) or _save_views()
        change.switched = _show_object_colors()
        change.views = sum(1 for _ in _view3d_shadings())
        refresh_colors(scene)
        return change
    settings.preview_colors = False
    change.objects = sum(1 for ob in scene.objects if ob.ground_truth.has_saved_color)
    restore_colors(scene)
    if settings.saved_shading and not _shading_saved_by_another_scene(scene):
        change.views = _restore_views(json.loads(settings.saved_shading))
    if settings.saved_shading:
        settings.saved_shading = ""
    return change
