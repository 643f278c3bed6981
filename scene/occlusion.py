"""Per-instance occlusion: the pixels an instance would cover with nothing in front of it.

An instance's **visible fraction** is ``visible_pixels / unoccluded_pixels``, clamped to
1.0 (:func:`ground_truth.geometry.silhouette.visible_fraction`):

- ``visible_pixels`` are its pixels in the instance map (what the render saw);
- ``unoccluded_pixels`` (:func:`unoccluded_pixels`) are the pixels whose centre ray would
  hit the instance's own geometry if every other object were gone: the ray of pixel
  (row r, column c) passes through ``(c + 0.5, r + 0.5)`` in ``K``'s convention, between
  the planar depths ``clip_start`` and ``clip_end``, as Cycles' camera ray does. Only the
  labelled object and its unlabelled descendants sharing its ``pass_index`` are cast
  against (the parts ``frame_info.instance_inputs`` bounds), with their evaluated
  geometry (modifiers, curves and text as their evaluated mesh).

Both counts are taken at pixel centres. The instance map comes from each pixel's first
Cycles sample, and Cycles (3.0 and later, ``integrate_camera_sample``) always puts the
first sample at the centre of its pixel filter: ``rand_filter = (0.5, 0.5)`` for sample 0,
whatever the filter type and width. So the rendered silhouette of an unoccluded instance
is the pixel-centre silhouette, and its fraction is exactly 1.0. The filter width only
moves that centre by the resolution of Cycles' filter table: measured at 640x480, the
instance maps rendered with ``filter_width`` 0.01, 1.5 (the default) and 3.0 differ in
one pixel of 307,200, and the 0.01 map matches the pixel-centre casts everywhere. A
pixel whose centre lies within that tiny offset of an edge can fall either way, so a
fraction can be off by about one pixel per silhouette; tests use ``filter_width`` 0.01
to rule even that out. (Were the first sample jittered like the others, with the
default 1.5 px Blackman-Harris filter a pixel up to 0.75 px from an edge could take
either side, and a fully visible instance could read a few percent under or over 1.)

Cost: one BVH per visible instance, built from its triangles in world space, and one
``BVHTree.ray_cast`` per pixel whose centre lies in the projection of the instance's 3D
box (the rays are made with numpy; the casts are one ``map`` over the rays). The
benchmark prints what that costs per frame.

Rendered geometry this does not see: instances made by instancing (collection
instances, particles, geometry-nodes instances), hair curves, point clouds and volumes;
parts hidden from render or from camera rays, or in collections excluded or hidden from
render, are skipped, as Cycles skips them.
"""

import itertools

import numpy as np
from mathutils import Vector
from mathutils.bvhtree import BVHTree

from ..geometry import silhouette, transforms
from .classes import GEOMETRY_TYPES


def rendered_objects(view_layer):
    """Pointers of the objects a render of ``view_layer`` can show to the camera.

    An object counts when some path of collections down to it has no excluded layer
    collection and no collection hidden from render, and the object itself is neither
    hidden from render nor from camera rays. (Viewport hiding does not matter to the
    render.)
    """
    found = set()

    def walk(layer_collection):
        if layer_collection.exclude or layer_collection.collection.hide_render:
            return
        for ob in layer_collection.collection.objects:
            if not ob.hide_render and ob.visible_camera:
                found.add(ob.as_pointer())
        for child in layer_collection.children:
            walk(child)

    walk(view_layer.layer_collection)
    return found


