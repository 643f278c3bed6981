"""Distinct copy IDs decoded from the Random and location passes."""

import numpy as np
import pytest

from ground_truth.labels.copies import (
    Copy,
    CopyTable,
    TooManyInstancesError,
    assign_copy_ids,
    random_value,
)


def test_random_value_matches_cycles_formula():
    assert random_value(0) == 0.0
    assert random_value(0xFFFFFFFF) == np.float32(1.0)
    assert random_value(-1) == np.float32(1.0)  # Blender hands random_id out signed
    assert random_value(2**31) == np.float32(0.5)


def test_copies_get_their_own_stable_ids():
    instance = np.array([[0, 5, 5, 7], [5, 5, 9, 7]], dtype=np.uint16)
    a, b = random_value(123456789), random_value(987654321)
    random = np.array([[0, a, a, 0.3], [b, b, 0.1, 0.3]], dtype=np.float32)
    location = np.zeros((2, 4, 3), dtype=np.float32)
    copies = [Copy(("Empty", (0,)), 5, a, (0, 0, 0)), Copy(("Empty", (1,)), 5, b, (1, 0, 0))]
    table = CopyTable(first_id=10)
    result = assign_copy_ids(instance, random, location, copies, table)
    assert result.tolist() == [[0, 10, 10, 7], [11, 11, 9, 7]]
    # The next frame, in another order: same IDs.
    again = assign_copy_ids(instance, random, location, copies[::-1], table)
    np.testing.assert_array_equal(again, result)


def test_a_pixel_of_the_source_object_itself_keeps_its_id():
    instance = np.array([[5, 5]], dtype=np.uint16)
    random = np.array([[random_value(1), random_value(2)]], dtype=np.float32)
    copies = [Copy(("E", (0,)), 5, random_value(1), (0, 0, 0))]
    result = assign_copy_ids(
        instance, random, np.zeros((1, 2, 3), np.float32), copies, CopyTable(20)
    )
    assert result.tolist() == [[20, 5]]


def test_equal_random_values_are_told_apart_by_location():
    value = random_value(42)
    instance = np.full((1, 3), 5, dtype=np.uint16)
    random = np.full((1, 3), value, dtype=np.float32)
    location = np.array([[[0, 0, 0], [10, 0, 0], [0.1, 0, 0]]], dtype=np.float32)
    copies = [Copy(("E", (0,)), 5, value, (0, 0, 0)), Copy(("E", (1,)), 5, value, (10, 0, 0))]
    result = assign_copy_ids(instance, random, location, copies, CopyTable(30))
    assert result.tolist() == [[30, 31, 30]]


def test_ids_never_wrap_past_32767():
    table = CopyTable(first_id=32767)
    assert table.id_of(("a",)) == 32767
    with pytest.raises(TooManyInstancesError, match="More than 32767 instances"):
        table.id_of(("b",))


def test_known_ids_are_kept_and_new_ones_follow():
    table = CopyTable(first_id=5, known={("x",): 8})
    assert table.id_of(("x",)) == 8
    assert table.id_of(("y",)) == 9
