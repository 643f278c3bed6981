"""labels.amodal: silhouettes of placed meshes, their union with the visible pixels, RLE."""

import numpy as np
import pytest
from pycocotools import mask as mask_utils

from ground_truth.codecs.rle import rle_decode, rle_encode
from ground_truth.geometry import camera
from ground_truth.labels import amodal
from ground_truth.labels.masks import bboxes_from_instance_map

RNG = np.random.default_rng(16)
W, H = 64, 48


def ortho_block():
    """A camera 10 m above the origin looking down: 10 px per metre, u = 32 + 10 x,
    v = 24 - 10 y (OpenCV axes: x right, y down, z forward = world -z)."""
    k_matrix = camera.intrinsics(
        50.0, 36.0, 24.0, "AUTO", 0.0, 0.0, W, H, ortho=True, ortho_scale=6.4
    )
    w2c = np.diag([1.0, -1.0, -1.0, 1.0])
    w2c[2, 3] = 10.0
    return {"K": k_matrix, "world_to_camera_cv": w2c, "type": "ORTHO", "clip_start": 0.1,
            "clip_end": 100.0}  # fmt: skip


def unit_square():
    """A 1 x 1 m square in the z = 0 plane, x and y in 0..1, as two triangles."""
    vertices = np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]], dtype=np.float32)
    return amodal.Mesh(vertices, np.array([[0, 1, 2], [0, 2, 3]], dtype=np.int32))


def placed(x, y, sx=1.0, sy=1.0):
    matrix = np.diag([sx, sy, 1.0, 1.0])
    matrix[:2, 3] = [x, y]
    return amodal.Placement("square", matrix)


def pycoco_counts(mask):
    return mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))["counts"].decode()


@pytest.mark.parametrize("window", [(0, H, 5, 20), (3, 17, 0, W), (0, 1, 0, 1), (10, 30, 40, 41)])
def test_window_rle_equals_the_rle_of_the_full_mask(window):
    r0, r1, c0, c1 = window
    for density in (0.1, 0.5, 0.95, 1.0):
        mask = RNG.random((r1 - r0, c1 - c0)) < density
        mask[0, 0] = mask[-1, -1] = True  # tight in its window
        instance = amodal.AmodalInstance(1, window, mask, int(mask.sum()), 0, None, None, 0.0)
        full = amodal.full_mask(instance, (H, W))
        rle = amodal.mask_rle(instance, (H, W))
        assert rle == rle_encode(full)
        assert rle["counts"] == pycoco_counts(full)
        np.testing.assert_array_equal(rle_decode(rle), full)


def test_the_amodal_mask_is_the_silhouette_united_with_the_visible_pixels():
    geometry = amodal.SceneGeometry({"square": unit_square()}, {1: (placed(0.0, 0.0, 2, 2),)})
    instance_map = np.zeros((H, W), dtype=np.uint16)
    instance_map[4:14, 32:42] = 1  # the right half of its 20 x 20 silhouette (rows 4..23)
    instance_map[3, 32] = 1  # a pixel the render gave it just outside its outline
    visible = bboxes_from_instance_map(instance_map)
    result = amodal.frame_amodal(geometry, ortho_block(), instance_map, visible)[1]
    expected = np.zeros((H, W), dtype=bool)
    expected[4:24, 32:52] = True
    expected[3, 32] = True
    np.testing.assert_array_equal(amodal.full_mask(result, (H, W)), expected)
    assert result.amodal_pixels == 401 and result.visible_pixels == 101
    assert result.amodal_bbox == [32, 3, 20, 21] and result.bbox == [32, 3, 10, 11]
    assert result.visible_fraction == round(101 / 401, 6)
    assert result.truncation == 0.0


def test_truncation_is_the_share_beyond_the_border():
    # x from 2.2 to 4.2 m: columns 54..73, of which 54..63 lie in the 64 px wide image.
    geometry = amodal.SceneGeometry({"square": unit_square()}, {1: (placed(2.2, 0.0, 2, 2),)})
    instance_map = np.zeros((H, W), dtype=np.uint16)
    instance_map[4:24, 54:64] = 1
    result = amodal.frame_amodal(
        geometry, ortho_block(), instance_map, bboxes_from_instance_map(instance_map)
    )[1]
    assert result.amodal_pixels == result.visible_pixels == 200
    assert result.visible_fraction == 1.0 and result.truncation == 0.5


def test_copies_join_their_own_id_or_the_id_they_carry():
    copies = (
        amodal.CopyPlacement(("Empty", (0, 1)), 1, placed(-3.0, 0.0)),
        amodal.CopyPlacement(("Empty", (0, 2)), 1, placed(-1.0, 0.0)),
        amodal.CopyPlacement(("Other", (0, 0)), 9, placed(1.0, 0.0)),  # unlabelled: dropped
    )
    geometry = amodal.SceneGeometry({"square": unit_square()}, {1: ()}, copies)
    groups = amodal.placements_by_id(geometry, {("Empty", (0, 1)): 7})
    assert sorted(groups) == [1, 7]
    assert [p.matrix[0, 3] for p in groups[7]] == [-3.0]
    assert [p.matrix[0, 3] for p in groups[1]] == [-1.0]
    # Without copy IDs (a farm render) both show the source's ID.
    shared = amodal.placements_by_id(geometry)
    assert [p.matrix[0, 3] for p in shared[1]] == [-3.0, -1.0]


def test_meta_fields_cover_every_instance():
    geometry = amodal.SceneGeometry({"square": unit_square()}, {1: (placed(0.0, 0.0),)})
    instance_map = np.zeros((H, W), dtype=np.uint16)
    results = amodal.frame_amodal(geometry, ortho_block(), instance_map, {})
    fields = amodal.meta_fields(results, [1, 2], amodal=True)
    assert fields[1] == {
        "visible_fraction": 0.0,
        "amodal_pixels": 100,
        "amodal_bbox": [32, 14, 10, 10],
        "truncation": 0.0,
    }
    assert fields[2] == {
        "visible_fraction": 0.0,
        "amodal_pixels": 0,
        "amodal_bbox": None,
        "truncation": None,
    }
    assert amodal.meta_fields(results, [1], amodal=False) == {1: {"visible_fraction": 0.0}}
    entries = amodal.file_entries(results, (H, W))
    assert [e["id"] for e in entries] == [1]
    assert rle_decode(entries[0]["amodal_segmentation"]).sum() == 100
