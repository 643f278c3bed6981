"""Per-frame geometry read from Blender for the annotations: camera and instance poses.

Called on the main thread right after a frame renders (the scene is at that frame);
it returns plain values, made fresh for the frame, that the worker thread turns into
``meta/NNNNNN.json`` (the main thread keeps no reference to them).
"""

import numpy as np

from ..geometry import boxes, transforms
from ..labels import annotations
from . import classes, copies, occlusion


def _matrix(value):
    return np.array([list(row) for row in value], dtype=np.float64)


def full_size(scene):
    """``(width, height)`` of the whole frame: the resolution at its percentage.

    Blender computes it in integers (``resolution * percentage / 100``, rounded down),
    so 720 at 70% is 504, where the float product 503.99... would give 503.
    """
    render = scene.render
    percentage = render.resolution_percentage
    return render.resolution_x * percentage // 100, render.resolution_y * percentage // 100


def render_region(scene):
    """``(x0, y0, width, height)`` of the images a render writes, in the whole frame.

    ``x0``/``y0`` is the top-left pixel of the region from the frame's top-left corner.
    With the render region on and cropped to it (Output > Format > Render Region, Crop
    to Render Region) the images hold only that region; Blender places its edges at
    ``int(border * size)`` in single precision, counted from the bottom for y.
    """
    width, height = full_size(scene)
    render = scene.render
    if not (render.use_border and render.use_crop_to_border):
        return 0, 0, width, height

    def edge(fraction, size):
        return int(np.float32(fraction) * np.float32(size))

    x0, x1 = edge(render.border_min_x, width), edge(render.border_max_x, width)
    y0, y1 = edge(render.border_min_y, height), edge(render.border_max_y, height)
    return x0, height - y1, x1 - x0, y1 - y0


def image_size(scene):
    """``(width, height)`` in pixels of the images a render of ``scene`` writes."""
    return render_region(scene)[2:]


def camera_block(scene, depsgraph):
    """The meta ``camera`` block of the scene's camera at the current frame."""
    camera = scene.camera.evaluated_get(depsgraph)
    data = camera.data
    render = scene.render
    width, height = full_size(scene)
    x0, y0, crop_width, crop_height = render_region(scene)
    block = annotations.camera_meta(
        matrix_world=_matrix(camera.matrix_world),
        lens_mm=data.lens,
        sensor_width=data.sensor_width,
        sensor_height=data.sensor_height,
        sensor_fit=data.sensor_fit,
        shift_x=data.shift_x,
        shift_y=data.shift_y,
        res_x=width,
        res_y=height,
        pixel_aspect_x=render.pixel_aspect_x,
        pixel_aspect_y=render.pixel_aspect_y,
        camera_type=data.type,
        ortho_scale=data.ortho_scale,
        clip_start=data.clip_start,
        clip_end=data.clip_end,
        name=camera.name,
    )
    if (crop_width, crop_height) != (width, height):
        # The images hold a region of the frame: K's origin moves to its corner.
        block["K"][0][2] -= x0
        block["K"][1][2] -= y0
    return block


def instance_inputs(scene, depsgraph, instances):
    """Pose and local 3D box of every instance of ``instances`` at the current frame.

    ``instances`` are the planned instance table's entries (``id``, ``object``,
    ``class_id``). An instance's box is the evaluated bounds of its object and of the
    unlabelled descendants that belong to it, in the labelled object's own frame.
    """
    by_id = {}
    for ob in scene.objects:
        if ob.type in classes.GEOMETRY_TYPES and ob.pass_index:
            by_id.setdefault(ob.pass_index, []).append(ob)
    result = []
    for item in instances:
        owner = scene.objects.get(item.object)
        if owner is None:
            continue
        matrix = _matrix(owner.evaluated_get(depsgraph).matrix_world)
        try:
            to_local = transforms.affine_inverse(matrix)
            parts = by_id.get(item.id, [])
        except ValueError:
            # Scaled to nothing (an animation growing it from 0): a box of size 0.
            parts = []
        corners = []
        for part in parts:
            evaluated = part.evaluated_get(depsgraph)
            local = np.array([list(c) for c in evaluated.bound_box], dtype=np.float64)
            world = transforms.transform_points(_matrix(evaluated.matrix_world), local)
            corners.append(transforms.transform_points(to_local, world))
        if corners:
            points = np.concatenate(corners)
            bounds = boxes.box_corners(points.min(axis=0), points.max(axis=0))
        else:
            bounds = np.zeros((8, 3))
        result.append(
            {
                "id": item.id,
                "object": item.object,
                "class_id": item.class_id,
                "matrix_world": matrix,
                "bounds": bounds,
            }
        )
    return result


def collect(scene, depsgraph, options, labels, copy_plan=None):
    """Everything the worker needs to write the frame's labels and meta.

    ``copies`` lists the labelled copies drawn now (:func:`.copies.labelled_copies`,
    with ``copy_plan``, the run's :class:`~.copies.CopyPlan`, when it gives copies IDs).
    ``geometry`` holds the triangles of every instance and copy
    (:func:`.occlusion.scene_geometry`) when the worker needs them: for amodal masks,
    visible fractions and object models, and to find the pixels of copies whose ID
    differs from the pass index Cycles gives them.

    ``options`` are the run's :class:`~ground_truth.render.options.RenderOptions`,
    ``labels`` its :class:`~ground_truth.labels.tables.LabelTable`.
    """
    camera = camera_block(scene, depsgraph)
    inputs = instance_inputs(scene, depsgraph, labels.instances)
    found = []
    if copy_plan is not None and copy_plan.distinct:
        found = copies.labelled_copies(scene, depsgraph, copy_plan)
    geometry = None
    moving = any(c["id"] != c["carried"] for c in found)
    if moving or options.outputs & {"amodal", "visible_fraction", "models"}:
        # Triangles as numpy arrays; the worker rasterises them.
        geometry = occlusion.scene_geometry(
            scene, depsgraph, [i["id"] for i in inputs], [c["key"] for c in found]
        )
    return {
        "camera": camera,
        "instances": inputs,
        "copies": found,
        "geometry": geometry,
    }