def instance_parts(scene, depsgraph):
    """``{instance ID: [objects]}``: the rendered parts of each instance.

    Grouped by ``pass_index`` as :func:`.frame_info.instance_inputs` groups them, keeping
    the objects of :func:`rendered_objects` of the depsgraph's view layer. Each part is
    its evaluated object; a part hidden in the viewport is not evaluated in a viewport
    depsgraph, and is taken as its original object (its mesh without modifiers).
    """
    rendered = rendered_objects(depsgraph.view_layer)
    parts = {}
    for ob in scene.objects:
        if ob.type not in GEOMETRY_TYPES or not ob.pass_index:
            continue
        if ob.as_pointer() not in rendered:
            continue
        evaluated = ob.evaluated_get(depsgraph)
        parts.setdefault(ob.pass_index, []).append(evaluated if evaluated.is_evaluated else ob)
    return parts


def world_triangles(evaluated):
    """``(vertices Nx3 world, triangles Mx3 int)`` of an evaluated object's mesh.

    Curves, surfaces, text and metaballs are taken as the mesh Blender renders them as;
    objects without a mesh give empty arrays.
    """
    empty = np.zeros((0, 3)), np.zeros((0, 3), dtype=np.int64)
    try:
        mesh = evaluated.to_mesh()
    except RuntimeError:
        return empty
    try:
        if mesh is None:
            return empty
        mesh.calc_loop_triangles()
        vertices = np.empty(len(mesh.vertices) * 3, dtype=np.float32)
        triangles = np.empty(len(mesh.loop_triangles) * 3, dtype=np.int32)
        mesh.vertices.foreach_get("co", vertices)
        mesh.loop_triangles.foreach_get("vertices", triangles)
    finally:
        evaluated.to_mesh_clear()
    matrix = np.array([list(row) for row in evaluated.matrix_world], dtype=np.float64)
    world = transforms.transform_points(matrix, vertices.reshape(-1, 3).astype(np.float64))
    return world, triangles.reshape(-1, 3).astype(np.int64)


def instance_bvh(parts):
    """One world-space BVH of the triangles of all ``parts``; ``None`` without triangles."""
    vertices, triangles, offset = [], [], 0
    for evaluated in parts:
        world, tris = world_triangles(evaluated)
        if len(tris):
            vertices.append(world)
            triangles.append(tris + offset)
            offset += len(world)
    if not triangles:
        return None
    return BVHTree.FromPolygons(
        np.concatenate(vertices).tolist(), np.concatenate(triangles).tolist(), all_triangles=True
    )


def _vectors(points):
    """Nx3 array -> iterator of Vectors (three 1-D ``tolist`` calls are much faster)."""
    columns = np.ascontiguousarray(np.asarray(points, dtype=np.float64).T).tolist()
    return map(Vector, zip(*columns, strict=True))


def cast_rays(bvh, origins, directions, lengths, camera_centre=None):
    """Whether each ray hits ``bvh`` within its length (N bools).

    Rays sharing one direction (orthographic) reuse one direction vector. With
    ``camera_centre`` (perspective rays, which all pass through it) the rays are cast
    from the centre instead, with their length grown by the distance to their origin;
    only a ray whose first hit lies before its origin is cast again from the origin.
    """
    count = len(origins)
    if count == 0:
        return np.zeros(0, dtype=bool)
    lengths = np.asarray(lengths, dtype=np.float64)
    if camera_centre is not None:
        centre = np.asarray(camera_centre, dtype=np.float64).reshape(3)
        near = np.linalg.norm(origins - centre, axis=1)
        hits = list(
            map(
                bvh.ray_cast,
                itertools.repeat(Vector(centre.tolist())),
                _vectors(directions),
                (near + lengths).tolist(),
            )
        )
        distance = np.fromiter(
            (np.inf if hit[3] is None else hit[3] for hit in hits), dtype=np.float64, count=count
        )
        result = np.isfinite(distance)
        early = distance < near
        if early.any():  # the first hit is nearer than clip_start: look behind it
            index = np.flatnonzero(early)
            result[index] = cast_rays(bvh, origins[index], directions[index], lengths[index])
        return result
    if np.abs(directions - directions[0]).max() < 1e-12:
        ways = itertools.repeat(Vector(np.asarray(directions[0], dtype=np.float64).tolist()))
    else:
        ways = _vectors(directions)
    hits = map(bvh.ray_cast, _vectors(origins), ways, lengths.tolist())
    return np.array([hit[0] is not None for hit in hits], dtype=bool)


