"""The extension's compositor nodes: get-or-create, update in place, remove.

The extension owns a few nodes, found again by name, inside a frame labelled
"Ground Truth". The user's own nodes and links are never touched. Settings the
setup changes outside the tree (passes, a tree created for it) are recorded in
``scene.ground_truth`` so that ``remove_compositor`` puts them back.
"""

import json
from typing import NamedTuple

from .. import compat
from ..dataset import layout
from ..labels import convert, copies

FRAME_NODE = "Ground Truth"
RENDER_LAYERS_NODE = "Ground Truth Render Layers"
RGB_NODE = "Ground Truth RGB Output"
RAW_NODE = "Ground Truth Raw Output"
PACK_NODE = "Ground Truth Raw Passes"
PREVIEW_NODE = "Ground Truth Preview Image"


class ExtraOutput(NamedTuple):
    """A pass written, for an output choice, to its own single-layer raw EXR."""

    node: str  # the File Output node's name
    choice: str  # the output choice (a property of scene.ground_truth) that needs it
    view_layer_pass: str  # the view layer property that switches the pass on
    socket: str  # key of compat.RENDER_LAYER_SOCKETS
    layer: str  # the layer name in the EXR
    suffix: str  # the file is .raw/NNNNNN<suffix>.exr
    kind: str  # the File Output input's kind on 5.0: 'VECTOR' (3 channels) or 'RGBA' (4)
    # Four channels that need Separate + Combine Color nodes on the way (compat says when).
    through_color: bool = False


# One file per pass, each with ONE layer: Blender 5.0 fails to write multi-part EXRs
# (one part per layer) when the pixel aspect is not 1.
EXTRA_OUTPUTS = (
    ExtraOutput(
        "Ground Truth Normal Output",
        "output_normal",
        "use_pass_normal",
        "normal",
        convert.NORMAL_LAYER,
        convert.NORMAL_SUFFIX,
        "VECTOR",
    ),
    ExtraOutput(
        "Ground Truth Vector Output",
        "output_flow",
        "use_pass_vector",
        "vector",
        convert.VECTOR_LAYER,
        convert.VECTOR_SUFFIX,
        "RGBA",
        through_color=compat.VECTOR_THROUGH_COLOR,
    ),
)


def _split_names(extra):
    return extra.node + " Split", extra.node + " Join"


OWNED_NODES = (
    RGB_NODE,
    RAW_NODE,
    PACK_NODE,
    PREVIEW_NODE,
    *(extra.node for extra in EXTRA_OUTPUTS),
    *(name for extra in EXTRA_OUTPUTS if extra.through_color for name in _split_names(extra)),
    RENDER_LAYERS_NODE,
    FRAME_NODE,
)

# View layer passes the raw output needs.
PASSES = ("use_pass_z", "use_pass_object_index", "use_pass_material_index")
# Every pass the setup may switch on (some only for an output choice).
ALL_PASSES = PASSES + tuple(extra.view_layer_pass for extra in EXTRA_OUTPUTS)

# The raw EXR holds one layer of three channels carrying the passes: X = Depth,
# Y = Object Index, Z = Material Index (packed by a Combine XYZ node; setups made before
# used Combine Color: R, G, B and an unused A). One layer, because Blender 5.0 fails to
# write multi-part EXRs (one part per layer) when the pixel aspect is not 1.
RAW_LAYER = "Raw"


def output_paths(output_dir):
    """Blender paths (may start with //) of the RGB and raw folders, with a trailing slash."""
    root = output_dir if output_dir.endswith(("/", "\\")) else output_dir + "/"
    return root + layout.RGB_DIR + "/", root + layout.RAW_DIR + "/"


def has_setup(scene):
    tree = compat.get_tree(scene)
    return tree is not None and RAW_NODE in tree.nodes


