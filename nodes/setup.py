"""The extension's compositor nodes: get-or-create, update in place, remove.

The extension owns a few nodes, found again by name, inside a frame labelled
"Ground Truth". The user's own nodes and links are never touched. Settings the
setup changes outside the tree (passes, a tree created for it) are recorded in
``scene.ground_truth`` so that ``remove_compositor`` puts them back.
"""

import json

from .. import compat, versioning
from ..dataset import layout
from ..dataset.outputs import OUTPUTS

FRAME_NODE = "Ground Truth"
RENDER_LAYERS_NODE = "Ground Truth Render Layers"
RAW_NODE = "Ground Truth Raw Output"
PACK_NODE = "Ground Truth Raw Passes"
IMAGE_NODE = "Ground Truth Image Copy"


# The outputs whose pass the compositor writes to a raw EXR of its own (normals, flow).
PASS_OUTPUTS = tuple(output for output in OUTPUTS if output.raw is not None)


def _pass_node(output):
    """The File Output node of an output's own raw pass, and its colour split and join."""
    name = f"Ground Truth {output.raw.layer} Output"
    return name, name + " Split", name + " Join"


def _through_color(output):
    # Four channels linked straight into a File Output node lose one on some versions.
    return output.raw.channels == 4 and compat.VECTOR_THROUGH_COLOR


OWNED_NODES = (
    RAW_NODE,
    PACK_NODE,
    IMAGE_NODE,
    *(_pass_node(output)[0] for output in PASS_OUTPUTS),
    *(name for o in PASS_OUTPUTS if _through_color(o) for name in _pass_node(o)[1:]),
    RENDER_LAYERS_NODE,
    FRAME_NODE,
)

# View layer passes the raw output always needs.
PASSES = ("use_pass_z", "use_pass_object_index")
# The pass packed into the raw layer's third channel for the part map.
MATERIAL_PASS = "use_pass_material_index"
# Every pass the setup may switch on (some only for an output).
ALL_PASSES = (
    PASSES
    + tuple(p for output in OUTPUTS for p in output.passes)
    + tuple(output.raw.view_layer_pass for output in PASS_OUTPUTS)
)


def wanted_passes(outputs):
    """The view-layer passes beyond :data:`PASSES` that ``outputs`` (output keys) need."""
    chosen = [o for o in OUTPUTS if o.key in outputs]
    return tuple(p for o in chosen for p in o.passes) + tuple(
        o.raw.view_layer_pass for o in chosen if o.raw is not None
    )


def raw_output_path(output_dir, raw_owner=None):
    """The Blender path (may start with //) of the raw folder, with a trailing slash.

    ``raw_owner`` names a process's own raw folder (``.raw/<host>-<pid>/``); without it
    the raw passes go to ``.raw/``, as a farm rendering the saved setup writes them.
    """
    root = output_dir if output_dir.endswith(("/", "\\")) else output_dir + "/"
    return root + layout.RAW_DIR + "/" + (raw_owner + "/" if raw_owner else "")


def has_setup(scene):
    tree = compat.get_tree(scene)
    return tree is not None and RAW_NODE in tree.nodes


