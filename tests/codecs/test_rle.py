"""codecs.rle: COCO's RLE, checked against pycocotools."""

import numpy as np
import pytest
from pycocotools import mask as mask_utils

from ground_truth.codecs import rle as codec

RNG = np.random.default_rng(11)


def _pycoco(mask):
    return mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))["counts"].decode()


EDGE_MASKS = [
    np.zeros((5, 7), dtype=bool),
    np.ones((5, 7), dtype=bool),
    np.zeros((1, 9), dtype=bool),
    np.ones((1, 9), dtype=bool),
    np.array([[1, 0, 1, 1, 0, 0, 1]], dtype=bool),
    np.array([[0], [1], [1], [0], [1]], dtype=bool),
    np.ones((9, 1), dtype=bool),
    np.eye(6, dtype=bool),
    np.ones((1, 1), dtype=bool),
    np.zeros((1, 1), dtype=bool),
]


@pytest.mark.parametrize("mask", EDGE_MASKS, ids=range(len(EDGE_MASKS)))
def test_rle_edge_cases_match_pycocotools(mask):
    rle = codec.rle_encode(mask)
    assert rle["size"] == list(mask.shape)
    assert rle["counts"] == _pycoco(mask)
    assert np.array_equal(codec.rle_decode(rle), mask)


@pytest.mark.parametrize("density", [0.02, 0.5, 0.98])
def test_rle_random_masks_match_pycocotools(density):
    for _ in range(20):
        shape = tuple(RNG.integers(1, 60, 2))
        mask = RNG.random(shape) < density
        rle = codec.rle_encode(mask)
        assert rle["counts"] == _pycoco(mask)
        assert np.array_equal(mask_utils.decode({**rle, "counts": rle["counts"].encode()}), mask)


def test_rle_large_counts_match_pycocotools():
    mask = np.zeros((1500, 1400), dtype=bool)  # counts beyond 2**20 need many groups
    mask[1499, 1399] = True
    mask[3, 0] = True
    assert codec.rle_encode(mask)["counts"] == _pycoco(mask)
    assert codec.rle_encode(~mask)["counts"] == _pycoco(~mask)


def test_string_codec_roundtrip():
    counts = [0, 5, 3, 1_000_000, 2, 7, 123_456_789, 1, 0]
    text = codec.counts_to_string(counts)
    assert codec.string_to_counts(text) == counts
    rle = mask_utils.frPyObjects({"size": [1, sum(counts)], "counts": counts}, 1, sum(counts))
    assert text == rle["counts"].decode()


def test_rle_encode_instances_matches_per_mask():
    instance_map = RNG.integers(0, 8, (37, 23)).astype(np.uint16)
    instance_map[:, 5] = 0
    rles = codec.rle_encode_instances(instance_map)
    expected = [int(i) for i in np.unique(instance_map) if i]
    assert list(rles) == expected
    for ident, rle in rles.items():
        assert rle["size"] == [37, 23]
        assert rle["counts"] == _pycoco(instance_map == ident)
    assert codec.rle_encode_instances(np.zeros((3, 4), dtype=np.uint16)) == {}


@pytest.mark.parametrize("dtype", [np.uint16, np.uint32])
def test_rle_encode_instances_of_many_ids_match_pycocotools(dtype):
    # Every ID's counts are made and encoded together: blocks and speckle, IDs whose last
    # run ends the map (no closing zeros), IDs past 65535 and one touching every column.
    blocks = RNG.integers(0, 400, (13, 17)).astype(dtype)
    instance_map = np.kron(blocks, np.ones((5, 3), dtype=dtype))[:61, :49]
    speckle = RNG.random(instance_map.shape) < 0.05
    instance_map[speckle] = RNG.integers(1, 30, speckle.sum())
    instance_map[-3:, -1] = 399  # the end of the column-major scan
    instance_map[7, :] = 401
    if dtype is np.uint32:
        instance_map[20:30, 10:12] = 1_000_000
    rles = codec.rle_encode_instances(instance_map)
    assert list(rles) == [int(i) for i in np.unique(instance_map) if i]
    for ident, rle in rles.items():
        assert rle == codec.rle_encode(instance_map == ident)
        assert rle["counts"] == _pycoco(instance_map == ident)
    full = np.full((4, 6), 9, dtype=dtype)  # one ID everywhere: counts [0, 24]
    assert codec.rle_encode_instances(full) == {9: codec.rle_encode(full == 9)}
    assert codec.rle_encode_instances(full, background=9) == {}
