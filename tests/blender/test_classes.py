"""The class table and object labels, driven through the operators a user clicks."""

import bpy
import pytest

from ground_truth.labels.ids import MAX_ID
from ground_truth.scene import classes

from helpers import add_box, add_camera, label, new_class, select_only


def snapshot(scene):
    """Everything the class operators may change, in comparable form."""
    settings = scene.ground_truth
    return {
        "classes": [(c.id, c.name, tuple(round(v, 6) for v in c.color)) for c in settings.classes],
        "active": settings.active_class_index,
        "objects": {
            ob.name_full: (ob.ground_truth.class_id, ob.ground_truth.instance_id, ob.pass_index)
            for ob in scene.objects
        },
        "selected": sorted(ob.name_full for ob in bpy.context.selected_objects),
        "active_object": getattr(bpy.context.view_layer.objects.active, "name_full", None),
    }


def boxes(scene, *names):
    return [
        add_box(scene, name, (2.0 * i, 0.0, 0.0), (1.0, 1.0, 1.0)) for i, name in enumerate(names)
    ]


def ids(*objects):
    return [
        (ob.ground_truth.class_id, ob.ground_truth.instance_id, ob.pass_index) for ob in objects
    ]


def set_active_class(scene, name):
    settings = scene.ground_truth
    settings.active_class_index = [c.name for c in settings.classes].index(name)


# --- the class table ------------------------------------------------------------------


def test_class_ids_are_the_smallest_free_and_stay_put_after_removal(scene):
    settings = scene.ground_truth
    for name in ("Car", "Person", "Tree"):
        assert bpy.ops.ground_truth.add_class(name=name) == {"FINISHED"}
        assert settings.active_class_index == len(settings.classes) - 1
    assert [(c.id, c.name) for c in settings.classes] == [(1, "Car"), (2, "Person"), (3, "Tree")]

    set_active_class(scene, "Person")
    assert bpy.ops.ground_truth.remove_class() == {"FINISHED"}
    assert [(c.id, c.name) for c in settings.classes] == [(1, "Car"), (3, "Tree")]

    bpy.ops.ground_truth.add_class(name="Bike")
    assert [(c.id, c.name) for c in settings.classes] == [(1, "Car"), (3, "Tree"), (2, "Bike")]
    bpy.ops.ground_truth.add_class(name="Road")
    assert settings.classes[-1].id == 4
    # Distinct colours, one per ID.
    assert len({tuple(c.color) for c in settings.classes}) == 4


def test_class_names_are_unique(scene):
    settings = scene.ground_truth
    bpy.ops.ground_truth.add_class(name="Car")
    bpy.ops.ground_truth.add_class(name="Car")
    bpy.ops.ground_truth.add_class(name=" Car ")
    bpy.ops.ground_truth.add_class(name="   ")
    assert [c.name for c in settings.classes] == ["Car", "Car.001", "Car.002", "Class"]
    assert classes.duplicate_class_names(scene) == []


def test_rename_keeps_names_unique_and_refuses_an_empty_name(scene):
    settings = scene.ground_truth
    new_class("Car")
    new_class("Person")
    assert bpy.ops.ground_truth.rename_class(name="Pedestrian") == {"FINISHED"}
    assert [c.name for c in settings.classes] == ["Car", "Pedestrian"]

    assert bpy.ops.ground_truth.rename_class(name="Car") == {"FINISHED"}
    assert [c.name for c in settings.classes] == ["Car", "Car.001"]

    before = snapshot(scene)
    with pytest.raises(RuntimeError, match="cannot be empty"):
        bpy.ops.ground_truth.rename_class(name="  ")
    assert snapshot(scene) == before

    # Renaming a class to its own name changes nothing.
    set_active_class(scene, "Car")
    before = snapshot(scene)
    assert bpy.ops.ground_truth.rename_class(name="Car") == {"FINISHED"}
    assert snapshot(scene) == before
    assert [c.id for c in settings.classes] == [1, 2]  # renaming never touches IDs


