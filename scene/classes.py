"""Class table and object labels: the plain functions the operators call.

Every function takes the scene (and objects) explicitly, validates, changes data,
and raises ``GroundTruthError`` with a message for the user on bad input.
"""

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


def duplicate_class_names(scene):
    """Class names used more than once (possible by editing names in the list)."""
    seen, duplicates = set(), set()
    for item in scene.ground_truth.classes:
        (duplicates if item.name in seen else seen).add(item.name)
    return sorted(duplicates)


def duplicate_class_ids(scene):
    """Class IDs used by more than one class (possible when set from a script)."""
    seen, duplicates = set(), set()
    for item in scene.ground_truth.classes:
        (duplicates if item.id in seen else seen).add(item.id)
    return sorted(duplicates)


def find_class(scene, class_id):
    """Return the class with ``class_id`` or None."""
    for item in scene.ground_truth.classes:
        if item.id == class_id:
            return item
    return None


def active_class(scene):
    settings = scene.ground_truth
    if 0 <= settings.active_class_index < len(settings.classes):
        return settings.classes[settings.active_class_index]
    return None


def class_object_counts(scene):
    """Count objects per class ID in the scene."""
    counts = {}
    for ob in scene.objects:
        cid = ob.ground_truth.class_id
        if cid:
            counts[cid] = counts.get(cid, 0) + 1
    return counts


def add_class(scene, name="Class", class_id=None, color=None):
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
        raise GroundTruthError(f"Class ID {class_id} is already used")
    item = settings.classes.add()
    item.id = class_id
    item.name = unique_name(name.strip() or "Class", [c.name for c in settings.classes][:-1])
    item.color = color if color is not None else colors.class_color(class_id)
    settings.active_class_index = len(settings.classes) - 1
    return item


def remove_class(scene, index):
    """Remove the class at ``index``; its objects become unlabelled. Returns their count."""
    settings = scene.ground_truth
    if not 0 <= index < len(settings.classes):
        raise GroundTruthError("No class selected")
    class_id = settings.classes[index].id
    objects = [ob for ob in scene.objects if ob.ground_truth.class_id == class_id]
    _check_editable(objects)
    for ob in objects:
        ob.ground_truth.class_id = 0
    settings.classes.remove(index)
    settings.active_class_index = min(index, max(len(settings.classes) - 1, 0))
    sync_instance_ids(scene)
    return len(objects)


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


def assign_class(scene, objects, class_id):
    """Give ``class_id`` to ``objects`` and refresh instance IDs. Returns the changed count."""
    if class_id and find_class(scene, class_id) is None:
        raise GroundTruthError(f"There is no class with ID {class_id}")
    objects = list(objects)
    if not objects:
        raise GroundTruthError("No objects selected")
    _check_editable(objects)
    changed = 0
    for ob in objects:
        if ob.ground_truth.class_id != class_id:
            ob.ground_truth.class_id = class_id
            changed += 1
    sync_instance_ids(scene)
    return changed


def objects_of_class(scene, class_id):
    return [ob for ob in scene.objects if ob.ground_truth.class_id == class_id]


def import_pass_indices(scene):
    """Turn pass indices set by hand on unlabelled objects into classes.

    Each distinct pass index becomes a class with that ID (reusing an existing class
    with the ID), and the objects get the class. Returns (classes created, objects labelled).
    """
    foreign = [ob for ob in scene.objects if is_foreign_pass_index(ob)]
    if not foreign:
        raise GroundTruthError("No unlabelled object has a pass index of its own")
    _check_editable(foreign)
    created = 0
    for value in sorted({ob.pass_index for ob in foreign}):
        if find_class(scene, value) is None:
            add_class(scene, name=f"Pass Index {value}", class_id=value)
            created += 1
    for ob in foreign:
        ob.ground_truth.class_id = ob.pass_index
        # The pass index was the user's and is now the class: the extension manages it.
        ob.ground_truth.instance_id = 0
        ob.pass_index = 0
    sync_instance_ids(scene)
    return created, len(foreign)


def is_foreign_pass_index(ob):
    """True when an unlabelled object carries a pass index the extension did not set."""
    settings = ob.ground_truth
    return settings.class_id == 0 and ob.pass_index > 0 and ob.pass_index != settings.instance_id


def _instance_plan(scene):
    """Return (objects, entries, plan) with the plan keyed by ``name_full``.

    ``name_full``, because a linked object may have the same name as a local one.
    """
    objects = list(scene.objects)
    class_ids = [_valid_class(scene, ob.ground_truth.class_id) for ob in objects]
    # A linked object's ID cannot change, so a local object holding the same ID makes way.
    fixed = {
        ob.ground_truth.instance_id
        for ob, class_id in zip(objects, class_ids, strict=True)
        if class_id and not _is_editable(ob)
    }
    entries = [
        ObjectEntry(
            name=ob.name_full,
            class_id=class_id,
            instance_id=(
                0
                if _is_editable(ob) and ob.ground_truth.instance_id in fixed
                else ob.ground_truth.instance_id
            ),
            parent=ob.parent.name_full if ob.parent else None,
        )
        for ob, class_id in zip(objects, class_ids, strict=True)
    ]
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
    """The class table and the planned instance table of ``scene``, frozen."""
    classes = tuple(ClassEntry(c.id, c.name, tuple(c.color)) for c in scene.ground_truth.classes)
    return LabelTable(classes, planned_instances(scene))


def sync_instance_ids(scene):
    """Give every labelled object its own instance ID and mirror it to ``pass_index``.

    IDs already held are kept, so labelling a new object never renumbers the others.
    Unlabelled children of a labelled object take its ID. Pass indices a user set by
    hand on unlabelled objects are left alone. Only values that differ are written,
    so syncing twice changes nothing.
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
    """Select ``objects`` in the view layer (deselecting others unless ``extend``)."""
    view_layer = context.view_layer
    if not extend:
        for ob in view_layer.objects:
            if ob.select_get(view_layer=view_layer):
                ob.select_set(False, view_layer=view_layer)
    selected = 0
    for ob in objects:
        if ob.name in view_layer.objects and ob.visible_get(view_layer=view_layer):
            ob.select_set(True, view_layer=view_layer)
            selected += 1
    if selected and (view_layer.objects.active is None or not extend):
        view_layer.objects.active = next(
            ob for ob in objects if ob.select_get(view_layer=view_layer)
        )
    return selected
