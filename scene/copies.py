"""The Blender side of copy IDs (see labels/copies.py): which copies are labelled, their
keys, the run's copy table, and instancing evaluated as the render evaluates it.

A copy is an object instance the depsgraph hands out (``is_instance``): drawn by a
collection instance, a particle system or geometry nodes. Its *source* is the object
it is a copy of; its *instancer* the top-level object that draws it. A copy is labelled
when its source belongs to a labelled instance, else when its instancer does; it takes
that class. It gets an instance ID of its own (*distinct*) unless Distinct Copies is
off, or its class or its instancer has **Copies Share ID** ticked: then its pixels read
the ID of the instance it belongs to.
"""

import contextlib
from dataclasses import dataclass, field

import bpy
import numpy as np

from ..errors import GroundTruthError
from ..labels.copies import CopyTable, Instancer, instancer_name, listed_instancer
from ..labels.ids import MAX_ID_16
from . import classes
from .classes import GEOMETRY_TYPES

# Entries of a persistent ID past the depth of the instancing.
_UNUSED = 2147483647


def persistent_id(instance):
    """Blender's persistent ID of a depsgraph instance, without its unused entries."""
    return tuple(v for v in instance.persistent_id if v != _UNUSED)


class DataOwners:
    """The objects that own each mesh (or other data), looked up by data name, for the
    copies geometry nodes hand out as the instancer itself with the source's data."""

    def __init__(self):
        self._owners = None

    def owner(self, data, exclude):
        if self._owners is None:
            self._owners = {}
            for ob in sorted(bpy.data.objects, key=lambda o: o.name_full):
                if ob.data is not None:
                    self._owners.setdefault(ob.data.name_full, []).append(ob)
        original = data.original if data.original is not None else data
        found = [ob for ob in self._owners.get(original.name_full, ()) if ob != exclude]
        return found[0] if found else None


def source_object(instance, parent, owners):
    """The original object a copy was made from; ``parent`` when the instance is the
    instancer's own geometry (curves and text, geometry made inside geometry nodes)."""
    original = instance.object.original
    if original != parent:
        return original
    data = instance.object.data
    if data is None:
        return parent
    return owners.owner(data, parent) or parent


def copy_key(instance, parent, source):
    """A copy's key: (instancer, persistent ID, source object, particle system)."""
    system = instance.particle_system
    return (
        parent.name_full,
        persistent_id(instance),
        source.name_full,
        system.name if system is not None else "",
    )


def copy_class(source, parent, class_ids):
    """``(class ID, owner)`` of a copy: its source's instance, else its instancer's;
    ``(0, None)`` for an unlabelled copy."""
    for ob in (source, parent):
        owner = classes.instance_owner(ob, class_ids)
        if owner is not None:
            return owner.ground_truth.class_id, owner
    return 0, None


def _particle_instancer(ob, system):
    """The block of a particle system drawing objects (None when it draws none)."""
    settings = system.settings
    if settings.render_type == "OBJECT":
        sources = [settings.instance_object] if settings.instance_object else []
        objects = ()
    elif settings.render_type == "COLLECTION" and settings.instance_collection is not None:
        sources = sorted(
            (o for o in settings.instance_collection.all_objects if o.type in GEOMETRY_TYPES),
            key=lambda o: o.name_full,
        )
        objects = tuple(o.name_full for o in sources) if settings.use_whole_collection else ()
    else:
        return None, []
    count = settings.count
    if settings.child_type != "NONE":
        count += settings.count * settings.rendered_child_count
    name = instancer_name((ob.name_full, (), "", system.name))
    return Instancer(name, particles=max(count, 1), objects=objects), sources


@dataclass
class CopyPlan:
    """What a run does with copies: which get IDs of their own, and the IDs' table."""

    class_ids: frozenset
    distinct: bool = False
    shared_classes: frozenset = frozenset()
    table: CopyTable | None = None
    particle_blocks: set = field(default_factory=set)

    def is_distinct(self, class_id, parent):
        return (
            self.distinct
            and class_id not in self.shared_classes
            and not parent.ground_truth.share_copies
        )


def plan_copies(scene, labels, distinct=True, limit=MAX_ID_16):
    """The run's :class:`CopyPlan`: the copy table of the scene (see labels/copies.py).

    Evaluates the scene at its first frame (the caller puts the frame back); call it
    inside :func:`render_instancing`. Raises ``TooManyInstancesError`` when the copies
    need more IDs than ``limit``.
    """
    shared = frozenset(c.id for c in scene.ground_truth.classes if c.share_copies)
    plan = CopyPlan(labels.class_ids, distinct, shared)
    if not distinct:
        return plan
    first_id = max([0, *(i.id for i in labels.instances)]) + 1
    blocks = {}
    # Particle systems: a slot for every particle they can make, at any frame.
    for ob in scene.objects:
        for system in getattr(ob, "particle_systems", ()):
            block, sources = _particle_instancer(ob, system)
            if block is None:
                continue
            for source in sources:
                class_id, _owner = copy_class(source, ob, plan.class_ids)
                if class_id and plan.is_distinct(class_id, ob):
                    blocks[block.name] = block
                    break
    plan.particle_blocks = set(blocks)
    # Every other instancer: the copies it draws at the first frame.
    scene.frame_set(scene.frame_start)
    listed = {}
    for found in _walk(scene, bpy.context.evaluated_depsgraph_get(), plan):
        if found["distinct"]:
            name = instancer_name(found["key"])
            if name not in blocks:
                listed.setdefault(name, []).append(found["key"])
    for name, keys in listed.items():
        blocks[name] = listed_instancer(name, keys)
    plan.table = CopyTable(first_id, blocks.values(), limit)
    return plan


