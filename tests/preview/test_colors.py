"""preview.colors: class and instance colours, depth colour maps."""

import itertools

import numpy as np
import pytest

from ground_truth.preview.colors import (
    class_color,
    depth_colormap,
    depth_image,
    depth_range,
    label_image,
    to_uint8,
)


def test_class_color_basics():
    assert class_color(0) == (0.0, 0.0, 0.0)
    assert class_color(5) == class_color(5)
    for i in range(1, 200):
        assert all(0.0 <= c <= 1.0 for c in class_color(i))
    with pytest.raises(ValueError):
        class_color(-1)


def test_class_colors_distinct():
    colors = [to_uint8(class_color(i)) for i in range(1, 65)]
    assert len(set(colors)) == len(colors)
    # Consecutive IDs are clearly different.
    for a, b in itertools.pairwise(colors):
        assert sum(abs(x - y) for x, y in zip(a, b, strict=True)) > 60


def test_label_image_colors():
    ids = np.array([[0, 1, 2], [7, 1, 300]], dtype=np.uint16)
    out = label_image(ids, {1: (1.0, 0.0, 0.0), 300: (0.0, 0.0, 1.0)})
    assert out.shape == (2, 3, 3) and out.dtype == np.uint8
    assert out[0, 0].tolist() == [0, 0, 0]
    assert out[0, 1].tolist() == [255, 0, 0] == out[1, 1].tolist()
    assert out[1, 2].tolist() == [0, 0, 255]
    assert out[0, 2].tolist() == list(to_uint8(class_color(2)))
    assert out[1, 0].tolist() == list(to_uint8(class_color(7)))
    assert np.array_equal(label_image(ids.astype(np.int64)), label_image(ids))


def test_label_image_large_ids():
    ids = np.array([[0, 5_000_000]], dtype=np.int64)
    assert label_image(ids)[0, 1].tolist() == list(to_uint8(class_color(5_000_000)))
    big = np.random.default_rng(0).integers(0, 50, (480, 640)).astype(np.uint16)
    label_image(big)


def test_label_image_rejects():
    with pytest.raises(ValueError):
        label_image(np.zeros((2, 2), np.float32))
    with pytest.raises(ValueError):
        label_image(np.zeros((2, 2, 2), np.uint8))


def test_depth_colormap():
    bar = depth_colormap(np.linspace(0, 1, 16))
    assert bar.shape == (16, 3) and bar.dtype == np.uint8
    assert bar[0].sum() < 150  # far end is dark
    assert bar[2, 2] > bar[2, 0]  # then blue
    assert bar[-1, 0] > bar[-1, 2]  # near end is red
    assert np.array_equal(depth_colormap(np.array([-1.0, 2.0])), bar[[0, -1]])


def test_depth_image():
    depth = np.array([[1.0, 2.0, 4.0], [np.inf, np.nan, 1e10], [0.0, -1.0, 3.0]], np.float32)
    out = depth_image(depth, near=1.0, far=4.0)
    assert out.shape == (3, 3, 3) and out.dtype == np.uint8
    assert out[1].sum() == 0 and out[2, :2].sum() == 0  # invalid -> black
    assert np.array_equal(out[0, 0], depth_colormap(np.array([1.0]))[0])
    assert np.array_equal(out[0, 2], depth_colormap(np.array([0.0]))[0])
    # Inverse-depth scaling: 2 m is 1/3 of the way from far (t=0) to near (t=1).
    expected = depth_colormap(np.array([(1 / 2 - 1 / 4) / (1 - 1 / 4)]))[0]
    assert np.abs(out[0, 1].astype(int) - expected).max() <= 3
    auto = depth_image(depth)
    assert auto[1].sum() == 0


def test_depth_range_and_all_invalid():
    depth = np.full((4, 4), np.inf, np.float32)
    assert depth_range(depth) is None
    assert depth_image(depth).sum() == 0
    depth[0, 0] = 2.0
    depth[0, 1] = 5.0
    assert depth_range(depth, percentile=0) == (2.0, 5.0)
    assert depth_image(depth)[0, 0].sum() > 0


def test_depth_image_large():
    depth = np.random.default_rng(0).uniform(0.5, 20, (480, 640)).astype(np.float32)
    depth_image(depth)