def setup_compositor(scene, view_layer, output_dir, outputs, raw_owner=None):
    """Add or update the extension's nodes for ``view_layer``; idempotent. Returns the tree.

    The nodes write into the raw folder of ``output_dir`` (a Blender path; ``//`` is
    relative to the .blend file; ``.raw/<raw_owner>/``, see :func:`raw_output_path`) what
    ``outputs`` (output keys) need: the raw passes always, an uncompressed copy of the
    image when the RGB image or the preview is among them (the writer thread encodes the
    PNG while the next frame renders: Blender's own PNG encoding would hold up every
    frame), and a raw file for each requested output with a pass of its own.
    """
    settings = scene.ground_truth
    first_time = not has_setup(scene)
    tree, created = compat.ensure_tree(scene)
    if first_time:
        record = {"created_tree": created, "passes": {}}
        if created:
            # What the new tree held before any node of ours: the user's nodes are the rest.
            record["tree"] = tree.name
            record["tree_nodes"] = [node.name for node in tree.nodes]
    else:
        record = json.loads(settings.compositor_record or "{}")
    wanted = wanted_passes(outputs)
    _enable_passes(view_layer, PASSES + wanted, record)
    # Optional passes the setup switched on for an output that is now off go off again.
    _disable_passes(view_layer, [p for p in ALL_PASSES if p not in PASSES + wanted], record)
    text = json.dumps(record)
    if settings.compositor_record != text:
        settings.compositor_record = text

    nodes = tree.nodes
    frame = _get_or_new(nodes, "NodeFrame", FRAME_NODE)
    if frame.label != FRAME_NODE:
        frame.label = FRAME_NODE
    for node in versioning.outdated_nodes(nodes, frame):
        nodes.remove(node)
    new_nodes = {name for name in OWNED_NODES if name not in nodes}
    render_layers = _get_or_new(nodes, "CompositorNodeRLayers", RENDER_LAYERS_NODE, frame)
    if render_layers.layer != view_layer.name:
        render_layers.layer = view_layer.name
    pack = _get_or_new(nodes, compat.COMBINE_XYZ_NODE, PACK_NODE, frame)
    raw = _get_or_new(nodes, "CompositorNodeOutputFile", RAW_NODE, frame)
    # The image, 8-bit with the view transform applied (as a PNG would hold it), for
    # the RGB PNG and the preview picture.
    image = _get_or_new(nodes, "CompositorNodeOutputFile", IMAGE_NODE, frame)
    pass_nodes = [
        _get_or_new(nodes, "CompositorNodeOutputFile", _pass_node(o)[0], frame)
        for o in PASS_OUTPUTS
    ]
    if first_time or image.name in new_nodes:
        _place(nodes, frame, render_layers, image, pack, raw)
    for index, node in enumerate(pass_nodes):
        if first_time or node.name in new_nodes:
            node.location = (raw.location.x, raw.location.y - 200.0 * (index + 1))

    raw_dir = raw_output_path(output_dir, raw_owner)
    frame_pattern = "#" * layout.FRAME_DIGITS
    compat.configure_file_output(
        raw,
        raw_dir,
        frame_pattern,
        [(layout.RAW_LAYER, "VECTOR")],
        file_format="OPEN_EXR_MULTILAYER",
        color_depth="32",
    )
    compat.configure_file_output(
        image, raw_dir, "", [(frame_pattern, "RGBA")], file_format="BMP", color_depth=None
    )
    sockets = compat.RENDER_LAYER_SOCKETS
    depth, index, material = (pack.inputs[name] for name in layout.RAW_CHANNELS)
    _link(tree, render_layers.outputs[sockets["depth"]], depth)
    _link(tree, render_layers.outputs[sockets["object_index"]], index)
    if MATERIAL_PASS in wanted:
        _link(tree, render_layers.outputs[sockets["material_index"]], material)
    else:
        # Without the pass (Blender 5.0 then has no socket for it) the channel is constant.
        for link in list(material.links):
            tree.links.remove(link)
        if material.default_value != layout.NO_MATERIAL_INDEX:
            material.default_value = layout.NO_MATERIAL_INDEX
    _link(tree, pack.outputs[0], compat.file_output_input(raw, 0, layout.RAW_LAYER))
    _link(
        tree,
        render_layers.outputs[sockets["image"]],
        compat.file_output_input(image, 0, frame_pattern),
    )
    for output, node in zip(PASS_OUTPUTS, pass_nodes, strict=True):
        raw_pass = output.raw
        compat.configure_file_output(
            node,
            raw_dir,
            frame_pattern + raw_pass.suffix,
            [(raw_pass.layer, "VECTOR" if raw_pass.channels == 3 else "RGBA")],
            file_format="OPEN_EXR_MULTILAYER",
            color_depth="32",
        )
        on = output.key in outputs
        # Blender 5.0 has no socket for a pass that is off.
        source = render_layers.outputs[sockets[raw_pass.socket]] if on else None
        if _through_color(output):
            _name, split_name, join_name = _pass_node(output)
            split = _get_or_new(nodes, "CompositorNodeSeparateColor", split_name, frame)
            join = _get_or_new(nodes, "CompositorNodeCombineColor", join_name, frame)
            if first_time or node.name in new_nodes:
                split.location = (node.location.x - 500.0, node.location.y)
                join.location = (node.location.x - 250.0, node.location.y)
            for channel in range(4):
                _link(tree, split.outputs[channel], join.inputs[channel])
            if source is not None:
                _link(tree, source, split.inputs[0])
            source = join.outputs[0]
        if source is not None:
            _link(tree, source, compat.file_output_input(node, 0, raw_pass.layer))
        _set_mute(node, not on)
    _set_mute(image, not {"rgb", "preview"} & set(outputs))
    return tree


