"""Class table and object labels: the plain functions the operators call.

Every function takes the scene (and objects) explicitly, validates, changes data,
and raises ``GroundTruthError`` with a message for the user on bad input; nothing is
changed when it raises. Functions that change labels return what they changed, so
that the operators' reports can name it.

An object renders as an instance in one of three ways: it is labelled (its own class
and instance ID), or it is an unlabelled part of a labelled object's instance, found
by following ``Object.ground_truth.instance_of`` (set by "One Instance from Selected"
and "Instance per Collection") or else ``Object.parent``. :func:`instance_owner`
follows that chain exactly as the instance ID planner does.
"""

import json
from dataclasses import dataclass, field

import bpy

from ..dataset.description import hex_color, parse_hex
from ..errors import GroundTruthError
from ..labels.ids import (
    MAX_ID,
    IdSpaceFull,
    ObjectEntry,
    plan_instance_ids,
    smallest_free_id,
    unique_name,
)
from ..labels.tables import ClassEntry, InstanceEntry, LabelTable
from ..preview import colors

# Object types with geometry the render draws (and whose bounds make 3D boxes).
GEOMETRY_TYPES = {"MESH", "CURVE", "SURFACE", "FONT", "META", "VOLUME", "CURVES", "POINTCLOUD"}

# --- names in reports -------------------------------------------------------------------


def name_list(names, limit=8):
    """``"A, B, C"``; past ``limit`` names, ``"A, B, ... and 12 more"``."""
    names = list(names)
    if len(names) <= limit:
        return ", ".join(names)
    return ", ".join(names[:limit]) + f" and {len(names) - limit} more"


def object_names(objects, limit=8):
    """The objects' names in name order, as :func:`name_list` writes them."""
    return name_list(sorted(ob.name for ob in objects), limit)


def class_label(item):
    """How reports and the panel name a class: ``class 2 'Car'``."""
    return f"class {item.id} '{item.name}'"


# --- the class table --------------------------------------------------------------------


def duplicate_class_names(scene):
    """Class names used more than once (possible by editing names in the list)."""
    seen, duplicates = set(), set()
    for item in scene.ground_truth.classes:
        (duplicates if item.name in seen else seen).add(item.name)
    return sorted(duplicates)


def duplicate_class_ids(scene):
    """Class IDs used more than once (possible by setting ``id`` from Python)."""
    seen, duplicates = set(), set()
    for item in scene.ground_truth.classes:
        (duplicates if item.id in seen else seen).add(item.id)
    return sorted(duplicates)


def check_class_ids(scene):
    """Refuse a class table in which two classes share an ID: their objects would be
    indistinguishable in the class map."""
    duplicates = duplicate_class_ids(scene)
    if duplicates:
        class_id = duplicates[0]
        names = [f"'{c.name}'" for c in scene.ground_truth.classes if c.id == class_id]
        raise GroundTruthError(
            f"Class ID {class_id} is used by {' and '.join(names)}: class IDs must be unique. "
            "Remove one of them or give it another ID"
        )


def find_class(scene, class_id):
    """Return the class with ``class_id`` or None."""
    for item in scene.ground_truth.classes:
        if item.id == class_id:
            return item
    return None


def find_class_by_name(scene, name):
    """Return the class named ``name`` or None."""
    for item in scene.ground_truth.classes:
        if item.name == name:
            return item
    return None


def active_class(scene):
    settings = scene.ground_truth
    if 0 <= settings.active_class_index < len(settings.classes):
        return settings.classes[settings.active_class_index]
    return None


def _id_references(node_tree, seen):
    """Objects and collections a geometry-nodes tree names (Object Info, Collection Info,
    nested groups), by their sockets' default values."""
    if node_tree is None or node_tree.as_pointer() in seen:
        return
    seen.add(node_tree.as_pointer())
    for node in node_tree.nodes:
        if node.type == "GROUP":
            yield from _id_references(node.node_tree, seen)
            continue
        for socket in node.inputs:
            value = getattr(socket, "default_value", None)
            if isinstance(value, bpy.types.Object | bpy.types.Collection):
                yield value


