"""labels.ids: instance ID planning and Blender-style unique names."""

import pytest

from ground_truth.labels.ids import (
    MAX_ID,
    IdSpaceFull,
    ObjectEntry,
    plan_instance_ids,
    smallest_free_id,
    unique_name,
)


def test_smallest_free_id():
    assert smallest_free_id([]) == 1
    assert smallest_free_id([1, 2, 4]) == 3
    assert smallest_free_id([1, 2, 3], start=2) == 4
    assert smallest_free_id(range(1, 10), limit=10) == 10
    with pytest.raises(IdSpaceFull):
        smallest_free_id(range(1, 11), limit=10)
    with pytest.raises(ValueError, match="no free ID"):
        smallest_free_id(range(1, MAX_ID + 1))


def test_new_objects_get_smallest_free_ids_in_name_order():
    objs = [ObjectEntry("b", 1), ObjectEntry("a", 2), ObjectEntry("c", 1)]
    assert plan_instance_ids(objs) == {"b": 2, "a": 1, "c": 3}


def test_stability_existing_ids_kept():
    objs = [
        ObjectEntry("Car", 1, 5),
        ObjectEntry("Tree", 2, 2),
        ObjectEntry("Apple", 3, 0),  # new: gets the smallest free ID
        ObjectEntry("Zed", 3, 0),
    ]
    assert plan_instance_ids(objs) == {"Car": 5, "Tree": 2, "Apple": 1, "Zed": 3}


def test_duplicate_claims_first_name_keeps():
    objs = [ObjectEntry("Car.001", 1, 4), ObjectEntry("Car", 1, 4), ObjectEntry("Bus", 2, 1)]
    assert plan_instance_ids(objs) == {"Car.001": 2, "Car": 4, "Bus": 1}


def test_out_of_range_id_reassigned():
    objs = [ObjectEntry("a", 1, MAX_ID + 1), ObjectEntry("b", 1, -3)]
    assert plan_instance_ids(objs) == {"a": 1, "b": 2}


def test_unlabelled_objects():
    objs = [
        ObjectEntry("Car", 1, 7),
        ObjectEntry("Wheel", 0, 3, parent="Car"),
        ObjectEntry("Bolt", 0, 0, parent="Wheel"),
        ObjectEntry("Door", 2, 0, parent="Car"),  # labelled child: own instance
        ObjectEntry("Handle", 0, 0, parent="Door"),
        ObjectEntry("Lamp", 0, 9),
        ObjectEntry("Orphan", 0, 0, parent="NotInList"),
    ]
    ids = plan_instance_ids(objs)
    assert ids == {
        "Car": 7,
        "Wheel": 7,
        "Bolt": 7,
        "Door": 1,
        "Handle": 1,
        "Lamp": 0,
        "Orphan": 0,
    }


def test_unlabelled_ids_do_not_block_labelled():
    # The stale pass index 3 of an unlabelled object is not "taken".
    objs = [ObjectEntry("old", 0, 1), ObjectEntry("new", 1, 0)]
    assert plan_instance_ids(objs) == {"old": 0, "new": 1}


def test_parent_cycle_guard():
    objs = [ObjectEntry("a", 0, 0, parent="b"), ObjectEntry("b", 0, 0, parent="a")]
    assert plan_instance_ids(objs) == {"a": 0, "b": 0}


def test_duplicate_names_rejected():
    with pytest.raises(ValueError):
        plan_instance_ids([ObjectEntry("a", 1), ObjectEntry("a", 2)])


def test_full_id_space():
    full = [ObjectEntry(f"o{i:05d}", 1, i) for i in range(1, MAX_ID + 1)]
    ids = plan_instance_ids(full)
    assert len(set(ids.values())) == MAX_ID
    with pytest.raises(IdSpaceFull):
        plan_instance_ids([*full, ObjectEntry("extra", 1, 0)])
    # Unlabelled extras are fine.
    ids = plan_instance_ids([*full, ObjectEntry("extra", 0, 0, parent="o00001")])
    assert ids["extra"] == 1


def test_last_free_id_used():
    objs = [ObjectEntry(f"o{i:05d}", 1, i) for i in range(2, MAX_ID + 1)]
    objs.append(ObjectEntry("new", 1, 0))
    assert plan_instance_ids(objs)["new"] == 1


def test_unique_name():
    assert unique_name("Car", []) == "Car"
    assert unique_name("Car", ["Car"]) == "Car.001"
    assert unique_name("Car", ["Car", "Car.001"]) == "Car.002"
    assert unique_name("Car", ["Car", "Car.002"]) == "Car.001"
    assert unique_name("Car.001", ["Car", "Car.001"]) == "Car.002"
    assert unique_name("V1.5", ["V1.5"]) == "V1.5.001"
