"""Scene-scale labelling, driven through the operators a user clicks, with what the panel
shows after each step: copies settled as they appear, objects that are one instance
without parenting, whole collections, unlabelled objects, pass indices that merge."""

import json
import statistics
import time

import bpy
import numpy as np
import pytest

from ground_truth.codecs import png
from ground_truth.operators import handlers

from helpers import add_box, add_camera, label, new_class, select_only
from panel_recorder import (
    LABELLING,
    MAIN,
    UNLABELLED,
    button,
    draw_all,
    dump_text,
    reports,
    texts,
)


def ids(*objects):
    return [
        (ob.ground_truth.class_id, ob.ground_truth.instance_id, ob.pass_index) for ob in objects
    ]


def duplicate(objects, active=None):
    """Shift+D without the move: Blender's own duplicate operator, then the redraw's update."""
    select_only(objects)
    if active is not None:
        bpy.context.view_layer.objects.active = active
    assert bpy.ops.object.duplicate() == {"FINISHED"}
    bpy.context.view_layer.update()
    return list(bpy.context.selected_objects)


# --- copies get their own instance ID at once ----------------------------------------------


def test_shift_d_gives_the_copy_its_own_id_at_once_and_the_panel_shows_it(scene):
    car = add_box(scene, "Car", (0.0, 0.0, 0.0), (1.0, 1.0, 1.0))
    wheel = add_box(scene, "Wheel", (0.0, 0.0, -0.6), (0.3, 0.3, 0.3), parent=car)
    label([car], "Vehicle")
    assert ids(car, wheel) == [(1, 1, 1), (0, 1, 1)]

    car_copy, wheel_copy = sorted(duplicate([car, wheel], active=car), key=lambda o: o.name)
    assert (car_copy.name, wheel_copy.name) == ("Car.001", "Wheel.001")
    # Settled as it appears: the copy and its child are instance 2; the source keeps 1.
    assert ids(car, wheel) == [(1, 1, 1), (0, 1, 1)]
    assert ids(car_copy, wheel_copy) == [(1, 2, 2), (0, 2, 2)]
    panel = dump_text(draw_all(scene, active_object=car_copy))
    assert "    Class  [1  Vehicle v]\n    Instance  2\n" in panel
    wheel_panel = texts(draw_all(scene, active_object=wheel_copy)[MAIN])
    assert "1  Vehicle (part of Car.001)" in wheel_panel
    assert "2 (part of Car.001)" in wheel_panel


def test_the_source_keeps_its_id_even_when_the_copys_name_sorts_first(scene):
    # Blender names the copy of "Car.005" "Car.001": by name order the copy would win.
    source = add_box(scene, "Car.005", (0.0, 0.0, 0.0), (1.0, 1.0, 1.0))
    other = add_box(scene, "Bus", (2.0, 0.0, 0.0), (1.0, 1.0, 1.0))
    label([other, source], "Vehicle")
    before = ids(source, other)
    (copy,) = duplicate([source])
    assert copy.name == "Car.001"
    assert ids(source, other) == before
    assert copy.pass_index == copy.ground_truth.instance_id == 3


def test_copies_made_by_script_and_appended_objects_settle_at_the_next_update(scene, tmp_path):
    car = add_box(scene, "Car", (0.0, 0.0, 0.0), (1.0, 1.0, 1.0))
    car.pass_index = 5  # the user's own, before labelling
    label([car], "Vehicle")
    copy = car.copy()
    scene.collection.objects.link(copy)
    assert ids(copy) == ids(car)  # as Blender copies it...
    bpy.context.view_layer.update()
    assert ids(copy) == [(1, 2, 2)]  # ...and as the next redraw settles it
    # The copy still knows the pass index its source had before it was labelled.
    select_only([copy])
    bpy.ops.ground_truth.clear_class()
    assert ids(copy) == [(0, 0, 5)]

    path = tmp_path / "source.blend"
    bpy.data.libraries.write(str(path), {car})
    with bpy.data.libraries.load(str(path), link=False) as (_source, target):
        target.objects = ["Car"]
    (appended,) = target.objects
    scene.collection.objects.link(appended)
    bpy.context.view_layer.update()
    assert appended.ground_truth.class_id == 1
    assert appended.pass_index not in (0, car.pass_index)
    assert ids(car) == [(1, 1, 1)]


def _timed_handler(times):
    def timed(scene, depsgraph):
        start = time.perf_counter()
        handlers.settle_new_copies(scene, depsgraph)
        times.append(time.perf_counter() - start)

    return timed


