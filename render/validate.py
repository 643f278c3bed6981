"""Checks made before anything renders; each failure is a message for the user.

Every check here reads and never writes: a refused run has changed nothing.
"""

import math
import os
import tempfile

import bpy

from .. import compat
from ..dataset import framespec
from ..errors import GroundTruthError
from ..scene import classes, frame_info
from . import devices

SUPPORTED_ENGINE = "CYCLES"
# The most samples Cycles takes (its samples setting's limit).
MAX_SAMPLES = 1 << 24

# Characters no file system takes in a path (on Windows, a few more); Blender's File
# Output nodes read braces as path templates (5.0) and backslashes as separators.
_REJECTED = set("\0") | (set('<>"|?*') if os.name == "nt" else set())
_BLENDER_SPECIAL = set("{}") | (set() if os.name == "nt" else {"\\"})

# Bytes of render memory per pixel, beyond the scene's own data: Cycles' combined pass
# and the labels' passes in float32, the compositor's copies of them and the writer's
# arrays (an estimate on the high side; the refusal names it).
_BYTES_PER_PIXEL = 160


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
    if path.startswith("//") and not bpy.data.filepath:
        # An unsaved file: the folder goes to the system's temporary folder (the panel
        # says where before any click, with Save As... and Choose Folder...).
        relative = path[2:].strip("/\\") or "ground_truth"
        return os.path.normpath(os.path.join(tempfile.gettempdir(), relative))
    return os.path.normpath(bpy.path.abspath(path))


def check_folder_name(folder):
    """Refuse a folder path that no file system or that Blender's File Output cannot take."""
    if not folder or not folder.strip():
        raise GroundTruthError("The output folder is empty: name a folder for the dataset")
    bad = sorted(set(folder) & _REJECTED)
    if bad:
        shown = " ".join(repr(c) for c in bad)
        raise GroundTruthError(
            f"The output folder '{folder}' holds characters file systems reject: {shown}"
        )
    special = sorted(set(folder) & _BLENDER_SPECIAL)
    if special:
        shown = " ".join(repr(c) for c in special)
        raise GroundTruthError(
            f"The output folder '{folder}' holds {shown}, which Blender's file outputs read as "
            "part of a path pattern: choose a folder without them"
        )
    limit = _name_limit(folder)
    for part in folder.split(os.sep):
        if len(part.encode("utf-8")) > limit:
            raise GroundTruthError(
                f"The output folder's name '{part[:40]}...' is {len(part.encode())} bytes long; "
                f"this file system takes at most {limit}: choose a shorter name"
            )


def _name_limit(folder):
    existing = folder
    while existing and not os.path.exists(existing):
        existing = os.path.dirname(existing) or os.sep
    try:
        return os.pathconf(existing or os.sep, "PC_NAME_MAX")
    except (OSError, ValueError, AttributeError):
        return 255


def check_writable(folder):
    """Refuse a folder that is a file or that cannot be created or written."""
    check_folder_name(folder)
    if os.path.islink(folder) and not os.path.exists(folder):
        raise GroundTruthError(f"The output folder '{folder}' is a link to nothing")
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
    if scene.render.use_multiview:
        raise GroundTruthError(
            "Stereoscopy (Output > Stereoscopy) renders several views per frame; Ground Truth "
            "labels one camera view. Switch Stereoscopy off, or render each eye's camera alone"
        )
    matrices = _world_matrices(scene)
    _check_camera_geometry(camera, matrices(camera))
    _check_labelled_objects(scene, matrices)
    duplicates = classes.duplicate_class_names(scene)
    if duplicates:
        raise GroundTruthError(
            f"Class names must be unique: '{duplicates[0]}' is used twice. Rename one in the list"
        )
    classes.check_class_ids(scene)
    warnings = _check_image_size(scene)
    return _label_warnings(scene) + _image_warnings(scene, camera, options) + warnings


