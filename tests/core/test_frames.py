"""Tests for core.frames: raw passes to label maps."""

import numpy as np
import pytest

from ground_truth.core import frames


def test_raw_passes_reads_the_raw_layer_with_or_without_the_material_index():
    values = {c: np.full((2, 3), i, np.float32) for i, c in enumerate("RGBA")}
    passes = frames.raw_passes({f"ViewLayer.Raw.{c}": v for c, v in values.items()})
    assert sorted(passes) == ["depth", "index", "material"]
    assert (passes["material"] == 2).all() and (passes["index"] == 1).all()
    older = frames.raw_passes({"Raw.R": values["R"], "Raw.G": values["G"]})
    assert sorted(older) == ["depth", "index"]
    with pytest.raises(ValueError, match="no 'Raw' layer"):
        frames.raw_passes({"Depth.V": values["R"]})


def test_part_map_is_the_rounded_material_index_and_zero_on_the_background():
    depth = np.array([[2.0, 1.0e10, 3.0]], np.float32)
    index = np.array([[1.0, 1.0, 2.0]], np.float32)
    material = np.array([[4.0, 4.0, 32767.0]], np.float32)
    lookup = frames.class_lookup({1: 1, 2: 1})
    labels = frames.labels_from_raw(depth, index, 1.0, lookup, material)
    assert labels.part.dtype == np.uint16
    assert labels.part.tolist() == [[4, 0, 32767]]
    assert frames.labels_from_raw(depth, index, 1.0, lookup).part is None
    with pytest.raises(ValueError, match="Material Index"):
        frames.labels_from_raw(depth, index, 1.0, lookup, material + 1)