def test_remove_class_unlabels_its_objects_only(scene):
    car, bus, man = boxes(scene, "Car", "Bus", "Man")
    label([car, bus], "Vehicle")
    label([man], "Person")
    # New objects are numbered in name order: Bus before Car.
    assert ids(car, bus, man) == [(1, 2, 2), (1, 1, 1), (2, 3, 3)]

    set_active_class(scene, "Vehicle")
    assert bpy.ops.ground_truth.remove_class() == {"FINISHED"}
    assert ids(car, bus, man) == [(0, 0, 0), (0, 0, 0), (2, 3, 3)]
    assert [c.name for c in scene.ground_truth.classes] == ["Person"]
    assert scene.ground_truth.active_class_index == 0


# --- labels ---------------------------------------------------------------------------


def test_assign_gives_selected_objects_the_class_and_each_its_own_instance_id(scene):
    a, b, c, d = boxes(scene, "A", "B", "C", "D")
    new_class("Car")
    select_only([a, b, c])
    assert bpy.ops.ground_truth.assign_class() == {"FINISHED"}
    assert [ob.ground_truth.class_id for ob in (a, b, c, d)] == [1, 1, 1, 0]
    instance_ids = [ob.ground_truth.instance_id for ob in (a, b, c)]
    assert sorted(instance_ids) == [1, 2, 3]
    assert [ob.pass_index for ob in (a, b, c, d)] == [*instance_ids, 0]
    assert all(1 <= i <= MAX_ID for i in instance_ids)

    # An explicit class ID wins over the active class.
    new_class("Person")
    select_only([d])
    assert bpy.ops.ground_truth.assign_class(class_id=1) == {"FINISHED"}
    assert d.ground_truth.class_id == 1
    with pytest.raises(RuntimeError, match="no class with ID 7"):
        bpy.ops.ground_truth.assign_class(class_id=7)


def test_clear_class_unlabels_only_the_selected_objects(scene):
    a, b = boxes(scene, "A", "B")
    label([a, b], "Car")
    select_only([a])
    assert bpy.ops.ground_truth.clear_class() == {"FINISHED"}
    assert ids(a, b) == [(0, 0, 0), (1, 2, 2)]


def test_select_class_selects_exactly_its_objects(scene):
    a, b, c, d = boxes(scene, "A", "B", "C", "D")
    label([a, c], "Car")
    label([b], "Person")
    select_only([b, d])

    set_active_class(scene, "Car")
    assert bpy.ops.ground_truth.select_class() == {"FINISHED"}
    assert {ob.name for ob in bpy.context.selected_objects} == {"A", "C"}
    assert bpy.context.view_layer.objects.active in (a, c)

    set_active_class(scene, "Person")
    assert bpy.ops.ground_truth.select_class(extend=True) == {"FINISHED"}
    assert {ob.name for ob in bpy.context.selected_objects} == {"A", "B", "C"}

    new_class("Empty")
    before = snapshot(scene)
    assert bpy.ops.ground_truth.select_class() == {"CANCELLED"}  # with a warning
    assert snapshot(scene) == before


def test_poll_messages_say_why_an_operator_is_greyed_out(scene):
    (a,) = boxes(scene, "A")
    select_only([])
    for name in ("assign_class", "remove_class", "rename_class", "select_class"):
        operator = getattr(bpy.ops.ground_truth, name)
        assert not operator.poll(), name
        with pytest.raises(RuntimeError, match="Add a class first"):
            operator()
    assert bpy.ops.ground_truth.add_class.poll()

    new_class("Car")
    for name in ("assign_class", "clear_class"):
        operator = getattr(bpy.ops.ground_truth, name)
        assert not operator.poll(), name
        with pytest.raises(RuntimeError, match="Select the objects first"):
            operator()
    assert not bpy.ops.ground_truth.import_pass_indices.poll()
    with pytest.raises(RuntimeError, match="No unlabelled object has a pass index"):
        bpy.ops.ground_truth.import_pass_indices()

    select_only([a])
    assert bpy.ops.ground_truth.assign_class.poll()
    assert bpy.ops.ground_truth.clear_class.poll()
    a.ground_truth.class_id = 0
    a.pass_index = 4
    assert bpy.ops.ground_truth.import_pass_indices.poll()


# --- instance IDs ---------------------------------------------------------------------


