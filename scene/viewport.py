"""Viewport preview: every object in its class colour in Solid shading, and back.

Turning the preview on saves each object's own colour and each 3D view's shading
colour type; turning it off puts exactly those values back.
"""

import json

import bpy

UNLABELLED_COLOR = (0.35, 0.35, 0.35, 1.0)


def _view3d_shadings():
    for screen in bpy.data.screens:
        for area_index, area in enumerate(screen.areas):
            if area.type != "VIEW_3D":
                continue
            for space_index, space in enumerate(area.spaces):
                if space.type == "VIEW_3D":
                    yield f"{screen.name}|{area_index}|{space_index}", space.shading


def _class_colors(scene):
    return {c.id: (*c.color, 1.0) for c in scene.ground_truth.classes}


def _effective_class(ob, class_ids):
    # Unlabelled children of a labelled object show their parent's colour.
    while ob is not None:
        if ob.ground_truth.class_id in class_ids:
            return ob.ground_truth.class_id
        ob = ob.parent
    return 0


def refresh_colors(scene):
    """Colour every object by its class; saves the object's own colour the first time."""
    palette = _class_colors(scene)
    for ob in scene.objects:
        settings = ob.ground_truth
        if ob.library is not None:
            continue
        if not settings.has_saved_color:
            settings.saved_color = ob.color
            settings.has_saved_color = True
        color = palette.get(_effective_class(ob, palette), UNLABELLED_COLOR)
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


def set_preview(scene, enabled):
    """Turn the class-colour preview on or off (idempotent)."""
    settings = scene.ground_truth
    settings.preview_colors = enabled
    if enabled:
        if not settings.saved_shading:
            saved = _shading_saved_by_another_scene(scene) or json.dumps(
                {key: shading.color_type for key, shading in _view3d_shadings()}
            )
            settings.saved_shading = saved
        for _key, shading in _view3d_shadings():
            if shading.color_type != "OBJECT":
                shading.color_type = "OBJECT"
        refresh_colors(scene)
    else:
        restore_colors(scene)
        if settings.saved_shading and not _shading_saved_by_another_scene(scene):
            saved = json.loads(settings.saved_shading)
            for key, shading in _view3d_shadings():
                if key in saved and shading.color_type != saved[key]:
                    shading.color_type = saved[key]
        if settings.saved_shading:
            settings.saved_shading = ""
