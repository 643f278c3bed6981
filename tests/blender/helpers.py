"""Scene-building helpers for the bpy tests."""

import bpy

from ground_truth import compat
from ground_truth.nodes import setup
from ground_truth.render.options import outputs_from_settings

IS_5 = bpy.app.version >= (5, 0, 0)


def add_camera(scene, location=(0.0, 0.0, 5.0), rotation=(0.0, 0.0, 0.0), ortho_scale=None):
    """A camera looking along -Z from ``location`` (Blender's default orientation)."""
    data = bpy.data.cameras.new("Camera")
    if ortho_scale is not None:
        data.type = "ORTHO"
        data.ortho_scale = ortho_scale
    camera = bpy.data.objects.new("Camera", data)
    camera.location = location
    camera.rotation_euler = rotation
    scene.collection.objects.link(camera)
    scene.camera = camera
    return camera


def add_box(scene, name, center, size, parent=None):
    """An axis-aligned box mesh object."""
    cx, cy, cz = center
    sx, sy, sz = (s / 2.0 for s in size)
    verts = [
        (cx + dx * sx, cy + dy * sy, cz + dz * sz)
        for dx in (-1, 1)
        for dy in (-1, 1)
        for dz in (-1, 1)
    ]
    faces = [(0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3)]
    mesh = bpy.data.meshes.new(name)
    mesh.from_pydata(verts, [], faces)
    ob = bpy.data.objects.new(name, mesh)
    scene.collection.objects.link(ob)
    if parent is not None:
        ob.parent = parent
    return ob


def add_plane(scene, name="Plane", z=0.0, half=50.0):
    mesh = bpy.data.meshes.new(name)
    mesh.from_pydata(
        [(-half, -half, z), (half, -half, z), (half, half, z), (-half, half, z)], [], [(0, 1, 2, 3)]
    )
    ob = bpy.data.objects.new(name, mesh)
    scene.collection.objects.link(ob)
    return ob


def select_only(objects):
    view_layer = bpy.context.view_layer
    for ob in view_layer.objects:
        ob.select_set(False)
    for ob in objects:
        ob.select_set(True)
    if objects:
        view_layer.objects.active = objects[0]


def new_class(name):
    bpy.ops.ground_truth.add_class(name=name)
    return bpy.context.scene.ground_truth.classes[-1]


def label(objects, class_name):
    """Assign the class named ``class_name`` (created if missing) to ``objects``."""
    settings = bpy.context.scene.ground_truth
    index = next((i for i, c in enumerate(settings.classes) if c.name == class_name), None)
    if index is None:
        new_class(class_name)
        index = len(settings.classes) - 1
    settings.active_class_index = index
    select_only(objects)
    assert bpy.ops.ground_truth.assign_class() == {"FINISHED"}
    return settings.classes[index]


def snapshot_tree(tree):
    nodes = sorted(
        (
            node.name,
            node.bl_idname,
            tuple(round(v, 3) for v in node.location),
            node.parent.name if node.parent else None,
            node.mute,
            node.label,
        )
        for node in tree.nodes
    )
    links = sorted(
        (
            link.from_node.name,
            link.from_socket.identifier,
            link.to_node.name,
            link.to_socket.identifier,
        )
        for link in tree.links
    )
    return nodes, links


def snapshot_scene(scene):
    view_layer = scene.view_layers[0]
    tree = compat.get_tree(scene)
    return {
        "engine": scene.render.engine,
        "use_compositing": scene.render.use_compositing,
        "frame": scene.frame_current,
        "filepath": scene.render.filepath,
        "file_format": scene.render.image_settings.file_format,
        "passes": {name: getattr(view_layer, name) for name in setup.ALL_PASSES},
        "tree": tree.name if tree else None,
        "tree_content": snapshot_tree(tree) if tree else None,
        "use_nodes": None if IS_5 else scene.use_nodes,
        "pass_index": {ob.name: ob.pass_index for ob in scene.objects},
        "class": {ob.name: ob.ground_truth.class_id for ob in scene.objects},
        "colors": {ob.name: tuple(ob.color) for ob in scene.objects},
        "motion_blur": scene.render.use_motion_blur,
        "selected": sorted(ob.name for ob in scene.objects if ob.select_get()),
        "active": getattr(bpy.context.view_layer.objects.active, "name", None),
    }


def setup_from_settings(scene):
    """The compositor setup of the scene's own settings, as Set Up Compositor makes it."""
    settings = scene.ground_truth
    return setup.setup_compositor(
        scene, scene.view_layers[0], settings.output_dir, outputs_from_settings(settings)
    )