def _drawn_by(ob, seen):
    """The objects and collections ``ob`` instances."""
    if ob.instance_type == "COLLECTION" and ob.instance_collection is not None:
        yield ob.instance_collection
    for system in getattr(ob, "particle_systems", ()):
        settings = system.settings
        if settings.render_type == "OBJECT" and settings.instance_object is not None:
            yield settings.instance_object
        elif settings.render_type == "COLLECTION" and settings.instance_collection is not None:
            yield settings.instance_collection
    for modifier in ob.modifiers:
        if modifier.type != "NODES":
            continue
        yield from _id_references(modifier.node_group, seen)
        for _key, value in modifier.items():
            if isinstance(value, bpy.types.Object | bpy.types.Collection):
                yield value


def draws_copies(ob):
    """Whether ``ob`` is an instancer: it draws copies of other objects."""
    return any(True for _item in _drawn_by(ob, set()))


def instanced_objects(scene):
    """Objects the scene draws only through instancers: sources in collections that are
    instanced but not linked to the scene (an asset collection), in name order.

    Found from the instancers' settings (collection instances, particle systems, and the
    Object Info and Collection Info nodes and object inputs of geometry nodes), nested
    instancing included.
    """
    in_scene = {ob.as_pointer() for ob in scene.objects}
    found = {}
    seen = set()
    todo = list(scene.objects)
    while todo:
        ob = todo.pop()
        for item in _drawn_by(ob, seen):
            members = item.all_objects if isinstance(item, bpy.types.Collection) else [item]
            for member in members:
                pointer = member.as_pointer()
                if pointer not in in_scene and pointer not in found:
                    found[pointer] = member
                    todo.append(member)
    return sorted(found.values(), key=lambda ob: ob.name_full)


def labelling_objects(scene):
    """The objects whose labels a render reads: the scene's, and those it draws only
    through instancers (:func:`instanced_objects`)."""
    return [*scene.objects, *instanced_objects(scene)]


def class_object_counts(scene):
    """Count objects per class ID in the scene (the objects it draws through
    instancers included)."""
    counts = {}
    for ob in labelling_objects(scene):
        cid = ob.ground_truth.class_id
        if cid:
            counts[cid] = counts.get(cid, 0) + 1
    return counts


def add_class(scene, name="Class", class_id=None, color=None, stuff=False):
    """Append a class with the smallest free ID (or ``class_id``) and make it active."""
    settings = scene.ground_truth
    used = {c.id for c in settings.classes}
    if class_id is None:
        try:
            class_id = smallest_free_id(used)
        except IdSpaceFull as error:
            raise GroundTruthError(str(error)) from None
    elif not 1 <= class_id <= MAX_ID:
        raise GroundTruthError(f"Class ID {class_id} is out of range (1 to {MAX_ID})")
    elif class_id in used:
        raise GroundTruthError(
            f"Class ID {class_id} is already used by '{find_class(scene, class_id).name}'"
        )
    item = settings.classes.add()
    item.id = class_id
    item.name = unique_name(name.strip() or "Class", [c.name for c in settings.classes][:-1])
    item.color = color if color is not None else colors.class_color(class_id)
    item.stuff = stuff
    settings.active_class_index = len(settings.classes) - 1
    return item


def remove_class(scene, index):
    """Remove the class at ``index``; its objects become unlabelled. Returns them."""
    settings = scene.ground_truth
    if not 0 <= index < len(settings.classes):
        raise GroundTruthError("No class selected")
    class_id = settings.classes[index].id
    # Removing one of two classes that share an ID (set from Python) is how that is
    # fixed: the objects keep the ID, which still has a class.
    shared = sum(1 for c in settings.classes if c.id == class_id) > 1
    objects = [] if shared else objects_of_class(scene, class_id)
    _check_editable(objects)
    for ob in objects:
        ob.ground_truth.class_id = 0
    settings.classes.remove(index)
    settings.active_class_index = min(index, max(len(settings.classes) - 1, 0))
    sync_instance_ids(scene)
    return objects


def rename_class(scene, index, name):
    """Rename the class at ``index``; a taken name gets a numeric suffix."""
    settings = scene.ground_truth
    if not 0 <= index < len(settings.classes):
        raise GroundTruthError("No class selected")
    name = name.strip()
    if not name:
        raise GroundTruthError("A class name cannot be empty")
    others = [c.name for i, c in enumerate(settings.classes) if i != index]
    item = settings.classes[index]
    wanted = unique_name(name, others)
    if item.name != wanted:
        item.name = wanted
    return wanted


