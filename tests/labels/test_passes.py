"""labels.passes: raw passes to label arrays."""

import numpy as np
import pytest

from ground_truth.labels import passes


def test_raw_passes_reads_the_raw_layer_with_or_without_the_material_index():
    values = {c: np.full((2, 3), i, np.float32) for i, c in enumerate("RGBA")}
    found = passes.raw_passes({f"ViewLayer.Raw.{c}": v for c, v in values.items()})
    assert sorted(found) == ["depth", "index", "material"]
    assert (found["material"] == 2).all() and (found["index"] == 1).all()
    older = passes.raw_passes({"Raw.R": values["R"], "Raw.G": values["G"]})
    assert sorted(older) == ["depth", "index"]
    # Without the part map the setup writes no Material Index: a constant -1 channel.
    without = {"Raw.X": values["R"], "Raw.Y": values["G"], "Raw.Z": np.full((2, 3), -1.0)}
    assert sorted(passes.raw_passes(without)) == ["depth", "index"]
    # A Material Index of 0 everywhere (no material has a part ID) is still one.
    zeros = {**without, "Raw.Z": np.zeros((2, 3), np.float32)}
    assert sorted(passes.raw_passes(zeros)) == ["depth", "index", "material"]
    with pytest.raises(ValueError, match="no layer 'Raw'"):
        passes.raw_passes({"Depth.V": values["R"]})


def test_part_map_is_the_rounded_material_index_and_zero_on_the_background():
    depth = np.array([[2.0, 1.0e10, 3.0]], np.float32)
    index = np.array([[1.0, 1.0, 2.0]], np.float32)
    material = np.array([[4.0, 4.0, 32767.0]], np.float32)
    lookup = passes.class_lookup({1: 1, 2: 1})
    labels = passes.labels_from_raw(depth, index, 1.0, lookup, material)
    assert labels.part.dtype == np.uint16
    assert labels.part.tolist() == [[4, 0, 32767]]
    assert passes.labels_from_raw(depth, index, 1.0, lookup).part is None
    with pytest.raises(ValueError, match="Material Index"):
        passes.labels_from_raw(depth, index, 1.0, lookup, material + 1)


def test_camera_normals_rotate_normalise_and_zero_the_background():
    # A camera looking straight down (Blender's default): world +z is camera-cv -z.
    w2c = np.diag([1.0, -1.0, -1.0, 1.0])
    w2c[:3, 3] = (4.0, 5.0, 6.0)  # the translation does not move normals
    world = np.array([[[0, 0, 0.5], [0.6, 0.8, 0], [0, 0, 1], [0, 0, 0]]], np.float32)
    background = np.array([[False, False, True, False]])
    normals = passes.camera_normals(world, w2c, background)
    assert normals.dtype == np.float32 and normals.shape == (1, 4, 3)
    np.testing.assert_allclose(normals[0], [[0, 0, -1], [0.6, -0.8, 0], [0, 0, 0], [0, 0, 0]])


def test_layers_are_read_with_colour_or_vector_channel_names():
    values = {c: np.full((2, 2), i, np.float32) for i, c in enumerate("RGBA")}
    colour = passes.layer_arrays({f"Normal.{c}": v for c, v in values.items()}, "Normal", 3)
    pairs = zip("XYZ", "RGB", strict=True)
    vector = passes.layer_arrays({f"Normal.{c}": values[r] for c, r in pairs}, "Normal", 3)
    np.testing.assert_array_equal(np.stack(colour), np.stack(vector))
    assert [float(a[0, 0]) for a in colour] == [0, 1, 2]
    with pytest.raises(ValueError, match="'Normal'"):
        passes.layer_arrays({"Raw.R": values["R"]}, "Normal", 3)


def test_flow_from_vector_converts_signs_and_axes_and_marks_validity():
    # Cycles (y up): R, G = previous - now; B, A = now - next.
    vector = np.zeros((2, 4, 4), np.float32)
    vector[..., :] = (-1.0, 0.5, -3.0, -1.0)  # came from 1 px left and 0.5 px below ...
    background = np.zeros((2, 4), bool)
    background[0, 0] = True
    flow = passes.flow_from_vector(vector, background)
    assert tuple(flow) == passes.FLOW_CHANNELS
    assert all(v.dtype == np.float32 and v.shape == (2, 4) for v in flow.values())
    np.testing.assert_array_equal(flow["forward.X"][1], 3.0)  # ... goes 3 px right
    np.testing.assert_array_equal(flow["forward.Y"][1], -1.0)  # ... and 1 px up
    np.testing.assert_array_equal(flow["backward.X"][1], -1.0)
    np.testing.assert_array_equal(flow["backward.Y"][1], -0.5)
    for name in passes.FLOW_CHANNELS:
        assert flow[name][0, 0] == 0  # background
    # Pixel centres at x + 0.5: +3 leaves a 4-px row from column 1 on; -1 leaves row 0.
    assert flow["forward.valid"].tolist() == [[0, 0, 0, 0], [1, 0, 0, 0]]
    assert flow["backward.valid"].tolist() == [[0, 1, 1, 1], [0, 1, 1, 1]]


def test_four_channel_layers_keep_their_order_and_view_layer_prefix():
    values = {c: np.full((2, 2), i, np.float32) for i, c in enumerate("RGBA")}
    colour = passes.layer_arrays({f"Vector.{c}": v for c, v in values.items()}, "Vector", 4)
    pairs = zip("XYZW", "RGBA", strict=True)
    channels = {f"ViewLayer.Vector.{c}": values[r] for c, r in pairs}
    vector = passes.layer_arrays(channels, "Vector", 4)
    np.testing.assert_array_equal(np.stack(colour), np.stack(vector))
    assert [float(a[0, 0]) for a in vector] == [0, 1, 2, 3]
    with pytest.raises(ValueError, match="'Vector'"):
        passes.layer_arrays({"Vector.X": values["R"]}, "Vector", 4)
