"""geometry.boxes: 3D box corners and edges."""

import numpy as np
import pytest

from ground_truth.geometry.boxes import box_corners, box_edges
from ground_truth.geometry.transforms import transform_points


def test_box_corners_follow_blender_bound_box_order():
    corners = box_corners([-1, -2, -3], [1, 2, 3])
    expected = [
        [-1, -2, -3],
        [-1, -2, 3],
        [-1, 2, 3],
        [-1, 2, -3],
        [1, -2, -3],
        [1, -2, 3],
        [1, 2, 3],
        [1, 2, -3],
    ]
    assert corners.shape == (8, 3) and corners.dtype == np.float64
    assert np.array_equal(corners, expected)
    edges = box_edges()
    assert len(edges) == 12 and len(set(edges)) == 12
    for a, b in edges:  # every edge changes exactly one coordinate
        assert np.count_nonzero(corners[a] != corners[b]) == 1


def test_transform_points():
    matrix = np.eye(4)
    matrix[:3, :3] = [[0, -1, 0], [1, 0, 0], [0, 0, 2]]
    matrix[:3, 3] = [10, 20, 30]
    out = transform_points(matrix, [[1, 0, 0], [0, 1, 1]])
    assert np.allclose(out, [[10, 21, 30], [9, 20, 32]])
    assert transform_points(matrix, np.zeros((0, 3))).shape == (0, 3)
    with pytest.raises(ValueError):
        transform_points(np.eye(3), [[0, 0, 0]])
