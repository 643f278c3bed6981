"""Mask -> polygon: the polygon, filled by pycocotools' rasteriser, is the mask again.

pycocotools' ``frPyObjects`` (COCO's C polygon rasteriser: pixel-corner coordinates,
crossings counted per column) is the oracle; the tests need no other consumer package.
"""

import numpy as np
import pytest

from ground_truth.export.polygons import mask_polygon

mask_api = pytest.importorskip("pycocotools.mask")


def rasterise(polygon: np.ndarray, height: int, width: int) -> np.ndarray:
    rle = mask_api.frPyObjects(
        [np.asarray(polygon, dtype=np.float64).ravel().tolist()], height, width
    )
    return mask_api.decode(rle)[:, :, 0].astype(bool)


def assert_round_trip(mask: np.ndarray) -> np.ndarray:
    polygon = mask_polygon(mask)
    assert polygon is not None
    back = rasterise(polygon, *mask.shape)
    assert np.array_equal(back, mask), f"\n{mask.astype(int)}\n{back.astype(int)}\n{polygon}"
    return polygon


def shape(text: str) -> np.ndarray:
    return np.array([[c == "#" for c in row] for row in text.strip().split()], dtype=bool)


def test_empty_mask_has_no_polygon():
    assert mask_polygon(np.zeros((4, 5), dtype=bool)) is None


def test_rectangle_is_its_four_pixel_corners():
    mask = np.zeros((6, 8), dtype=bool)
    mask[1:4, 2:7] = True
    polygon = assert_round_trip(mask)
    assert sorted(map(tuple, polygon.tolist())) == [(2, 1), (2, 4), (7, 1), (7, 4)]


def test_mask_touching_every_image_edge():
    assert_round_trip(np.ones((3, 4), dtype=bool))


def test_hole_is_bridged_inside_the_object():
    mask = shape(
        """
        #######
        #######
        ##...##
        ##...##
        #######
        """
    )
    polygon = assert_round_trip(mask)
    # One polygon; the bridge runs along a column line through object pixels only.
    xs = polygon[:, 0]
    assert set(xs.tolist()) <= {0, 2, 5, 7}


@pytest.mark.parametrize(
    "text",
    [
        # two parts side by side (nothing of the object above the second)
        "##..## ##..## ......",
        # a part below another
        "###... ...... ..##.. ..##..",
        # parts touching at a corner only (one 8-connected part)
        "#.. .#. ..#",
        ".#. #.# .#.",
        # an object inside another one's hole
        "####### #.....# #.###.# #.#.#.# #.###.# #.....# #######",
        # a hole touching another hole at a corner, holes in a row
        "###### #.#..# ##.#.# ###### #.#.## ######",
        # comb
        "#.#.#.# #.#.#.# #######",
    ],
)
def test_hard_shapes(text):
    assert_round_trip(shape(text))


def test_random_masks_round_trip():
    rng = np.random.default_rng(7)
    for _ in range(400):
        height, width = rng.integers(1, 14, size=2)
        density = rng.random()
        assert_round_trip_or_empty(rng.random((height, width)) < density)


def assert_round_trip_or_empty(mask):
    if mask.any():
        assert_round_trip(mask)
    else:
        assert mask_polygon(mask) is None


def test_large_blob_with_holes_and_parts_keeps_corners_only():
    yy, xx = np.mgrid[:240, :320]
    distance = (xx - 150) ** 2 + (yy - 110) ** 2
    ring = (distance < 90**2) & (distance >= 30**2)
    ring[:, 148:151] = False  # a pole in front splits it in two
    spot = (xx - 280) ** 2 + (yy - 200) ** 2 < 20**2
    polygon = assert_round_trip(ring | spot)
    steps = np.diff(np.vstack([polygon, polygon[:1]]), axis=0)
    # Three parts with nothing of the object above them: two straight bridges, each
    # traversed twice. Every other step runs along one axis of the pixel lattice.
    assert ((steps[:, 0] == 0) != (steps[:, 1] == 0)).sum() >= len(steps) - 4
    # Corners only: a vertex between two steps of the same direction is a bridge's end.
    direction = np.sign(steps)
    assert np.all(direction == np.roll(direction, 1, axis=0), axis=1).sum() <= 4
    padded = np.pad(ring | spot, 1)
    unit_edges = (padded[1:] != padded[:-1]).sum() + (padded[:, 1:] != padded[:, :-1]).sum()
    assert len(polygon) < 0.7 * unit_edges


def test_rejects_non_2d():
    with pytest.raises(ValueError):
        mask_polygon(np.zeros((2, 2, 2), dtype=bool))