def test_unlabelled_children_take_their_parents_instance_id(scene):
    parent, other = boxes(scene, "Parent", "Other")
    child = add_box(scene, "Child", (0.0, 0.0, 1.0), (0.5, 0.5, 0.5), parent=parent)
    grandchild = add_box(scene, "Grandchild", (0.0, 0.0, 2.0), (0.2, 0.2, 0.2), parent=child)
    own = add_box(scene, "Wheel", (0.0, 1.0, 0.0), (0.2, 0.2, 0.2), parent=parent)
    label([other], "Car")
    label([parent], "Car")
    label([own], "Wheel")
    pid = parent.ground_truth.instance_id
    assert pid and pid != other.ground_truth.instance_id
    assert ids(child, grandchild) == [(0, pid, pid), (0, pid, pid)]
    assert own.ground_truth.class_id == 2
    assert own.pass_index not in (0, pid, other.pass_index)

    set_active_class(scene, "Car")
    select_only([parent])
    assert bpy.ops.ground_truth.clear_class() == {"FINISHED"}
    assert ids(parent, child, grandchild) == [(0, 0, 0)] * 3
    assert own.ground_truth.class_id == 2 and own.pass_index == own.ground_truth.instance_id


def test_labelling_new_objects_never_renumbers_existing_ones(scene):
    a, b, c, d, e = boxes(scene, "E", "D", "C", "B", "A")  # names sort opposite to creation
    label([a], "Car")
    label([b], "Car")
    label([c], "Person")
    kept = {ob.name: ob.pass_index for ob in (a, b, c)}
    assert sorted(kept.values()) == [1, 2, 3]

    select_only([b])
    bpy.ops.ground_truth.clear_class()
    label([d, e], "Person")
    assert {ob.name: ob.pass_index for ob in (a, c)} == {"E": kept["E"], "C": kept["C"]}
    # The freed ID is reused before new ones.
    assert sorted([d.pass_index, e.pass_index]) == [kept["D"], 4]


def test_duplicated_objects_get_their_own_instance_id_on_the_next_assign(scene):
    car, bus = boxes(scene, "Car", "Bus")
    label([car], "Vehicle")
    car_id = car.pass_index
    # Shift+D copies the object with its settings, instance ID and pass index included.
    copy = car.copy()
    scene.collection.objects.link(copy)
    assert copy.name == "Car.001"
    assert ids(copy) == ids(car)

    label([bus], "Vehicle")
    assert ids(car) == [(1, car_id, car_id)]
    values = [ob.pass_index for ob in (car, copy, bus)]
    assert len(set(values)) == 3 and 0 not in values
    assert copy.ground_truth.instance_id == copy.pass_index


def test_running_an_operator_twice_changes_nothing_the_second_time(scene):
    a, b, c = boxes(scene, "A", "B", "C")
    c.parent = a
    label([a, b], "Car")
    new_class("Person")
    b.pass_index = 0  # drifted by hand; the next assign puts it back
    for operator, kwargs in (
        (bpy.ops.ground_truth.assign_class, {}),
        (bpy.ops.ground_truth.assign_class, {"class_id": 1}),
        (bpy.ops.ground_truth.clear_class, {}),
        (bpy.ops.ground_truth.select_class, {}),
        (bpy.ops.ground_truth.rename_class, {"name": "Pedestrian"}),
    ):
        select_only([a, b])
        if operator is bpy.ops.ground_truth.select_class:
            set_active_class(scene, "Car")
        operator(**kwargs)
        once = snapshot(scene)
        operator(**kwargs)
        assert snapshot(scene) == once, operator