def check_device(kind):
    """Refuse a Cycles device kind with no device in this process, before anything changes."""
    if kind is None or kind == "CPU":
        return
    prefs = devices.cycles_preferences()
    prefs.refresh_devices()
    if kind not in devices.KINDS:
        raise GroundTruthError(f"Unknown device {kind!r}: choose one of {', '.join(devices.KINDS)}")
    if not devices.detected_devices(prefs, kind):
        raise GroundTruthError(
            f"No {kind} device found (Cycles sees: {devices.describe_detected(prefs)}). "
            "Render with --device CPU, or check the GPU driver and CUDA_VISIBLE_DEVICES"
        )


def _finite(matrix):
    return all(math.isfinite(v) for row in matrix for v in row)


def _world_matrices(scene):
    """``object -> world matrix`` as the render will see it (evaluated, not stale)."""
    if bpy.context.scene != scene:
        return lambda ob: ob.matrix_world
    depsgraph = bpy.context.evaluated_depsgraph_get()
    return lambda ob: ob.evaluated_get(depsgraph).matrix_world


def _check_camera_geometry(camera, matrix):
    if not _finite(matrix):
        raise GroundTruthError(
            f"The camera '{camera.name}' has a location, rotation or scale that is not a number"
        )
    if any(column.length == 0.0 for column in matrix.to_3x3().col):
        raise GroundTruthError(
            f"The camera '{camera.name}' is scaled to 0 along an axis: it has no view. "
            "Give it a non-zero scale (Object > Transform > Scale)"
        )
    data = camera.data
    if data.type == "ORTHO" and not data.ortho_scale > 0.0:
        raise GroundTruthError(
            f"The camera '{camera.name}' has an orthographic scale of {data.ortho_scale}: "
            "it must be greater than 0"
        )
    if not data.clip_end > data.clip_start > 0.0:
        raise GroundTruthError(
            f"The camera '{camera.name}' clips from {data.clip_start} to {data.clip_end}: "
            "Clip Start must be above 0 and below Clip End"
        )


def _check_labelled_objects(scene, matrices):
    broken = [
        ob.name for ob in scene.objects if ob.ground_truth.class_id and not _finite(matrices(ob))
    ]
    if broken:
        raise GroundTruthError(
            f"Object '{broken[0]}' has a location, rotation or scale that is not a number "
            f"({len(broken)} such object(s)): fix its transform"
        )


def _check_image_size(scene):
    """Refuse images Blender cannot make or this machine cannot hold; warn when close."""
    render = scene.render
    width, height = frame_info.image_size(scene)
    if width < 1 or height < 1:
        raise GroundTruthError(
            f"The image would be {width}x{height} pixels ({render.resolution_x}x"
            f"{render.resolution_y} at {render.resolution_percentage}%"
            f"{', cropped to the render region' if render.use_border else ''}): raise the "
            "resolution or its percentage"
        )
    full_width, full_height = frame_info.full_size(scene)
    needed = full_width * full_height * _BYTES_PER_PIXEL
    available = _available_memory()
    size = f"{full_width}x{full_height}"
    if available and needed > available:
        raise GroundTruthError(
            f"A {size} render needs about {needed / 2**30:.1f} GiB of memory for its passes; "
            f"this machine has {available / 2**30:.1f} GiB free: lower the resolution"
        )
    if available and needed > available / 2:
        return [
            f"A {size} render needs about {needed / 2**30:.1f} GiB for its passes, over half "
            f"of the {available / 2**30:.1f} GiB free"
        ]
    return []


def _available_memory():
    """Bytes of memory available now (Linux), else None."""
    try:
        with open("/proc/meminfo", encoding="ascii") as file:
            for line in file:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


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
    """Refuse an empty frame list and frames Blender cannot render."""
    if not frames:
        raise GroundTruthError("No frames to render")
    low, high = min(frames), max(frames)
    if low < 0:
        raise GroundTruthError(f"Frame {low} is negative; dataset frames start at 0")
    if high > framespec.MAX_FRAME:
        raise GroundTruthError(
            f"Frame {high} is beyond Blender's last frame, {framespec.MAX_FRAME}"
        )