def make_plan(scene, labels, distinct=True, limit=MAX_ID_16):
    """:func:`plan_copies` with the particles evaluated as renders do, leaving the
    scene's current frame and settings as they were."""
    if not distinct:
        return CopyPlan(labels.class_ids)
    current = scene.frame_current
    try:
        with render_instancing(scene):
            return plan_copies(scene, labels, distinct, limit)
    finally:
        if scene.frame_current != current:
            scene.frame_set(current)


def _walk(scene, depsgraph, plan):
    """Every labelled copy drawn now: dicts with ``key``, ``class_id``, ``owner``,
    ``source``, ``parent``, ``distinct`` and the depsgraph instance's values."""
    owners = DataOwners()
    bounds = {}  # per source: the copies of one object share their bounds
    for instance in depsgraph.object_instances:
        if not instance.is_instance:
            continue
        ob = instance.object
        if ob.type not in GEOMETRY_TYPES:
            continue
        parent = instance.parent.original
        source = source_object(instance, parent, owners)
        if source == parent:
            continue
        class_id, owner = copy_class(source, parent, plan.class_ids)
        if not class_id:
            continue
        key = copy_key(instance, parent, source)
        if source.name_full not in bounds:
            bounds[source.name_full] = _bounds(ob, source, parent, depsgraph)
        yield {
            "key": key,
            "class_id": class_id,
            "owner": owner,
            "source": source,
            "parent": parent,
            "distinct": plan.is_distinct(class_id, parent),
            "carried": ob.pass_index,
            "matrix_world": np.array(instance.matrix_world, dtype=np.float64),
            "bounds": bounds[source.name_full],
        }


def _bounds(ob, source, parent, depsgraph):
    # Geometry-nodes copies come as the instancer itself: their bounds are the source's.
    shown = source.evaluated_get(depsgraph) if ob.original == parent else ob
    return np.array([list(c) for c in shown.bound_box], dtype=np.float64)


def labelled_copies(scene, depsgraph, plan):
    """The labelled copies drawn at the current frame, each with the ID its pixels get.

    Returns plain dicts: ``key``, ``id``, ``distinct``, ``class_id``, ``object`` (source
    name), ``instancer``, ``particle_system``, ``carried`` (the pass index Cycles gives
    its pixels), ``matrix_world`` (4x4) and ``bounds`` (8x3 local corners).
    """
    result = []
    seen = {}
    for found in _walk(scene, depsgraph, plan):
        key = found["key"]
        if found["distinct"]:
            ident = plan.table.id_of(key)
            if ident in seen:
                raise GroundTruthError(
                    f"Two copies got instance ID {ident} ({seen[ident]} and {key}): please "
                    "report this scene; meanwhile let these copies share their source's ID"
                )
            seen[ident] = key
        else:
            ident = found["owner"].ground_truth.instance_id
        result.append(
            {
                "key": key,
                "id": ident,
                "distinct": found["distinct"],
                "class_id": found["class_id"],
                "object": found["source"].name,
                "instancer": found["parent"].name,
                "particle_system": key[3],
                "carried": found["carried"],
                "matrix_world": found["matrix_world"],
                "bounds": found["bounds"],
            }
        )
    return result


@contextlib.contextmanager
def render_instancing(scene):
    """Within the block, the viewport evaluates particle systems as renders do.

    The copies a render draws are read from the viewport's depsgraph: its particle
    systems show all their particles and children (*Viewport Display Amount* and the
    children's display amount set to the render's) meanwhile. Everything is put back
    after.
    """
    changed = []
    seen = set()
    try:
        for ob in scene.objects:
            for system in getattr(ob, "particle_systems", ()):
                settings = system.settings
                if settings.render_type not in {"OBJECT", "COLLECTION"}:
                    continue
                if settings.as_pointer() in seen or settings.library is not None:
                    continue
                seen.add(settings.as_pointer())
                for attribute, value in (
                    ("display_percentage", 100),
                    ("child_percent", settings.rendered_child_count),
                ):
                    saved = getattr(settings, attribute)
                    if saved != value:
                        setattr(settings, attribute, value)
                        changed.append((settings, attribute, saved))
        yield
    finally:
        for settings, attribute, saved in reversed(changed):
            setattr(settings, attribute, saved)
