"""Everything that differs between Blender 4.2, 4.5 and 5.0, in one place.

No other module checks ``bpy.app.version`` or probes for an API. The compositor's
API changed most in 5.0 (the scene's tree, File Output slots and items, socket names);
5.0 also renamed EEVEE back and made every material use nodes.
"""

import bpy

IS_5 = bpy.app.version >= (5, 0, 0)

# The identifier of EEVEE in ``RenderSettings.engine``.
EEVEE_ENGINE = "BLENDER_EEVEE" if IS_5 else "BLENDER_EEVEE_NEXT"

# Blender 4.5 added the option that lets the file browser keep a folder relative to the
# .blend file; 4.2 refuses to register a property with an option it does not know.
PATH_PROPERTY_OPTIONS = (
    {"PATH_SUPPORTS_BLEND_RELATIVE"}
    if "is_path_supports_blend_relative" in bpy.types.Property.bl_rna.properties
    else set()
)


def engine_name(engine):
    """A render engine's name as users read it: ``BLENDER_EEVEE_NEXT`` -> ``Eevee``."""
    return engine.replace("BLENDER_", "").replace("_NEXT", "").title()


def material_nodes(material):
    """The shader node tree a material renders with, or None (nodes off, 4.x only).

    Blender 5.0 deprecates ``Material.use_nodes``: every material renders its nodes.
    """
    if IS_5 or material.use_nodes:
        return material.node_tree
    return None


def use_nodes(datablock):
    """Make a new material or world render with its node tree (4.x: switch nodes on).

    Returns its node tree. On 5.0 new materials and worlds have one already.
    """
    if not IS_5 and not datablock.use_nodes:
        datablock.use_nodes = True
    return datablock.node_tree


# Render Layers output sockets, by what they carry.
RENDER_LAYER_SOCKETS = {
    "image": "Image",
    "depth": "Depth",
    "object_index": "Object Index" if IS_5 else "IndexOB",
    "material_index": "Material Index" if IS_5 else "IndexMA",
    "normal": "Normal",
    "vector": "Vector",
}

NEW_TREE_NAME = "Ground Truth Compositing"
# The nodes of the tree that switching nodes on creates (4.x); a 5.0 tree starts empty.
DEFAULT_TREE_NODES = () if IS_5 else ("Render Layers", "Composite")

# The compositor's Combine XYZ node (5.0 shares the shader editor's).
COMBINE_XYZ_NODE = "ShaderNodeCombineXYZ" if IS_5 else "CompositorNodeCombineXYZ"

# The Vector pass has four channels. Linked straight into a File Output node, 4.2 writes
# only three (X, Y, Z: the W is lost) while 4.5 and 5.0 write all four; through Separate
# Color + Combine Color, 4.2 keeps all four and 4.5 and 5.0 lose the fourth (measured).
VECTOR_THROUGH_COLOR = bpy.app.version < (4, 5, 0)

# Cycles' Vector pass is right for a moving orthographic camera on 4.2 but wrong on 4.5
# and 5.0 (measured: a camera panning 0.1 unit per frame gives tens of pixels that grow
# across the image); for static orthographic cameras and all perspective ones it is right.
ORTHO_CAMERA_VECTOR_PASS_OK = bpy.app.version < (4, 5, 0)


def get_tree(scene):
    """The scene's compositor tree, or None when it has none (or nodes are off on 4.x)."""
    if IS_5:
        return scene.compositing_node_group
    return scene.node_tree if scene.use_nodes else None


def ensure_tree(scene):
    """Return the compositor tree, creating it as Blender would. Returns (tree, created)."""
    tree = get_tree(scene)
    if tree is not None:
        return tree, False
    if IS_5:
        tree = bpy.data.node_groups.new(NEW_TREE_NAME, "CompositorNodeTree")
        scene.compositing_node_group = tree
        return tree, True
    # Switching nodes on creates Blender's default tree when the scene has none.
    scene.use_nodes = True
    return scene.node_tree, True


def created_tree(scene, name):
    """The tree ``ensure_tree`` created, found again by ``name`` (5.0) or as the scene's
    own (4.x); None when it is gone. Without ``name`` (an earlier version's record) it is
    the scene's tree."""
    if IS_5:
        return bpy.data.node_groups.get(name) if name else scene.compositing_node_group
    return scene.node_tree


def release_tree(scene, tree):
    """Undo ``ensure_tree`` for ``tree``: detach and remove it (5.0) or switch the scene's
    nodes off (4.x), only where it is still the scene's compositor."""
    if IS_5:
        if scene.compositing_node_group == tree:
            scene.compositing_node_group = None
        if tree.users == 0:
            bpy.data.node_groups.remove(tree)
    elif scene.node_tree == tree and scene.use_nodes:
        scene.use_nodes = False


def configure_file_output(node, directory, file_name, inputs, file_format, color_depth):
    """Point a File Output node at ``directory`` and give it ``inputs`` in order.

    ``inputs`` is a list of (name, kind) with kind 'RGBA', 'VECTOR' (three channels X,
    Y, Z) or 'FLOAT'; 4.x takes the kind from the linked socket instead. For a multilayer
    EXR the names become layer names and the file is ``directory + file_name``;
    otherwise each input writes ``directory + name`` (``file_name`` must be empty).
    Frame numbers replace the ``#`` characters. Only differing values are written.
    """
    fmt = node.format
    multilayer = file_format == "OPEN_EXR_MULTILAYER"
    if IS_5:
        media = "MULTI_LAYER_IMAGE" if multilayer else "IMAGE"
        _set(fmt, "media_type", media)
    _set(fmt, "file_format", file_format)
    if file_format in ("PNG", "BMP"):
        _set(fmt, "color_mode", "RGB")
    if color_depth is not None:
        _set(fmt, "color_depth", color_depth)
    if file_format.startswith("OPEN_EXR"):
        _set(fmt, "exr_codec", "NONE")
    if IS_5:
        _set(node, "directory", directory)
        _set(node, "file_name", file_name)
        items = node.file_output_items
        wanted = list(inputs)
        if [(i.name, i.socket_type) for i in items] != wanted:
            items.clear()
            for name, socket_type in wanted:
                items.new(socket_type, name)
    else:
        _set(node, "base_path", directory + file_name)
        slots = node.layer_slots if multilayer else node.file_slots
        names = [s.name if multilayer else s.path for s in slots]
        if names != [name for name, _kind in inputs]:
            slots.clear()
            for name, _kind in inputs:
                slots.new(name)


def file_output_input(node, index, name):
    """The File Output node's input socket for the configured input ``index``/``name``."""
    return node.inputs[name] if IS_5 else node.inputs[index]


def _set(owner, attribute, value):
    if getattr(owner, attribute) != value:
        setattr(owner, attribute, value)
