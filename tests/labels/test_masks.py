"""labels.masks: 2D boxes and pixel counts from masks and instance maps."""

import numpy as np
import pytest

from ground_truth.labels.masks import bbox_from_mask, bboxes_from_instance_map

RNG = np.random.default_rng(5)


def test_bbox_from_mask():
    mask = np.zeros((6, 8), dtype=bool)
    assert bbox_from_mask(mask) is None
    mask[2, 3] = True
    assert bbox_from_mask(mask) == [3, 2, 1, 1]
    mask[4, 6] = True
    box = bbox_from_mask(mask)
    assert box == [3, 2, 4, 3]
    assert all(type(v) is int for v in box)
    assert bbox_from_mask(np.ones((3, 5), dtype=bool)) == [0, 0, 5, 3]
    with pytest.raises(ValueError):
        bbox_from_mask(np.ones(4, dtype=bool))


def _reference(instance_map):
    result = {}
    for ident in np.unique(instance_map):
        if ident == 0:
            continue
        mask = instance_map == ident
        result[int(ident)] = (bbox_from_mask(mask), int(mask.sum()))
    return result


@pytest.mark.parametrize("shape", [(1, 1), (1, 9), (9, 1), (13, 17), (48, 64)])
def test_bboxes_from_instance_map_matches_per_mask(shape):
    for _ in range(5):
        instance_map = RNG.integers(0, 6, shape).astype(np.uint16)
        assert bboxes_from_instance_map(instance_map) == _reference(instance_map)


def test_bboxes_from_instance_map_blobs_and_background():
    instance_map = np.zeros((10, 12), dtype=np.uint16)
    instance_map[1:4, 2:5] = 7
    instance_map[6:10, 0:12] = 300
    instance_map[0, 11] = 7
    boxes = bboxes_from_instance_map(instance_map)
    assert boxes == {7: ([2, 0, 10, 4], 10), 300: ([0, 6, 12, 4], 48)}
    assert list(boxes) == [7, 300]
    assert bboxes_from_instance_map(np.zeros((4, 4), dtype=np.uint16)) == {}
    everything = bboxes_from_instance_map(instance_map, background=None)
    assert everything[0][1] == 120 - 10 - 48


def test_bboxes_from_instance_map_with_many_instances():
    height, width = 480, 640
    instance_map = np.zeros((height, width), dtype=np.uint16)
    for ident in range(1, 101):
        y, x = RNG.integers(0, height - 60), RNG.integers(0, width - 60)
        instance_map[y : y + RNG.integers(5, 60), x : x + RNG.integers(5, 60)] = ident
    assert bboxes_from_instance_map(instance_map) == _reference(instance_map)
