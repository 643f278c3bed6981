"""The Blender side of distinct instance IDs for copies (see labels/copies.py).

During a Ground Truth render with copies of labelled objects on screen, the render
session adds a one-sample view layer ("Ground Truth Copies") that sees exactly what the
main layer sees, writes each copy's Object Info Random and Location through two AOVs,
and adds the AOV outputs to the materials the copies use. All of it is removed after
the render: the user's materials, layers and instancing stay as they were.
"""

import numpy as np

from .. import compat
from ..labels.copies import LOCATION_AOV, RANDOM_AOV, Copy, random_value
from . import classes
from .classes import GEOMETRY_TYPES

COPY_LAYER = "Ground Truth Copies"

# Nodes added to a material for the render, found again by name to remove them.
MATERIAL_NODES = (
    "Ground Truth Copy Info",
    "Ground Truth Copy Random",
    "Ground Truth Copy Location",
)


def _class_of(ob, class_ids):
    """The class and owner of the instance ``ob`` renders as (:func:`classes.instance_owner`:
    its own class, else its group's or nearest labelled ancestor's), else (0, None)."""
    owner = classes.instance_owner(ob, class_ids)
    return (owner.ground_truth.class_id, owner) if owner is not None else (0, None)


def _source_object(instance, scene):
    """The original object a copy was made from (geometry-nodes copies name the instancer)."""
    original = instance.object.original
    if original != instance.parent.original:
        return original
    data = instance.object.data
    if data is None:
        return original
    # The copy's data is the source's (evaluated); match it by name.
    name = data.original.name_full if data.original else data.name_full
    users = [ob for ob in scene.objects if ob.data is not None and ob.data.name_full == name]
    users = [ob for ob in users if ob != original] or users
    return users[0] if users else original


def labelled_copies(scene, depsgraph, class_ids):
    """The copies drawn this frame whose source object or instancer has a class.

    ``class_ids`` are the IDs of the class table (an object with another ID is
    unlabelled).

    Returns a list of dicts: ``copy`` (labels.copies.Copy), ``key``, ``class_id``,
    ``object`` (source name), ``instancer``, ``matrix_world`` (4x4), ``bounds``
    (8x3 local corners) and ``materials`` (the material data-blocks it is drawn with).
    """
    result = []
    for instance in depsgraph.object_instances:
        if not instance.is_instance or instance.object.type not in GEOMETRY_TYPES:
            continue
        parent = instance.parent.original
        source = _source_object(instance, scene)
        if source == parent:
            # An object's own geometry handed out as an instance (curves and text on 5.0,
            # geometry made inside geometry nodes): not a copy of another object.
            continue
        class_id, owner = _class_of(source, class_ids)
        if not class_id:
            class_id, owner = _class_of(parent, class_ids)
        if not class_id:
            continue
        evaluated = instance.object
        key = (parent.name_full, tuple(instance.persistent_id), owner.name_full)
        location = tuple(float(v) for v in instance.matrix_world.translation)
        result.append(
            {
                "copy": Copy(key, evaluated.pass_index, random_value(instance.random_id), location),
                "key": key,
                "class_id": class_id,
                "object": source.name,
                "instancer": parent.name,
                "matrix_world": np.array(instance.matrix_world, dtype=np.float64),
                "bounds": np.array([list(c) for c in evaluated.bound_box], dtype=np.float64),
                "materials": [s.material for s in evaluated.material_slots if s.material],
            }
        )
    return result


def add_material_aovs(materials):
    """Add the AOV outputs to ``materials``; returns a function that removes them."""
    changed = []
    for material in {m.original for m in materials}:
        tree = compat.material_nodes(material)
        if material.library is not None or tree is None:
            continue
        nodes = tree.nodes
        if MATERIAL_NODES[0] in nodes:
            continue
        info = nodes.new("ShaderNodeObjectInfo")
        random = nodes.new("ShaderNodeOutputAOV")
        location = nodes.new("ShaderNodeOutputAOV")
        for node, name in zip((info, random, location), MATERIAL_NODES, strict=True):
            node.name = node.label = name
            node.location = (-2000.0, -2000.0 - 200.0 * len(changed))
        random.aov_name = RANDOM_AOV
        location.aov_name = LOCATION_AOV
        links = tree.links
        links.new(info.outputs["Random"], random.inputs["Value"])
        links.new(info.outputs["Location"], location.inputs["Color"])
        changed.append(material)

    def remove():
        for material in changed:
            nodes = compat.material_nodes(material).nodes
            for name in MATERIAL_NODES:
                node = nodes.get(name)
                if node is not None:
                    nodes.remove(node)

    return remove


def add_copy_layer(scene, main_layer):
    """A one-sample view layer that sees what ``main_layer`` sees, with the two AOVs."""
    layer = scene.view_layers.new(COPY_LAYER)
    layer.samples = 1
    layer.use_pass_z = True
    layer.use_pass_object_index = True
    layer.pass_alpha_threshold = main_layer.pass_alpha_threshold
    layer.material_override = main_layer.material_override
    for attribute in ("use_solid", "use_strand", "use_volumes", "use_motion_blur"):
        setattr(layer, attribute, getattr(main_layer, attribute))
    _copy_visibility(main_layer.layer_collection, layer.layer_collection)
    for name, kind in ((RANDOM_AOV, "VALUE"), (LOCATION_AOV, "COLOR")):
        aov = layer.aovs.add()
        aov.name, aov.type = name, kind
    return layer


def _copy_visibility(source, target):
    for attribute in ("exclude", "holdout", "indirect_only", "hide_viewport"):
        if getattr(target, attribute) != getattr(source, attribute):
            setattr(target, attribute, getattr(source, attribute))
    for child_source, child_target in zip(source.children, target.children, strict=True):
        _copy_visibility(child_source, child_target)