def test_pass_indices_set_by_hand_become_classes(scene):
    a, b, c, d = boxes(scene, "A", "B", "C", "D")
    label([d], "Car")
    a.pass_index = b.pass_index = 5
    c.pass_index = 9
    assert bpy.ops.ground_truth.import_pass_indices() == {"FINISHED"}
    settings = scene.ground_truth
    assert [(k.id, k.name) for k in settings.classes] == [
        (1, "Car"),
        (5, "Pass Index 5"),
        (9, "Pass Index 9"),
    ]
    assert [ob.ground_truth.class_id for ob in (a, b, c, d)] == [5, 5, 9, 1]
    assert ids(d) == [(1, 1, 1)]  # the labelled object keeps its instance
    values = [ob.pass_index for ob in (a, b, c, d)]
    assert len(set(values)) == 4
    assert all(ob.pass_index == ob.ground_truth.instance_id for ob in (a, b, c, d))
    assert not bpy.ops.ground_truth.import_pass_indices.poll()
    # The value now lives in the class: clearing the class does not bring it back.
    select_only([a])
    bpy.ops.ground_truth.clear_class()
    assert ids(a) == [(0, 0, 0)]


def test_import_reuses_an_existing_class_with_the_same_id(scene):
    (a,) = boxes(scene, "A")
    classes.add_class(scene, "Tree", class_id=3)
    a.pass_index = 3
    bpy.ops.ground_truth.import_pass_indices()
    assert [(k.id, k.name) for k in scene.ground_truth.classes] == [(3, "Tree")]
    assert a.ground_truth.class_id == 3


def test_pass_indices_set_by_hand_are_not_overwritten_by_other_assignments(scene):
    foreign, a, b = boxes(scene, "Foreign", "A", "B")
    foreign.pass_index = 1
    label([a], "Car")
    label([b], "Car")
    select_only([a])
    bpy.ops.ground_truth.clear_class()
    new_class("Person")
    bpy.ops.ground_truth.remove_class()
    assert foreign.pass_index == 1
    assert ids(foreign) == [(0, 0, 1)]
    assert classes.is_foreign_pass_index(foreign)


def test_a_childs_own_pass_index_comes_back_when_its_parent_is_unlabelled(scene):
    (parent,) = boxes(scene, "Parent")
    child = add_box(scene, "Child", (0.0, 0.0, 1.0), (0.5, 0.5, 0.5), parent=parent)
    child.pass_index = 7  # the user's own, e.g. for a compositor mask
    label([parent], "Car")
    # While the parent is labelled the child is part of its instance...
    assert ids(child) == [(0, 1, 1)]
    select_only([parent])
    bpy.ops.ground_truth.clear_class()
    # ...and afterwards it has the user's value again.
    assert ids(child) == [(0, 0, 7)]

    # The same for an object labelled and cleared itself.
    select_only([child])
    set_active_class(scene, "Car")
    bpy.ops.ground_truth.assign_class()
    assert ids(child) == [(1, 1, 1)]
    bpy.ops.ground_truth.clear_class()
    assert ids(child) == [(0, 0, 7)]


# --- files ----------------------------------------------------------------------------


def _write_library(scene, path, names):
    objects = {add_box(scene, name, (0.0, 3.0, 0.0), (1.0, 1.0, 1.0)) for name in names}
    for ob in objects:
        ob.ground_truth.class_id = 1
        ob.ground_truth.instance_id = ob.pass_index = 1
    bpy.data.libraries.write(str(path), objects)
    for ob in objects:
        bpy.data.objects.remove(ob)


def _link(scene, path, names):
    with bpy.data.libraries.load(str(path), link=True) as (_source, target):
        target.objects = list(names)
    for ob in target.objects:
        scene.collection.objects.link(ob)
    return target.objects


def test_linked_objects_give_a_clear_error(scene, tmp_path):
    library = tmp_path / "library.blend"
    _write_library(scene, library, ["Linked"])
    local = add_box(scene, "Local", (0.0, 0.0, 0.0), (1.0, 1.0, 1.0))
    (linked,) = _link(scene, library, ["Linked"])
    assert linked.library is not None
    new_class("Car")

    select_only([local, linked])
    before = snapshot(scene)
    with pytest.raises(RuntimeError, match="linked from a library"):
        bpy.ops.ground_truth.assign_class()
    with pytest.raises(RuntimeError, match="Linked"):
        bpy.ops.ground_truth.clear_class()
    assert snapshot(scene) == before
    # The local object alone is fine.
    select_only([local])
    assert bpy.ops.ground_truth.assign_class() == {"FINISHED"}
    assert local.ground_truth.class_id == 1
    # The linked object has class 1 from its library: removing the class would change it.
    before = snapshot(scene)
    with pytest.raises(RuntimeError, match="linked from a library"):
        bpy.ops.ground_truth.remove_class()
    assert snapshot(scene) == before