# --- labels -----------------------------------------------------------------------------


@dataclass
class LabelChange:
    """What a labelling function changed.

    ``changed``: objects whose class changed; ``unchanged``: objects given the class
    they already had; ``left``: objects that were part of another object's instance
    (``instance_of``) and no longer are.
    """

    changed: list = field(default_factory=list)
    unchanged: list = field(default_factory=list)
    left: list = field(default_factory=list)


def assign_class(scene, objects, class_id):
    """Give ``class_id`` (0 = unlabelled) to ``objects`` and refresh instance IDs.

    Each labelled object is its own instance: an object that was part of another's
    instance (``instance_of``) leaves it. Returns a :class:`LabelChange`.
    """
    check_class_ids(scene)
    if class_id and find_class(scene, class_id) is None:
        raise GroundTruthError(f"There is no class with ID {class_id}")
    objects = list(objects)
    if not objects:
        raise GroundTruthError("No objects selected")
    _check_editable(objects)
    change = LabelChange()
    for ob in objects:
        settings = ob.ground_truth
        if settings.instance_of is not None:
            settings.instance_of = None
            change.left.append(ob)
        if settings.class_id != class_id:
            settings.class_id = class_id
            change.changed.append(ob)
        else:
            change.unchanged.append(ob)
    sync_instance_ids(scene)
    return change


def objects_of_class(scene, class_id):
    return [ob for ob in scene.objects if ob.ground_truth.class_id == class_id]


def instance_link(ob):
    """The object ``ob`` belongs to when it has no class: its ``instance_of``, else its parent."""
    return ob.ground_truth.instance_of or ob.parent


def instance_owner(ob, class_ids):
    """The labelled object whose instance ``ob`` renders as (``ob`` itself when it is
    labelled), or None. ``class_ids``: the IDs of the class table (other IDs count as
    unlabelled). Follows :func:`instance_link` as the instance ID planner does."""
    seen = set()
    while ob is not None and ob.name_full not in seen:
        if ob.ground_truth.class_id in class_ids:
            return ob
        seen.add(ob.name_full)
        ob = instance_link(ob)
    return None


def can_be_labelled(ob):
    """Objects that draw something in a render: geometry, and empties that instance a
    collection (their copies take the empty's class)."""
    if ob.type in GEOMETRY_TYPES:
        return True
    return (
        ob.type == "EMPTY"
        and ob.instance_type == "COLLECTION"
        and ob.instance_collection is not None
    )


def unlabelled_objects(scene):
    """Objects that render (geometry, collection instancers; not hidden from renders) but
    belong to no instance: they read 0 in the class and instance maps. In name order."""
    class_ids = {c.id for c in scene.ground_truth.classes}
    found = [
        ob
        for ob in scene.objects
        if can_be_labelled(ob) and not ob.hide_render and instance_owner(ob, class_ids) is None
    ]
    return sorted(found, key=lambda ob: ob.name)


def make_one_instance(scene, objects, owner, class_id):
    """Make ``objects`` one instance of class ``class_id``, held by ``owner``.

    ``owner`` gets the class and keeps (or gets) the instance ID; the others become
    unlabelled parts of its instance (``instance_of``), without parenting, as its
    children would be. Returns ``(owner's ID, [the others], [IDs freed])``.
    """
    check_class_ids(scene)
    if find_class(scene, class_id) is None:
        raise GroundTruthError(f"There is no class with ID {class_id}")
    objects = list(dict.fromkeys(objects))
    if owner not in objects:
        objects.append(owner)
    if len(objects) < 2:
        raise GroundTruthError("Select at least two objects to make one instance of them")
    _check_editable(objects)
    before = {ob.name_full: ob.ground_truth.instance_id for ob in objects}
    members = [ob for ob in objects if ob != owner]
    owner.ground_truth.instance_of = None
    if owner.ground_truth.class_id != class_id:
        owner.ground_truth.class_id = class_id
    for ob in members:
        settings = ob.ground_truth
        if settings.class_id:
            settings.class_id = 0
        if settings.instance_of != owner:
            settings.instance_of = owner
    sync_instance_ids(scene)
    instance_id = owner.ground_truth.instance_id
    still_used = {ob.ground_truth.instance_id for ob in scene.objects}
    freed = sorted({i for i in before.values() if i and i not in still_used})
    return instance_id, members, freed