def test_the_handler_costs_nothing_on_ordinary_updates_with_10000_objects(scene, capsys):
    collection = scene.collection
    objects = []
    for number in range(10_000):
        ob = bpy.data.objects.new(f"Empty {number:05d}", None)
        collection.objects.link(ob)
        objects.append(ob)
    new_class("Thing")
    for number, ob in enumerate(objects[::2], start=1):  # 5,000 labelled objects
        ob.ground_truth.class_id = 1
        ob.ground_truth.instance_id = ob.pass_index = number
    bpy.context.view_layer.update()

    post = bpy.app.handlers.depsgraph_update_post
    times = []
    timed = _timed_handler(times)
    post.remove(handlers.settle_new_copies)
    post.append(timed)
    try:
        ordinary, added, duplicated = [], [], []
        for step in range(20):  # moving an object, as dragging it does every redraw
            objects[step].location.x += 1.0
            bpy.context.view_layer.update()
            ordinary += times
            times.clear()
        blender = []
        for step in range(3):  # adding an object that is no copy
            ob = bpy.data.objects.new(f"New {step}", None)
            collection.objects.link(ob)
            start = time.perf_counter()
            bpy.context.view_layer.update()
            blender.append(time.perf_counter() - start)
            added += times
            times.clear()
        select_only([objects[0]])
        bpy.ops.object.duplicate()  # a labelled object's copy: the one case with work
        bpy.context.view_layer.update()
        duplicated += times
    finally:
        post.remove(timed)
        post.append(handlers.settle_new_copies)
    copy = bpy.context.selected_objects[0]
    assert copy.pass_index == copy.ground_truth.instance_id == 5_001

    ms = 1000.0
    with capsys.disabled():
        print(
            f"\n10,000 objects: handler {statistics.median(ordinary) * ms:.4f} ms on a move, "
            f"{statistics.median(added) * ms:.3f} ms on an added object "
            f"(Blender's update {statistics.median(blender) * ms:.1f} ms), "
            f"{max(duplicated) * ms:.1f} ms settling a Shift+D copy"
        )
    assert statistics.median(ordinary) < 0.1 / ms
    assert statistics.median(added) < 0.1 * statistics.median(blender)


# --- one instance without parenting ------------------------------------------------------------


def test_one_instance_from_selected_renders_as_one_instance(scene, out_dir, capfd):
    add_camera(scene, ortho_scale=4.0)
    left = add_box(scene, "Left", (-1.0, 0.0, 0.0), (0.8, 0.8, 0.8))
    right = add_box(scene, "Right", (1.0, 0.0, 0.0), (0.8, 0.8, 0.8))
    other = add_box(scene, "Other", (0.0, 1.2, 0.0), (0.5, 0.3, 0.5))
    label([left, right], "Table")
    label([other], "Cup")
    scene.ground_truth.active_class_index = 0
    select_only([left, right])
    bpy.context.view_layer.objects.active = right
    labelling = draw_all(scene, active_object=right)[LABELLING]
    assert button(labelling, 'One "Table" from Selected')["enabled"]
    reports(capfd)

    assert bpy.ops.ground_truth.make_one_instance() == {"FINISHED"}
    assert reports(capfd) == [
        "Info: Right and 1 object(s) are now one instance, ID 2 of class 1 'Table': Left "
        "render as parts of Right; instance ID(s) 1 merged into it"
    ]
    assert ids(left, right, other) == [(0, 2, 2), (1, 2, 2), (2, 3, 3)]
    assert left.ground_truth.instance_of == right and left.parent is None
    panel = texts(draw_all(scene, active_object=left)[MAIN])
    assert "1  Table (part of Right)" in panel and "2 (part of Right)" in panel

    assert bpy.ops.ground_truth.render() == {"FINISHED"}
    instance = png.read_png(out_dir / "instance" / "000001.png")
    classmap = png.read_png(out_dir / "class" / "000001.png")
    assert set(np.unique(instance)) == {0, 2, 3}
    columns = np.flatnonzero((instance == 2).any(axis=0))
    # Both boxes, left and right of the image centre, are instance 2 of class 1.
    assert columns.min() < 16 < columns.max()
    assert (classmap[instance == 2] == 1).all()
    meta = json.loads((out_dir / "meta" / "000001.json").read_text())
    table = {i["id"]: i for i in meta["instances"]}
    assert sorted(table) == [2, 3] and table[2]["object"] == "Right"
    # The 3D box holds both parts (x from -1.4 to 1.4 in the world).
    xs = [corner[0] for corner in table[2]["box3d_world"]]
    assert min(xs) == pytest.approx(-1.4) and max(xs) == pytest.approx(1.4)


