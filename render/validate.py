"""Checks made before anything renders; each failure is a message for the user."""

import os
import tempfile

import bpy

from .. import compat
from ..errors import GroundTruthError
from ..scene import classes

SUPPORTED_ENGINE = "CYCLES"

# Characters no file system takes in a path (on Windows, a few more).
_REJECTED = set("\0") | (set('<>"|?*') if os.name == "nt" else set())


def resolve_output_dir(scene):
    """The absolute output folder.

    A ``//`` folder is relative to the .blend file. While the file is not saved yet
    (Blender's startup file), it is relative to the system's temporary folder instead,
    so that a first render works: ``//ground_truth/`` is then ``/tmp/ground_truth`` on
    Linux (``tempfile.gettempdir()``; ``TMPDIR`` chooses another). The panel shows
    that folder before the render, with Save As and Choose Folder next to it.
    """
    path = scene.ground_truth.output_dir.strip()
    if not path:
        raise GroundTruthError("Choose an output folder in the Ground Truth panel")
    bad = sorted(set(path) & _REJECTED)
    if bad:
        shown = " ".join(repr(c) for c in bad)
        raise GroundTruthError(
            f"The output folder '{path}' holds characters file systems reject: {shown}"
        )
    if path.startswith("//") and not bpy.data.filepath:
        relative = path[2:].strip("/\\") or "ground_truth"
        return os.path.normpath(os.path.join(tempfile.gettempdir(), relative))
    return os.path.normpath(bpy.path.abspath(path))


def check_writable(folder):
    """Refuse a folder that is a file or that cannot be created or written."""
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise GroundTruthError(f"The output folder '{folder}' is a file, not a folder")
    existing = folder
    while not os.path.exists(existing):
        parent = os.path.dirname(existing)
        if parent == existing:
            break
        existing = parent
    if not os.path.isdir(existing) or not os.access(existing, os.W_OK | os.X_OK):
        raise GroundTruthError(f"The output folder '{folder}' cannot be written (no permission)")


def check_scene(scene, view_layer, options):
    """Validate the scene for a render with ``options``; returns a list of warnings."""
    camera = scene.camera
    if camera is None:
        raise GroundTruthError(
            "The scene has no active camera: add one or set it in Scene > Camera"
        )
    if camera.type != "CAMERA":
        raise GroundTruthError(
            f"The scene's camera '{camera.name}' is an object of type {camera.type}, not a camera"
        )
    if camera.data.type == "PANO":
        raise GroundTruthError(
            f"The camera '{camera.name}' is panoramic: its depth is not planar and it has no "
            "pinhole intrinsics. Ground Truth supports perspective and orthographic cameras"
        )
    if (
        "flow" in options.outputs
        and camera.data.type == "ORTHO"
        and not compat.ORTHO_CAMERA_VECTOR_PASS_OK
    ):
        raise GroundTruthError(
            f"The camera '{camera.name}' is orthographic: this Blender's Cycles writes a wrong "
            "Vector pass for moving orthographic cameras, so Ground Truth writes no optical "
            "flow with them. Untick Optical Flow, or use a perspective camera"
        )
    if scene.render.engine != SUPPORTED_ENGINE and not options.use_cycles:
        engine = compat.engine_name(scene.render.engine)
        raise GroundTruthError(
            f"{engine} has no Object Index pass: Ground Truth renders with Cycles. "
            "Render with Cycles for the ground truth only (your engine setting is kept)"
        )
    if not view_layer.use:
        raise GroundTruthError(f"The view layer '{view_layer.name}' is disabled for rendering")
    duplicates = classes.duplicate_class_names(scene)
    if duplicates:
        raise GroundTruthError(
            f"Class names must be unique: '{duplicates[0]}' is used twice. Rename one in the list"
        )
    return _label_warnings(scene) + _image_warnings(scene, camera, options)


def _label_warnings(scene):
    warnings = []
    counts = classes.class_object_counts(scene)
    known = {c.id for c in scene.ground_truth.classes}
    if not any(cid in known for cid in counts):
        warnings.append("No object has a class: the class and instance maps will be all zero")
    else:
        empty = [c.name for c in scene.ground_truth.classes if not counts.get(c.id)]
        if empty:
            warnings.append(f"Class(es) with no objects: {', '.join(empty)}")
    orphans = sum(n for cid, n in counts.items() if cid not in known)
    if orphans:
        warnings.append(
            f"{orphans} object(s) have a class ID missing from the class table and count as "
            "unlabelled: add the class or clear their class"
        )
    return warnings


def _image_warnings(scene, camera, options):
    # Settings that make the RGB image disagree with the labels: said, not hidden.
    warnings = []
    if camera.data.dof.use_dof:
        warnings.append(
            "Depth of field blurs the RGB image, not the labels: depth and IDs are those of "
            "the surface each pixel's first camera ray hits"
        )
    if scene.render.use_motion_blur and "flow" in options.outputs:
        warnings.append(
            "Motion blur is off for this render (Cycles writes the Vector pass for optical "
            "flow only without it): the RGB image is not blurred. Your setting is restored after"
        )
    elif scene.render.use_motion_blur:
        warnings.append(
            "Motion blur smears the RGB image: each pixel's depth and IDs come from one "
            "instant of the shutter, so edges of moving objects may disagree with the image"
        )
    return warnings


def check_frames(frames):
    if not frames:
        raise GroundTruthError("No frames to render")
    negative = [f for f in frames if f < 0]
    if negative:
        raise GroundTruthError(f"Frame {negative[0]} is negative; dataset frames start at 0")