def setup_compositor(scene, view_layer, *, rgb=None):
    """Add or update the extension's nodes for ``view_layer``; idempotent. Returns the tree.

    ``rgb`` overrides the scene's choice of writing the RGB image (labels-only renders).
    """
    settings = scene.ground_truth
    first_time = not has_setup(scene)
    tree, created = compat.ensure_tree(scene)
    if first_time:
        record = {"created_tree": created, "passes": {}}
    else:
        record = json.loads(settings.compositor_record or "{}")
    wanted = [e.view_layer_pass for e in EXTRA_OUTPUTS if getattr(settings, e.choice)]
    _enable_passes(view_layer, PASSES + tuple(wanted), record)
    # Optional passes the setup switched on for an output that is now off go off again.
    _disable_passes(view_layer, [p for p in ALL_PASSES if p not in PASSES + tuple(wanted)], record)
    text = json.dumps(record)
    if settings.compositor_record != text:
        settings.compositor_record = text

    nodes = tree.nodes
    frame = _get_or_new(nodes, "NodeFrame", FRAME_NODE)
    if frame.label != FRAME_NODE:
        frame.label = FRAME_NODE
    render_layers = _get_or_new(nodes, "CompositorNodeRLayers", RENDER_LAYERS_NODE, frame)
    if render_layers.layer != view_layer.name:
        render_layers.layer = view_layer.name
    rgb_node = _get_or_new(nodes, "CompositorNodeOutputFile", RGB_NODE, frame)
    _remove_outdated(nodes, PACK_NODE, "CompositorNodeCombineColor", frame)
    pack = _get_or_new(nodes, compat.COMBINE_XYZ_NODE, PACK_NODE, frame)
    raw = _get_or_new(nodes, "CompositorNodeOutputFile", RAW_NODE, frame)
    # An uncompressed copy of the image for the preview picture: decoding the PNG
    # would cost more than all the labels together.
    picture = _get_or_new(nodes, "CompositorNodeOutputFile", PREVIEW_NODE, frame)
    new_extras = [e.node for e in EXTRA_OUTPUTS if e.node not in nodes]
    extras = [_get_or_new(nodes, "CompositorNodeOutputFile", e.node, frame) for e in EXTRA_OUTPUTS]
    if first_time:
        _place(nodes, frame, render_layers, rgb_node, pack, raw, picture)
    for index, node in enumerate(extras):
        if first_time or node.name in new_extras:
            node.location = (picture.location.x, picture.location.y - 200.0 * (index + 1))

    rgb_dir, raw_dir = output_paths(settings.output_dir)
    frame_pattern = "#" * layout.FRAME_DIGITS
    compat.configure_file_output(
        rgb_node, rgb_dir, "", [(frame_pattern, "RGBA")], file_format="PNG", color_depth="8"
    )
    compat.configure_file_output(
        raw,
        raw_dir,
        frame_pattern,
        [(RAW_LAYER, "VECTOR")],
        file_format="OPEN_EXR_MULTILAYER",
        color_depth="32",
    )
    compat.configure_file_output(
        picture, raw_dir, "", [(frame_pattern, "RGBA")], file_format="BMP", color_depth=None
    )
    sockets = compat.RENDER_LAYER_SOCKETS
    _link(
        tree,
        render_layers.outputs[sockets["image"]],
        compat.file_output_input(rgb_node, 0, frame_pattern),
    )
    _link(tree, render_layers.outputs[sockets["depth"]], pack.inputs["X"])
    _link(tree, render_layers.outputs[sockets["object_index"]], pack.inputs["Y"])
    _link(tree, render_layers.outputs[sockets["material_index"]], pack.inputs["Z"])
    _link(tree, pack.outputs[0], compat.file_output_input(raw, 0, RAW_LAYER))
    _link(
        tree,
        render_layers.outputs[sockets["image"]],
        compat.file_output_input(picture, 0, frame_pattern),
    )
    for extra, node in zip(EXTRA_OUTPUTS, extras, strict=True):
        compat.configure_file_output(
            node,
            raw_dir,
            frame_pattern + extra.suffix,
            [(extra.layer, extra.kind)],
            file_format="OPEN_EXR_MULTILAYER",
            color_depth="32",
        )
        wanted = getattr(settings, extra.choice)
        source = None
        if wanted:
            # Blender 5.0 has no socket for a pass that is off.
            source = render_layers.outputs[sockets[extra.socket]]
        if extra.through_color:
            split_name, join_name = _split_names(extra)
            split = _get_or_new(nodes, "CompositorNodeSeparateColor", split_name, frame)
            join = _get_or_new(nodes, "CompositorNodeCombineColor", join_name, frame)
            if first_time or node.name in new_extras:
                split.location = (node.location.x - 500.0, node.location.y)
                join.location = (node.location.x - 250.0, node.location.y)
            for index in range(4):
                _link(tree, split.outputs[index], join.inputs[index])
            if source is not None:
                _link(tree, source, split.inputs[0])
            source = join.outputs[0]
        if source is not None:
            _link(tree, source, compat.file_output_input(node, 0, extra.layer))
        _set_mute(node, not wanted)
    _set_mute(picture, not settings.output_preview)
    _set_mute(rgb_node, not (settings.output_rgb if rgb is None else rgb))
    return tree


