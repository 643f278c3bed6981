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


def _pass_indexed(scene):
    """The scene's objects that carry a pass index: ``({name: object}, {pass index:
    [geometry objects]})``, in the order of ``scene.objects`` (the first of a name wins,
    as ``scene.objects.get`` finds it)."""
    objects = scene.objects
    indices = np.empty(len(objects), dtype=np.int32)
    objects.foreach_get("pass_index", indices)
    by_name, by_id = {}, {}
    for ob, index in zip(objects, indices.tolist(), strict=True):
        if index:
            by_name.setdefault(ob.name, ob)
            if ob.type in classes.GEOMETRY_TYPES:
                by_id.setdefault(index, []).append(ob)
    return by_name, by_id


def instance_inputs(scene, depsgraph, instances):
    """Pose and local 3D box of every instance of ``instances`` at the current frame.

    ``instances`` are the planned instance table's entries (``id``, ``object``,
    ``class_id``). An instance's box is the evaluated bounds of its object and of the
    unlabelled descendants that belong to it, in the labelled object's own frame.
    Blender is read object by object (a pose and a bound box each); the boxes are then
    made for all instances at once, so that a scene of thousands of labelled objects
    costs the frame milliseconds, not a second.
    """
    by_name, by_id = _pass_indexed(scene)
    owners, parts = [], []  # parts: (owner's position, part), grouped by owner
    for item in instances:
        owner = by_name.get(item.object)
        if owner is None:
            owner = scene.objects.get(item.object)
            if owner is None:
                continue
        parts.extend((len(owners), part) for part in by_id.get(item.id, ()))
        owners.append((item, owner))
    if not owners:
        return []
    poses = np.array(
        [owner.evaluated_get(depsgraph).matrix_world for _item, owner in owners],
        dtype=np.float64,
    )
    part_owner = np.array([position for position, _part in parts], dtype=np.intp)
    part_poses = np.empty((len(parts), 4, 4))
    local_bounds = np.empty((len(parts), 24), dtype=np.float32)  # Blender's own floats
    for row, (_position, part) in enumerate(parts):
        evaluated = part.evaluated_get(depsgraph)
        part_poses[row] = evaluated.matrix_world
        evaluated.bound_box.foreach_get(local_bounds[row])
    bounds = _instance_bounds(poses, part_owner, part_poses, local_bounds.reshape(-1, 8, 3))
    return [
        {
            "id": item.id,
            "object": item.object,
            "class_id": item.class_id,
            "matrix_world": pose,
            "bounds": box,
        }
        for (item, _owner), pose, box in zip(owners, poses, bounds, strict=True)
    ]


def _instance_bounds(poses, part_owner, part_poses, local_bounds):
    """The local box corners (Nx8x3) of N instances with poses ``poses`` (Nx4x4), from
    their parts' poses (Kx4x4) and local corners (Kx8x3); ``part_owner`` (K, grouped)
    is each part's instance. An instance scaled to nothing (an animation growing it
    from 0), or with no part, has a box of size 0 at its origin."""
    inverses, invertible = transforms.affine_inverses(poses)
    kept = invertible[part_owner]
    part_owner, part_poses = part_owner[kept], part_poses[kept]
    mins, maxs = np.zeros((len(poses), 3)), np.zeros((len(poses), 3))
    if len(part_owner):
        # Each part's corners in the world, then in its instance's own frame.
        world = transforms.transform_point_sets(part_poses, local_bounds[kept])
        points = transforms.transform_point_sets(inverses[part_owner], world)
        starts = np.flatnonzero(np.r_[True, part_owner[1:] != part_owner[:-1]])
        which = part_owner[starts]
        mins[which] = np.minimum.reduceat(points.min(axis=1), starts)
        maxs[which] = np.maximum.reduceat(points.max(axis=1), starts)
    return boxes.boxes_corners(mins, maxs)


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