def collections_of(scene, objects):
    """The collections holding ``objects`` (not the scene's own), in name order."""
    found = {}
    for ob in objects:
        for collection in ob.users_collection:
            if collection != scene.collection and collection.library is None:
                found[collection.name_full] = collection
    return [found[name] for name in sorted(found)]


def collection_objects(scene, collection):
    """The objects of ``collection`` and its children that can be labelled, in this scene."""
    in_scene = set(scene.objects)
    return sorted(
        (ob for ob in collection.all_objects if ob in in_scene and can_be_labelled(ob)),
        key=lambda ob: ob.name,
    )


@dataclass
class CollectionLabel:
    """What :func:`label_collections` did with one collection."""

    collection: str
    class_id: int
    class_name: str
    created: bool
    objects: list
    instance_id: int = 0


def label_collections(scene, collections, per_collection, class_id=None, active_object=None):
    """Label whole collections (their objects, children included).

    ``per_collection`` "CLASS": each collection becomes a class named after it (an
    existing class of that name is reused) and each of its objects its own instance.
    "INSTANCE": each collection becomes one instance of ``class_id``, held by
    ``active_object`` when it is in the collection, else by its first object by name.
    An object in two of the collections is refused. Returns one
    :class:`CollectionLabel` per collection.
    """
    check_class_ids(scene)
    if not collections:
        raise GroundTruthError(
            "The selected objects are in no collection but the scene's own: select an object "
            "of each collection to label"
        )
    contents = {c.name_full: collection_objects(scene, c) for c in collections}
    owners = {}
    for collection in collections:
        for ob in contents[collection.name_full]:
            other = owners.setdefault(ob.name_full, collection.name)
            if other != collection.name:
                raise GroundTruthError(
                    f"'{ob.name}' is in both collections '{other}' and '{collection.name}': "
                    "label them one at a time"
                )
    empty = [c.name for c in collections if not contents[c.name_full]]
    if empty:
        raise GroundTruthError(f"Collection '{empty[0]}' holds no object that renders")
    _check_editable([ob for objects in contents.values() for ob in objects])
    if per_collection == "INSTANCE" and find_class(scene, class_id) is None:
        raise GroundTruthError(f"There is no class with ID {class_id}")
    done = []
    for collection in collections:
        objects = contents[collection.name_full]
        if per_collection == "CLASS":
            item = find_class_by_name(scene, collection.name)
            created = item is None
            if created:
                item = add_class(scene, collection.name)
            assign_class(scene, objects, item.id)
            done.append(CollectionLabel(collection.name, item.id, item.name, created, objects))
        else:
            owner = active_object if active_object in objects else objects[0]
            instance_id, _members, _freed = make_one_instance(scene, objects, owner, class_id)
            item = find_class(scene, class_id)
            done.append(
                CollectionLabel(
                    collection.name, item.id, item.name, False, objects, instance_id=instance_id
                )
            )
    return done


@dataclass
class PassIndexImport:
    """What :func:`import_pass_indices` did: ``created`` and ``merged`` map a class ID to
    the objects that got it (a new class, or an existing class of that ID)."""

    created: dict = field(default_factory=dict)
    merged: dict = field(default_factory=dict)

    @property
    def objects(self):
        return [ob for group in (self.created, self.merged) for obs in group.values() for ob in obs]


def import_pass_indices(scene):
    """Turn pass indices set by hand on unlabelled objects into classes.

    Each distinct pass index becomes a class with that ID, or joins the existing class
    with that ID (reported as merged), and the objects get the class.
    """
    check_class_ids(scene)
    foreign = sorted(
        (ob for ob in scene.objects if is_foreign_pass_index(ob)), key=lambda ob: ob.name
    )
    if not foreign:
        raise GroundTruthError("No unlabelled object has a pass index of its own")
    _check_editable(foreign)
    result = PassIndexImport()
    for value in sorted({ob.pass_index for ob in foreign}):
        target = result.merged if find_class(scene, value) is not None else result.created
        target[value] = [ob for ob in foreign if ob.pass_index == value]
        if target is result.created:
            add_class(scene, name=f"Pass Index {value}", class_id=value)
    for ob in foreign:
        ob.ground_truth.class_id = ob.pass_index
        ob.ground_truth.instance_of = None
        # The pass index was the user's and is now the class: the extension manages it.
        ob.ground_truth.instance_id = 0
        ob.pass_index = 0
    sync_instance_ids(scene)
    return result