def remove_compositor(scene):
    """Remove the extension's nodes and undo what setup changed; returns False if none."""
    settings = scene.ground_truth
    tree = compat.get_tree(scene)
    found = False
    if tree is not None:
        frame = tree.nodes.get(FRAME_NODE)
        for node in versioning.outdated_nodes(tree.nodes, frame) if frame else ():
            tree.nodes.remove(node)
            found = True
        for name in OWNED_NODES:
            node = tree.nodes.get(name)
            if node is not None:
                tree.nodes.remove(node)
                found = True
    record = json.loads(settings.compositor_record or "{}")
    for layer_name, attributes in record.get("passes", {}).items():
        view_layer = scene.view_layers.get(layer_name)
        for attribute in attributes if view_layer else ():
            setattr(view_layer, attribute, False)
    if record.get("created_tree"):
        _release_created_tree(scene, record)
    settings.compositor_record = ""
    return found


def _release_created_tree(scene, record):
    """Undo the creation of the tree the setup made, unless the user has made it theirs.

    A tree that now holds nodes of the user's (beyond those it was created with) stays
    the scene's compositor, and so does any other tree the user has put in its place.
    """
    tree = compat.created_tree(scene, record.get("tree"))
    if tree is None:
        return
    created_with = set(record.get("tree_nodes", compat.DEFAULT_TREE_NODES))
    if all(node.name in created_with for node in tree.nodes):
        compat.release_tree(scene, tree)


def _enable_passes(view_layer, passes, record):
    """Switch ``passes`` on, adding those that were off to ``record`` for the removal."""
    for attribute in passes:
        if not getattr(view_layer, attribute):
            setattr(view_layer, attribute, True)
            ours = record.setdefault("passes", {}).setdefault(view_layer.name, [])
            if attribute not in ours:
                ours.append(attribute)


def _disable_passes(view_layer, passes, record):
    """Switch off those of ``passes`` that ``record`` says the setup switched on."""
    ours = record.get("passes", {}).get(view_layer.name, [])
    for attribute in passes:
        if attribute in ours:
            if getattr(view_layer, attribute):
                setattr(view_layer, attribute, False)
            ours.remove(attribute)


def _get_or_new(nodes, bl_idname, name, parent=None):
    node = nodes.get(name)
    if node is not None and node.bl_idname != bl_idname:
        # A user node took our name: leave it alone and use a fresh one.
        node.name = name + " (user)"
        node = None
    if node is None:
        node = nodes.new(bl_idname)
        node.name = name
        node.label = name
    if parent is not None and node.parent != parent:
        node.parent = parent
    return node


def _place(nodes, frame, render_layers, image, pack, raw):
    # Below the user's nodes, so that nothing of theirs is covered.
    owned = {frame.name, *OWNED_NODES}
    others = [n for n in nodes if n.name not in owned]
    x = min((n.location.x for n in others), default=0.0)
    y = min((n.location.y for n in others), default=0.0) - 500.0
    render_layers.location = (x, y)
    image.location = (x + 600.0, y)
    pack.location = (x + 350.0, y - 200.0)
    raw.location = (x + 600.0, y - 200.0)


def _link(tree, from_socket, to_socket):
    for link in to_socket.links:
        if link.from_socket == from_socket:
            return
    tree.links.new(from_socket, to_socket)


def _set_mute(node, mute):
    if node.mute != mute:
        node.mute = mute