def test_a_linked_object_may_share_its_name_with_a_local_one(scene, tmp_path):
    library = tmp_path / "library.blend"
    _write_library(scene, library, ["Crate"])
    local = add_box(scene, "Crate", (0.0, 0.0, 0.0), (1.0, 1.0, 1.0))
    (linked,) = _link(scene, library, ["Crate"])
    assert local.name == linked.name == "Crate" and local != linked
    new_class("Car")
    select_only([local])
    assert bpy.ops.ground_truth.assign_class() == {"FINISHED"}
    # The linked object's ID (1, from its library) cannot change: the local one moves.
    assert ids(linked) == [(1, 1, 1)]
    assert local.ground_truth.class_id == 1 and local.pass_index not in (0, 1)
    assert local.pass_index == local.ground_truth.instance_id


def test_linked_objects_keep_their_ids_and_local_ones_make_way(scene, tmp_path):
    library = tmp_path / "library.blend"
    _write_library(scene, library, ["Z Linked"])
    local = add_box(scene, "A Local", (0.0, 0.0, 0.0), (1.0, 1.0, 1.0))
    label([local], "Car")
    assert ids(local) == [(1, 1, 1)]
    (linked,) = _link(scene, library, ["Z Linked"])
    assert ids(linked) == [(1, 1, 1)]  # labelled in its library with the same ID

    other = add_box(scene, "B", (0.0, 0.0, 0.0), (1.0, 1.0, 1.0))
    label([other], "Car")
    values = [ob.pass_index for ob in (local, linked, other)]
    assert linked.pass_index == 1 and len(set(values)) == 3, values


def test_save_and_reopen_keeps_classes_settings_and_labels(scene, tmp_path):
    add_camera(scene)
    a, b = boxes(scene, "A", "B")
    child = add_box(scene, "Child", (0.0, 0.0, 1.0), (0.5, 0.5, 0.5), parent=a)
    label([a], "Car")
    label([b], "Person")
    settings = scene.ground_truth
    settings.classes[0].color = (0.25, 0.5, 0.75)
    settings.active_class_index = 0
    settings.output_dir = "//dataset/"
    settings.output_depth = False
    settings.output_preview = False
    before = snapshot(scene)
    output = (settings.output_dir, settings.output_rgb, settings.output_depth)
    assert ids(child) == [(0, 1, 1)]

    path = tmp_path / "labelled.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(path))
    bpy.ops.wm.read_factory_settings(use_empty=True)
    assert len(bpy.context.scene.ground_truth.classes) == 0
    bpy.ops.wm.open_mainfile(filepath=str(path))

    scene = bpy.context.scene
    settings = scene.ground_truth
    assert snapshot(scene) == before
    assert (settings.output_dir, settings.output_rgb, settings.output_depth) == output
    assert settings.output_preview is False
    assert tuple(round(v, 6) for v in settings.classes[0].color) == (0.25, 0.5, 0.75)


def test_appending_an_object_keeps_its_class(scene, tmp_path):
    truck = add_box(scene, "Truck", (0.0, 0.0, 0.0), (1.0, 1.0, 1.0))
    label([truck], "Vehicle")
    path = tmp_path / "source.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(path))

    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    bus = add_box(scene, "Bus", (0.0, 0.0, 0.0), (1.0, 1.0, 1.0))
    label([bus], "Vehicle")
    with bpy.data.libraries.load(str(path), link=False) as (_source, target):
        target.objects = ["Truck"]
    (truck,) = target.objects
    scene.collection.objects.link(truck)
    assert truck.library is None
    assert ids(truck) == [(1, 1, 1)]  # as saved, clashing with Bus for now

    other = add_box(scene, "Car", (0.0, 0.0, 0.0), (1.0, 1.0, 1.0))
    label([other], "Vehicle")
    assert truck.ground_truth.class_id == 1
    assert ids(bus) == [(1, 1, 1)]
    values = [ob.pass_index for ob in (bus, truck, other)]
    assert len(set(values)) == 3 and 0 not in values
