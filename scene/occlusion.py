"""The geometry behind amodal masks and visible fractions, read on the main thread.

After a frame renders, :func:`scene_geometry` reads the evaluated triangles of every
labelled instance and of every copy drawn by an instancer into plain numpy arrays
(:class:`ground_truth.labels.amodal.SceneGeometry`): each mesh once, in its own frame,
with the world matrix of every place it is drawn. That is a few ``foreach_get`` calls
per mesh; the silhouettes are rasterised from those arrays on the writer thread
(:mod:`ground_truth.labels.amodal`), while Cycles renders the next frame.

What counts as an instance's geometry is what Cycles renders for it:

- the labelled object and its unlabelled descendants sharing its ``pass_index`` that a
  render of the view layer shows to the camera (:func:`rendered_objects`), with their
  evaluated geometry (modifiers; curves, surfaces, text and metaballs as the mesh they
  render as; geometry made by geometry nodes, which Blender hands out as instances of
  the object itself);
- the copies drawn by instancers (collection instances, particles, geometry-nodes
  instances), each listed with Blender's identity of it, for the writer to join to the
  ID it gives the copy (or to the labelled ID its pixels carry).

The depsgraph is the one of the scene's view layer (modifiers at their viewport
settings): where a modifier renders differently from the viewport (Subdivision Surface
render levels, modifiers shown in renders only) the silhouette is that of the viewport
geometry. A part hidden in the viewport is not evaluated there, and is taken as its
original mesh. Hair curves, point clouds and volumes add no triangles.
"""

import numpy as np

from ..geometry import raster
from ..labels.amodal import CopyPlacement, Mesh, Placement, SceneGeometry
from . import copies as copies_module
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


def read_mesh(ob):
    """The triangles of an evaluated object's geometry in its own frame (a :class:`Mesh`).

    A mesh object's evaluated mesh is read in place; curves, surfaces, text and
    metaballs through ``to_mesh``. None when the object has no triangles.
    """
    data = ob.data
    owned = data is None or ob.type != "MESH"
    if owned:
        try:
            data = ob.to_mesh()
        except RuntimeError:
            return None
        if data is None:
            ob.to_mesh_clear()
            return None
    try:
        triangles = data.loop_triangles
        if not len(triangles):
            return None
        vertices = np.empty(len(data.vertices) * 3, dtype=np.float32)
        indices = np.empty(len(triangles) * 3, dtype=np.int32)
        data.vertices.foreach_get("co", vertices)
        triangles.foreach_get("vertices", indices)
    finally:
        if owned:
            ob.to_mesh_clear()
    return Mesh(vertices.reshape(-1, 3), indices.reshape(-1, 3))


def _matrix(value):
    return np.array(value, dtype=np.float64)


class _Reader:
    """Reads each mesh once per frame and records where it is placed."""

    def __init__(self):
        self.meshes = {}
        self._missing = set()

    def place(self, ob, key, matrix_world):
        """A :class:`Placement` of ``ob``'s geometry (read under ``key``), or None."""
        if key in self._missing:
            return None
        if key not in self.meshes:
            mesh = read_mesh(ob)
            if mesh is None:
                self._missing.add(key)
                return None
            self.meshes[key] = mesh
        return Placement(key, _matrix(matrix_world))


def _mesh_key(ob):
    """One key per evaluated geometry: copies of one source share their mesh.

    (The depsgraph hands out every instance in one reused object, so a copy is named
    by its geometry, or by its source object and data.)
    """
    if ob.type == "MESH" and ob.data is not None:
        return ("mesh", ob.data.as_pointer())
    data = ob.data.as_pointer() if ob.data is not None else 0
    return ("object", ob.original.as_pointer(), data)


def scene_geometry(scene, depsgraph, ids, copy_keys=()):
    """What the writer thread needs for the frame's amodal masks and copy IDs (a
    ``SceneGeometry``).

    ``ids`` are the labelled instance IDs (the instance table's); ``copy_keys`` the keys
    (:func:`.copies.copy_key`) of the labelled copies drawn this frame. Other copies are
    read only when the pass index they carry is one of ``ids``.
    """
    wanted = {int(i) for i in ids}
    copy_keys = set(copy_keys)
    rendered = rendered_objects(depsgraph.view_layer)
    reader = _Reader()
    owners = copies_module.DataOwners()
    instances = {}
    copies = []
    evaluated = set()
    handed_out = set()  # objects whose own geometry came as instances
    shapes = []  # curves, text, ...: read whole unless their geometry came as instances

    def add(ident, placement):
        if placement is not None:
            instances.setdefault(ident, []).append(placement)

    for instance in depsgraph.object_instances:
        ob = instance.object
        if ob.type not in GEOMETRY_TYPES:
            continue
        if not instance.is_instance:
            original = ob.original
            evaluated.add(original.as_pointer())
            if ob.pass_index in wanted and original.as_pointer() in rendered:
                if ob.type == "MESH":
                    add(ob.pass_index, reader.place(ob, _mesh_key(ob), ob.matrix_world))
                else:
                    shapes.append(ob)
            continue
        parent = instance.parent.original
        source = copies_module.source_object(instance, parent, owners)
        if source == parent:
            # The object's own geometry handed out as instances (text and curves,
            # geometry made by geometry nodes).
            if parent.pass_index in wanted and parent.as_pointer() in rendered:
                handed_out.add(parent.as_pointer())
                add(parent.pass_index, reader.place(ob, _mesh_key(ob), instance.matrix_world))
            continue
        key = copies_module.copy_key(instance, parent, source)
        if key not in copy_keys and ob.pass_index not in wanted:
            continue
        placement = reader.place(ob, _mesh_key(ob), instance.matrix_world)
        if placement is not None:
            copies.append(CopyPlacement(key, int(ob.pass_index), placement))
    for ob in shapes:
        if ob.original.as_pointer() not in handed_out:
            add(ob.pass_index, reader.place(ob, _mesh_key(ob), ob.matrix_world))
    # Parts hidden in the viewport are not in its depsgraph, but they render.
    for ob in scene.objects:
        if (
            ob.type in GEOMETRY_TYPES
            and ob.pass_index in wanted
            and ob.as_pointer() in rendered
            and ob.as_pointer() not in evaluated
        ):
            add(ob.pass_index, reader.place(ob, ("original", ob.as_pointer()), ob.matrix_world))
    cycles = scene.cycles
    return SceneGeometry(
        meshes=reader.meshes,
        instances={ident: tuple(parts) for ident, parts in instances.items()},
        copies=tuple(copies),
        sample_offset=raster.first_sample_offset(cycles.pixel_filter_type, cycles.filter_width),
    )