def is_foreign_pass_index(ob):
    """True when an unlabelled object carries a pass index the extension did not set."""
    settings = ob.ground_truth
    return settings.class_id == 0 and ob.pass_index > 0 and ob.pass_index != settings.instance_id


# --- instance IDs -----------------------------------------------------------------------


def _instance_plan(scene):
    """Return (objects, entries, plan) with the plan keyed by ``name_full``.

    ``name_full``, because a linked object may have the same name as a local one.
    """
    objects = labelling_objects(scene)
    class_ids = [_valid_class(scene, ob.ground_truth.class_id) for ob in objects]
    # A linked object's ID cannot change, so a local object holding the same ID makes way.
    fixed = {
        ob.ground_truth.instance_id
        for ob, class_id in zip(objects, class_ids, strict=True)
        if class_id and not _is_editable(ob)
    }
    entries = []
    for ob, class_id in zip(objects, class_ids, strict=True):
        link = instance_link(ob)
        entries.append(
            ObjectEntry(
                name=ob.name_full,
                class_id=class_id,
                instance_id=(
                    0
                    if _is_editable(ob) and ob.ground_truth.instance_id in fixed
                    else ob.ground_truth.instance_id
                ),
                parent=link.name_full if link else None,
            )
        )
    try:
        plan = plan_instance_ids(entries)
    except IdSpaceFull as error:
        raise GroundTruthError(str(error)) from None
    return objects, entries, plan


def planned_instances(scene):
    """The instance table a render would use, without changing anything: a tuple of
    :class:`~ground_truth.labels.tables.InstanceEntry` for the labelled objects, by ID."""
    objects, entries, plan = _instance_plan(scene)
    table = [
        InstanceEntry(plan[entry.name], ob.name, entry.class_id)
        for ob, entry in zip(objects, entries, strict=True)
        if entry.class_id and plan[entry.name]
    ]
    return tuple(sorted(table, key=lambda item: item.id))


def label_table(scene):
    """The class table and the planned instance table of ``scene``, frozen.

    Refuses a class table with duplicate IDs (see :func:`check_class_ids`).
    """
    check_class_ids(scene)
    classes = tuple(
        ClassEntry(c.id, c.name, tuple(c.color), c.stuff) for c in scene.ground_truth.classes
    )
    return LabelTable(classes, planned_instances(scene))


def sync_instance_ids(scene):
    """Give every labelled object its own instance ID and mirror it to ``pass_index``.

    IDs already held are kept, so labelling a new object never renumbers the others.
    Unlabelled children of a labelled object, and objects made part of its instance,
    take its ID. Pass indices a user set by hand on unlabelled objects are left alone.
    Only values that differ are written, so syncing twice changes nothing.
    """
    objects, _entries, plan = _instance_plan(scene)
    for ob in objects:
        settings = ob.ground_truth
        new_id = plan[ob.name_full]
        old_id = settings.instance_id
        if new_id == old_id and (new_id == 0 or ob.pass_index == new_id):
            continue
        if not _is_editable(ob):
            continue
        if new_id:
            if old_id == 0 and ob.pass_index:
                settings.user_pass_index = ob.pass_index
            settings.instance_id = new_id
            ob.pass_index = new_id
        else:
            # No longer managed: give back the user's own pass index where the extension
            # had set it.
            if ob.pass_index == old_id:
                ob.pass_index = settings.user_pass_index
            if settings.user_pass_index:
                settings.user_pass_index = 0
            settings.instance_id = 0


def settle_copies(scene):
    """Give copies (Shift+D, copy and paste, append) of labelled objects their own instance
    ID now, instead of at the next labelling or render. Returns the objects renumbered.

    A copy carries its source's class, instance ID and pass index. Of the labelled
    objects sharing an instance ID, the one Blender made first (the smallest
    ``session_uid``: the source of a copy) keeps it; linked objects always keep theirs.
    """
    class_ids = {c.id for c in scene.ground_truth.classes}
    holders = {}
    for ob in scene.objects:
        settings = ob.ground_truth
        if settings.instance_id and settings.class_id in class_ids:
            holders.setdefault(settings.instance_id, []).append(ob)
    renumbered = []
    for group in holders.values():
        if len(group) < 2:
            continue
        group.sort(key=lambda ob: (_is_editable(ob), ob.session_uid))
        for ob in group[1:]:
            if _is_editable(ob):
                # Back to how the source was before it was labelled: the copy then gets
                # the smallest free ID, and its user's own pass index stays remembered.
                ob.pass_index = ob.ground_truth.user_pass_index
                ob.ground_truth.instance_id = 0
                renumbered.append(ob)
    if renumbered:
        sync_instance_ids(scene)
    return renumbered