def _camera(camera_block):
    return (
        np.asarray(camera_block["K"], dtype=np.float64),
        np.asarray(camera_block["world_to_camera_cv"], dtype=np.float64),
        camera_block["type"] == "ORTHO",
        float(camera_block["clip_start"]),
        float(camera_block["clip_end"]),
    )


def candidate_masks(camera_block, instances, shape):
    """``{id: HxW bool}``: the pixels whose centre rays may reach each instance's 3D box.

    Several entries with one ID give the union of their boxes' pixels.
    """
    k_matrix, w2c, ortho, clip_start, clip_end = _camera(camera_block)
    masks = {}
    for item in instances:
        ident = int(item["id"])
        corners = transforms.transform_points(
            np.asarray(item["matrix_world"], dtype=np.float64),
            np.asarray(item["bounds"], dtype=np.float64),
        )
        rows, cols = silhouette.candidate_pixels(
            k_matrix,
            w2c,
            corners,
            shape,
            ortho=ortho,
            clip_start=clip_start,
            clip_end=clip_end,
        )
        mask = masks.setdefault(ident, np.zeros((int(shape[0]), int(shape[1])), dtype=bool))
        mask[rows, cols] = True
    return masks


def unoccluded_masks(scene, depsgraph, camera_block, instances, shape, ids):
    """``{id: HxW bool mask}`` of the unoccluded silhouette of each instance in ``ids``.

    Arguments as :func:`unoccluded_pixels`. An ID with no entry in ``instances`` is
    cast over the whole image.
    """
    height, width = int(shape[0]), int(shape[1])
    k_matrix, w2c, ortho, clip_start, clip_end = _camera(camera_block)
    centre = None if ortho else transforms.rigid_inverse(w2c)[:3, 3]
    wanted = {int(i) for i in ids}
    listed = [item for item in instances if int(item["id"]) in wanted]
    candidates = candidate_masks(camera_block, listed, shape)
    parts = instance_parts(scene, depsgraph)
    masks = {}
    for ident in sorted(wanted):
        mask = np.zeros((height, width), dtype=bool)
        masks[ident] = mask
        bvh = instance_bvh(parts.get(ident, ()))
        if bvh is None:
            continue
        candidate = candidates.get(ident)
        if candidate is None:
            rows, cols = silhouette.window_pixels((0, height, 0, width))
        else:
            rows, cols = np.nonzero(candidate)
        origins, directions, lengths = silhouette.pixel_rays(
            k_matrix,
            w2c,
            rows,
            cols,
            ortho=ortho,
            clip_start=clip_start,
            clip_end=clip_end,
        )
        mask[rows, cols] = cast_rays(bvh, origins, directions, lengths, centre)
    return masks


def unoccluded_pixels(scene, depsgraph, camera_block, instances, shape, visible_ids):
    """``{id: pixels}``: how many pixels each visible instance would cover, unoccluded.

    ``camera_block`` is :func:`.frame_info.camera_block` of the frame, ``instances`` the
    list from :func:`.frame_info.instance_inputs` (``id``, ``matrix_world``, ``bounds``),
    ``shape`` the image's ``(height, width)`` and ``visible_ids`` the instance IDs with at
    least one pixel in the instance map: only those are computed. A pixel counts when its
    centre ray, clipped to ``clip_start..clip_end``, hits the instance's own geometry,
    every other object ignored (see the module docstring). The visible fraction is
    ``silhouette.visible_fraction(visible_pixels, unoccluded)``.
    """
    masks = unoccluded_masks(scene, depsgraph, camera_block, instances, shape, visible_ids)
    return {ident: int(mask.sum()) for ident, mask in masks.items()}