def test_a_part_leaves_its_instance_when_given_a_class_or_cleared(scene, capfd):
    a, b, c = (add_box(scene, n, (2.0 * i, 0.0, 0.0), (1.0, 1.0, 1.0)) for i, n in enumerate("ABC"))
    new_class("Car")
    select_only([a, b, c])
    bpy.context.view_layer.objects.active = a
    bpy.ops.ground_truth.make_one_instance()
    assert [ob.pass_index for ob in (a, b, c)] == [1, 1, 1]
    reports(capfd)
    select_only([b])
    assert bpy.ops.ground_truth.assign_class() == {"FINISHED"}
    assert reports(capfd) == [
        "Info: Class 1 'Car' given to 1 object(s): B; instance ID(s) 2; no longer part of "
        "another object's instance: B"
    ]
    assert ids(a, b, c) == [(1, 1, 1), (1, 2, 2), (0, 1, 1)]
    select_only([c])
    bpy.ops.ground_truth.clear_class()
    assert ids(c) == [(0, 0, 0)] and c.ground_truth.instance_of is None
    # Duplicating a whole instance makes another instance of the same parts.
    select_only([a, b])
    bpy.ops.ground_truth.make_one_instance(class_id=1)
    copies = duplicate([a, b], active=a)
    by_name = {ob.name: ob for ob in copies}
    assert by_name["B.001"].ground_truth.instance_of == by_name["A.001"]
    assert by_name["A.001"].pass_index == by_name["B.001"].pass_index not in (0, a.pass_index)


# --- collections ---------------------------------------------------------------------------


@pytest.fixture
def collections(scene):
    """Collections Cars (Car, Van) and Trees (Oak, Pine, and its child collection Bushes)."""
    made = {}
    for name, members in (("Cars", ("Car", "Van")), ("Trees", ("Oak", "Pine"))):
        collection = bpy.data.collections.new(name)
        scene.collection.children.link(collection)
        made[name] = collection
        for i, member in enumerate(members):
            ob = add_box(scene, member, (2.0 * i, 3.0 * len(made), 0.0), (1.0, 1.0, 1.0))
            scene.collection.objects.unlink(ob)
            collection.objects.link(ob)
    bushes = bpy.data.collections.new("Bushes")
    made["Trees"].children.link(bushes)
    bush = add_box(scene, "Bush", (5.0, 5.0, 0.0), (1.0, 1.0, 1.0))
    scene.collection.objects.unlink(bush)
    bushes.objects.link(bush)
    return made


def test_class_per_collection(scene, collections, capfd):
    new_class("Cars")  # an existing class of that name is reused
    objects = scene.objects
    select_only([objects["Car"], objects["Oak"]])
    reports(capfd)
    assert bpy.ops.ground_truth.label_collections(per_collection="CLASS") == {"FINISHED"}
    assert [(c.id, c.name) for c in scene.ground_truth.classes] == [(1, "Cars"), (2, "Trees")]
    assert ids(*(objects[n] for n in ("Car", "Van", "Bush", "Oak", "Pine"))) == [
        (1, 1, 1),
        (1, 2, 2),
        (2, 3, 3),
        (2, 4, 4),
        (2, 5, 5),
    ]
    assert reports(capfd) == [
        "Info: Labelled collection 'Cars': class 1 'Cars' given to 2 object(s): Car, Van; "
        "collection 'Trees': class 2 'Trees' (new) given to 3 object(s): Bush, Oak, Pine"
    ]


def test_instance_per_collection(scene, collections, capfd):
    new_class("Vegetation")
    objects = scene.objects
    select_only([objects["Pine"], objects["Car"]])
    bpy.context.view_layer.objects.active = objects["Pine"]
    reports(capfd)
    assert bpy.ops.ground_truth.label_collections(per_collection="INSTANCE") == {"FINISHED"}
    # Each collection one instance; the active object holds its collection's.
    assert ids(*(objects[n] for n in ("Car", "Van", "Pine", "Oak", "Bush"))) == [
        (1, 1, 1),
        (0, 1, 1),
        (1, 2, 2),
        (0, 2, 2),
        (0, 2, 2),
    ]
    (line,) = reports(capfd)
    assert line == (
        "Info: Labelled collection 'Cars': one instance, ID 1 of class 1 'Vegetation', 2 "
        "object(s): Car, Van; collection 'Trees': one instance, ID 2 of class 1 'Vegetation', "
        "3 object(s): Bush, Oak, Pine"
    )