def _valid_class(scene, class_id):
    # An object whose class was deleted (e.g. appended from another file) counts as unlabelled.
    return class_id if class_id and find_class(scene, class_id) is not None else 0


def _is_editable(ob):
    return ob.library is None and not (
        ob.override_library and ob.override_library.is_system_override
    )


def _check_editable(objects):
    linked = [ob.name for ob in objects if not _is_editable(ob)]
    if linked:
        shown = ", ".join(linked[:5]) + (" ..." if len(linked) > 5 else "")
        raise GroundTruthError(
            f"{len(linked)} object(s) are linked from a library and cannot be changed: {shown}. "
            "Make them local or add a library override (Object > Library Override) first"
        )


def select_objects(context, objects, extend=False):
    """Select ``objects`` in the view layer (deselecting others unless ``extend``).

    Returns the objects selected (hidden ones and those outside the view layer are not).
    """
    view_layer = context.view_layer
    if not extend:
        for ob in view_layer.objects:
            if ob.select_get(view_layer=view_layer):
                ob.select_set(False, view_layer=view_layer)
    selected = []
    for ob in objects:
        if ob.name in view_layer.objects and ob.visible_get(view_layer=view_layer):
            ob.select_set(True, view_layer=view_layer)
            selected.append(ob)
    if selected and (view_layer.objects.active is None or not extend):
        view_layer.objects.active = selected[0]
    return selected


# --- the class table as a file ----------------------------------------------------------

CLASS_TABLE_FORMAT = "ground_truth.classes"
CLASS_TABLE_VERSION = 1


def class_table_document(scene):
    """The scene's class table as the JSON document "Export Classes" writes::

        {"format": "ground_truth.classes", "version": 1,
         "classes": [{"id": 1, "name": "Car", "color": "#e63b2e", "stuff": false}, ...]}

    by ID. Refuses a table with duplicate IDs.
    """
    check_class_ids(scene)
    return {
        "format": CLASS_TABLE_FORMAT,
        "version": CLASS_TABLE_VERSION,
        "classes": [
            {"id": c.id, "name": c.name, "color": hex_color(c.color), "stuff": bool(c.stuff)}
            for c in sorted(scene.ground_truth.classes, key=lambda c: c.id)
        ],
    }


@dataclass(frozen=True)
class ClassSpec:
    """One class read from a class table file; ``color``/``stuff`` None when absent."""

    id: int
    name: str
    color: tuple | None = None
    stuff: bool | None = None


def parse_class_table(text):
    """Read a class table from JSON text; returns a list of :class:`ClassSpec`.

    Accepted: the document "Export Classes" writes, a plain list of classes, a
    ``dataset.json`` (its ``classes``) and COCO's ``categories``. Each class needs an
    integer ``id`` in 1..32767 and a non-empty ``name``; ``color`` is ``"#rrggbb"``
    (or ``"#rgb"``, or three numbers in 0..1; ``color_hex`` is read too) and ``stuff`` a
    boolean, both optional. Other keys (COCO's ``supercategory``) are ignored. Raises
    ``GroundTruthError`` naming the first problem: bad JSON, a missing or bad field, an
    ID or name used twice.
    """
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise GroundTruthError(
            f"Not a JSON file: {error.msg} at line {error.lineno}, column {error.colno}"
        ) from None
    if isinstance(document, dict):
        entries = document.get("classes", document.get("categories"))
        if entries is None:
            raise GroundTruthError(
                "No class table in the file: expected a 'classes' list (or COCO 'categories')"
            )
    else:
        entries = document
    if not isinstance(entries, list):
        raise GroundTruthError("The class table must be a list of classes")
    specs, by_id, by_name = [], {}, {}
    for number, entry in enumerate(entries, start=1):
        where = f"Class {number} in the file"
        if not isinstance(entry, dict):
            raise GroundTruthError(f"{where} is not an object with an 'id' and a 'name'")
        class_id = entry.get("id")
        if isinstance(class_id, bool) or not isinstance(class_id, int):
            raise GroundTruthError(f"{where} has no integer 'id' (got {class_id!r})")
        if not 1 <= class_id <= MAX_ID:
            raise GroundTruthError(f"{where} has ID {class_id}, out of range (1 to {MAX_ID})")
        name = entry.get("name")
        if not isinstance(name, str) or not name.strip():
            raise GroundTruthError(f"{where} (ID {class_id}) has no name")
        name = name.strip()
        where = f"Class {class_id} '{name}' in the file"
        if class_id in by_id:
            raise GroundTruthError(
                f"ID {class_id} is used twice in the file: '{by_id[class_id]}' and '{name}'"
            )
        if name in by_name:
            raise GroundTruthError(
                f"The name '{name}' is used twice in the file: IDs {by_name[name]} and {class_id}"
            )
        by_id[class_id], by_name[name] = name, class_id
        stuff = entry.get("stuff")
        if stuff is not None and not isinstance(stuff, bool):
            raise GroundTruthError(f"{where} has 'stuff': {stuff!r}, not true or false")
        specs.append(ClassSpec(class_id, name, _parse_color(where, entry), stuff))
    if not specs:
        raise GroundTruthError("The file's class table is empty")
    return specs