def remove_compositor(scene):
    """Remove the extension's nodes and undo what setup changed; returns False if none."""
    settings = scene.ground_truth
    tree = compat.get_tree(scene)
    found = False
    if tree is not None:
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
    if tree is not None:
        compat.release_tree(scene, tree, record.get("created_tree", False))
    settings.compositor_record = ""
    return found


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


def _remove_outdated(nodes, name, bl_idname, frame):
    """Remove our node ``name`` where an earlier version made it a ``bl_idname``.

    A node of that name and type outside the extension's frame is the user's: kept.
    """
    node = nodes.get(name)
    if node is not None and node.bl_idname == bl_idname and node.parent == frame:
        nodes.remove(node)


def _place(nodes, frame, render_layers, rgb, pack, raw, picture):
    # Below the user's nodes, so that nothing of theirs is covered.
    owned = {frame.name, *OWNED_NODES}
    others = [n for n in nodes if n.name not in owned]
    x = min((n.location.x for n in others), default=0.0)
    y = min((n.location.y for n in others), default=0.0) - 500.0
    render_layers.location = (x, y)
    rgb.location = (x + 600.0, y)
    pack.location = (x + 350.0, y - 200.0)
    raw.location = (x + 600.0, y - 200.0)
    picture.location = (x + 600.0, y - 400.0)


def _link(tree, from_socket, to_socket):
    for link in to_socket.links:
        if link.from_socket == from_socket:
            return
    tree.links.new(from_socket, to_socket)


def _set_mute(node, mute):
    if node.mute != mute:
        node.mute = mute


# The copy layer's outputs exist only during a render (see render/copies.py).
COPY_RENDER_LAYERS_NODE = "Ground Truth Copies Render Layers"
COPY_SPLIT_NODE = "Ground Truth Copies Location"
COPY_PACK_NODE = "Ground Truth Copies Pack"
COPY_OUTPUT_NODE = "Ground Truth Copies Output"
COPY_NODES = (COPY_OUTPUT_NODE, COPY_PACK_NODE, COPY_SPLIT_NODE, COPY_RENDER_LAYERS_NODE)
# One layer: R = Object Info Random, G, B, A = the copy's location x, y, z.
COPY_LAYER = "Copies"
COPY_SUFFIX = "_copies"


def setup_copy_outputs(scene, copy_layer):
    """Write the copy layer's Random and Location AOVs to ``.raw/NNNNNN_copies.exr``."""
    tree = compat.get_tree(scene)
    nodes = tree.nodes
    frame = nodes.get(FRAME_NODE)
    layers = _get_or_new(nodes, "CompositorNodeRLayers", COPY_RENDER_LAYERS_NODE, frame)
    layers.layer = copy_layer.name
    split = _get_or_new(nodes, "CompositorNodeSeparateColor", COPY_SPLIT_NODE, frame)
    pack = _get_or_new(nodes, "CompositorNodeCombineColor", COPY_PACK_NODE, frame)
    output = _get_or_new(nodes, "CompositorNodeOutputFile", COPY_OUTPUT_NODE, frame)
    _rgb_dir, raw_dir = output_paths(scene.ground_truth.output_dir)
    compat.configure_file_output(
        output,
        raw_dir,
        "#" * layout.FRAME_DIGITS + COPY_SUFFIX,
        [(COPY_LAYER, "RGBA")],
        file_format="OPEN_EXR_MULTILAYER",
        color_depth="32",
    )
    _link(tree, layers.outputs[copies.RANDOM_AOV], pack.inputs["Red"])
    _link(tree, layers.outputs[copies.LOCATION_AOV], split.inputs[0])
    _link(tree, split.outputs["Red"], pack.inputs["Green"])
    _link(tree, split.outputs["Green"], pack.inputs["Blue"])
    _link(tree, split.outputs["Blue"], pack.inputs["Alpha"])
    _link(tree, pack.outputs[0], compat.file_output_input(output, 0, COPY_LAYER))


def remove_copy_outputs(scene):
    tree = compat.get_tree(scene)
    if tree is None:
        return
    for name in COPY_NODES:
        node = tree.nodes.get(name)
        if node is not None:
            tree.nodes.remove(node)