def test_collections_sharing_an_object_are_refused_and_nothing_changes(scene, collections):
    collections["Cars"].objects.link(scene.objects["Oak"])
    select_only([scene.objects["Car"], scene.objects["Pine"]])
    before = {ob.name: ids(ob) for ob in scene.objects}
    with pytest.raises(RuntimeError, match="'Oak' is in both collections 'Cars' and 'Trees'"):
        bpy.ops.ground_truth.label_collections(per_collection="CLASS")
    assert {ob.name: ids(ob) for ob in scene.objects} == before
    assert len(scene.ground_truth.classes) == 0


def test_objects_in_the_scene_collection_only(scene):
    box = add_box(scene, "Box", (0.0, 0.0, 0.0), (1.0, 1.0, 1.0))
    select_only([box])
    with pytest.raises(RuntimeError, match="in no collection but the scene's own"):
        bpy.ops.ground_truth.label_collections(per_collection="CLASS")


# --- unlabelled objects --------------------------------------------------------------------


def test_list_and_select_the_unlabelled_objects(scene, capfd):
    car = add_box(scene, "Car", (0.0, 0.0, 0.0), (1.0, 1.0, 1.0))
    wheel = add_box(scene, "Wheel", (0.0, 0.0, 1.0), (0.3, 0.3, 0.3), parent=car)
    floor = add_box(scene, "Floor", (0.0, 0.0, -1.0), (9.0, 9.0, 0.1))
    wall = add_box(scene, "Wall", (0.0, 4.0, 0.0), (9.0, 0.1, 3.0))
    hidden = add_box(scene, "Hidden", (0.0, -4.0, 0.0), (1.0, 1.0, 1.0))
    hidden.hide_set(True)
    add_box(scene, "Not Rendered", (5.0, 0.0, 0.0), (1.0, 1.0, 1.0)).hide_render = True
    add_camera(scene)
    label([car], "Vehicle")
    panel = draw_all(scene)[UNLABELLED]
    assert "3 object(s) render unlabelled (0 in the maps)" in texts(panel)
    assert [t for t in texts(panel) if t in ("Floor", "Hidden", "Wall", "Wheel", "Camera")] == [
        "Floor",
        "Hidden",
        "Wall",
    ]
    reports(capfd)
    assert bpy.ops.ground_truth.select_unlabelled() == {"FINISHED"}
    assert sorted(ob.name for ob in bpy.context.selected_objects) == ["Floor", "Wall"]
    assert reports(capfd) == [
        "Info: Selected 2 unlabelled object(s): Floor, Wall (1 hidden in the viewport, "
        "not selected)"
    ]
    assert wheel not in bpy.context.selected_objects  # part of Car's instance
    hidden.hide_set(False)
    label([floor, wall, hidden], "Structure")
    panel = draw_all(scene)[UNLABELLED]
    assert texts(panel)[:1] == ["Every object that renders has a class"]
    assert bpy.ops.ground_truth.select_unlabelled() == {"CANCELLED"}


def test_the_unlabelled_list_is_cut_after_twelve_names(scene):
    for number in range(15):
        add_box(scene, f"Rock {number:02d}", (float(number), 0.0, 0.0), (0.5, 0.5, 0.5))
    panel = draw_all(scene)[UNLABELLED]
    assert "Rock 11" in texts(panel) and "Rock 12" not in texts(panel)
    assert "... and 3 more" in dump_text({UNLABELLED: panel})


# --- pass indices -------------------------------------------------------------------------


def test_pass_indices_that_join_an_existing_class_are_reported_as_merged(scene, capfd):
    truck = add_box(scene, "Truck", (0.0, 0.0, 0.0), (1.0, 1.0, 1.0))
    label([truck], "Vehicle")
    van = add_box(scene, "Van", (2.0, 0.0, 0.0), (1.0, 1.0, 1.0))
    tree = add_box(scene, "Tree", (4.0, 0.0, 0.0), (1.0, 1.0, 1.0))
    oak = add_box(scene, "Oak", (6.0, 0.0, 0.0), (1.0, 1.0, 1.0))
    van.pass_index, tree.pass_index, oak.pass_index = 1, 4, 4
    labelling = draw_all(scene)[LABELLING]
    assert button(labelling, "Pass Indices to Classes")["enabled"]
    reports(capfd)
    assert bpy.ops.ground_truth.import_pass_indices() == {"FINISHED"}
    assert reports(capfd) == [
        "Warning: Labelled 3 object(s) from their pass indices; new class 4 'Pass Index 4': "
        "Oak, Tree; merged into the existing class 1 'Vehicle': Van (pass index 1)"
    ]
    assert [ob.ground_truth.class_id for ob in (truck, van, tree, oak)] == [1, 1, 4, 4]
    labelling = draw_all(scene)[LABELLING]
    assert button(labelling, "Pass Indices to Classes")["reason"] == (
        "No unlabelled object has a pass index of its own"
    )