def _parse_color(where, entry):
    value = entry.get("color", entry.get("color_hex"))
    if value is None:
        return None
    if isinstance(value, str):
        try:
            return parse_hex(value)
        except ValueError:
            raise GroundTruthError(
                f'{where} has the colour {value!r}: write it as "#rrggbb"'
            ) from None
    if (
        isinstance(value, list)
        and len(value) in (3, 4)
        and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
        and all(0.0 <= v <= 1.0 for v in value)
    ):
        return tuple(float(v) for v in value[:3])
    raise GroundTruthError(f'{where} has the colour {value!r}: write it as "#rrggbb"')


@dataclass
class ClassTableMerge:
    """What :func:`merge_class_table` did, for the report: ``added`` classes, ``renamed``
    as (ID, old name, new name), ``updated`` as (ID, name, [what changed])."""

    added: list = field(default_factory=list)
    renamed: list = field(default_factory=list)
    updated: list = field(default_factory=list)


def merge_class_table(scene, specs):
    """Merge classes read by :func:`parse_class_table` into the scene's table, by ID.

    A class with the same ID takes the file's name, colour and stuff flag (its objects
    keep it, as their class is its ID); a new ID is added; classes the file does not
    list stay. Refused, with nothing changed, when the result would have two classes
    of one name (the file gives a name that another ID holds here).
    """
    check_class_ids(scene)
    settings = scene.ground_truth
    by_id = {c.id: c for c in settings.classes}
    final = {c.id: c.name for c in settings.classes}
    final.update({spec.id: spec.name for spec in specs})
    owners = {}
    for class_id in sorted(final):
        name = final[class_id]
        if name in owners:
            first, second = owners[name], class_id
            here = first if first not in {s.id for s in specs} else second
            raise GroundTruthError(
                f"The file names a class '{name}', but class {here} here is also '{name}' "
                f"(IDs {first} and {second}): rename one of them first. Nothing was imported"
            )
        owners[name] = class_id
    merge = ClassTableMerge()
    active = settings.active_class_index
    # Existing IDs first: a name the file moves from one ID to another is free before a
    # new class takes it.
    for spec in specs:
        item = by_id.get(spec.id)
        if item is None:
            continue
        what = []
        if item.name != spec.name:
            merge.renamed.append((spec.id, item.name, spec.name))
            item.name = spec.name
        if spec.color is not None and hex_color(item.color) != hex_color(spec.color):
            item.color = spec.color
            what.append("colour")
        if spec.stuff is not None and item.stuff != spec.stuff:
            item.stuff = spec.stuff
            what.append("stuff" if spec.stuff else "not stuff")
        if what:
            merge.updated.append((spec.id, spec.name, what))
    for spec in specs:
        if spec.id not in by_id:
            add_class(scene, spec.name, class_id=spec.id, color=spec.color, stuff=bool(spec.stuff))
            merge.added.append((spec.id, spec.name))
    if not merge.added:
        settings.active_class_index = active
    return merge
