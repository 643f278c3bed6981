"""Object models from placed meshes: rigid model frames, scale baked in, one key per shape."""

import numpy as np
import pytest

from ground_truth.labels import models
from ground_truth.labels.amodal import CopyPlacement, Mesh, Placement, SceneGeometry


def rotation(axis, angle):
    axis = np.asarray(axis, float) / np.linalg.norm(axis)
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + np.sin(angle) * k + (1 - np.cos(angle)) * k @ k


def affine(rot=None, scale=(1, 1, 1), location=(0, 0, 0)):
    matrix = np.eye(4)
    matrix[:3, :3] = (np.eye(3) if rot is None else rot) @ np.diag(scale)
    matrix[:3, 3] = location
    return matrix


def box_mesh(size=(1.0, 1.0, 1.0), loose=0):
    half = np.asarray(size) / 2
    vertices = [[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)] * half
    vertices = np.concatenate([vertices, np.full((loose, 3), 9.0)]).astype(np.float32)
    quads = [(0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3)]
    triangles = [t for a, b, c, d in quads for t in ((a, b, c), (a, c, d))]
    return Mesh(vertices, np.array(triangles, np.int32))


def test_the_rotation_of_a_scaled_matrix_is_its_own_rotation():
    turn = rotation((1, 2, 3), 0.7)
    np.testing.assert_allclose(
        models.rotation_part(turn @ np.diag([2.0, 0.1, 5.0])), turn, atol=1e-14
    )
    np.testing.assert_allclose(models.rotation_part(turn * 3.0), turn, atol=1e-14)
    # Sheared (a turned child of an unevenly scaled parent): the closest rotation.
    sheared = np.diag([3.0, 1.0, 1.0]) @ turn
    found = models.rotation_part(sheared)
    u, _, vt = np.linalg.svd(sheared)
    np.testing.assert_allclose(found, u @ vt, atol=1e-12)
    # Mirrored: still a rotation; the mirror stays in the model.
    mirrored = models.rotation_part(turn @ np.diag([1.0, 1.0, -2.0]))
    assert np.linalg.det(mirrored) == pytest.approx(1.0)
    np.testing.assert_allclose(mirrored.T @ mirrored, np.eye(3), atol=1e-14)
    assert models.rotation_part(np.diag([1.0, 0.0, 1.0])) is None
    assert models.rotation_part(np.full((3, 3), np.nan)) is None


def test_the_scale_goes_into_the_model_and_the_pose_is_rigid():
    turn = rotation((0, 0, 1), 0.5)
    owner = affine(turn, (2.0, 3.0, 0.5), (1.0, -2.0, 4.0))
    mesh = box_mesh()
    model = models.instance_model([Placement("box", owner)], {"box": mesh}, owner)
    np.testing.assert_allclose(model.pose[:3, :3], turn, atol=1e-14)
    np.testing.assert_allclose(model.pose[:3, 3], [1.0, -2.0, 4.0])
    np.testing.assert_allclose(model.vertices, mesh.vertices * [2.0, 3.0, 0.5], atol=1e-6)
    # The model posed is the mesh placed.
    posed = model.vertices @ model.pose[:3, :3].T + model.pose[:3, 3]
    placed = mesh.vertices @ owner[:3, :3].T + owner[:3, 3]
    np.testing.assert_allclose(posed, placed, atol=1e-6)


def test_equal_shapes_share_a_key_whatever_their_pose():
    mesh = {"box": box_mesh((1.0, 2.0, 0.5))}
    keys = set()
    for index in range(20):
        turn = rotation(np.random.default_rng(index).normal(size=3), 0.3 * index)
        owner = affine(turn, (1.0, 1.0, 1.0), (index, -index, 2.0 * index))
        keys.add(models.instance_model([Placement("box", owner)], mesh, owner).key)
    assert len(keys) == 1
    scaled = affine(None, (1.0, 1.0, 1.1))
    assert models.instance_model([Placement("box", scaled)], mesh, scaled).key not in keys
    moved_part = affine(location=(0.0, 0.0, 0.1))
    assert models.instance_model([Placement("box", moved_part)], mesh, np.eye(4)).key not in keys


def test_parts_are_in_the_owners_frame_and_their_order_does_not_matter():
    meshes = {"body": box_mesh((2.0, 1.0, 1.0)), "wheel": box_mesh((0.5, 0.5, 0.5))}
    owner = affine(rotation((0, 0, 1), 1.0), location=(5.0, 0.0, 0.0))
    wheel = owner @ affine(location=(1.2, 0.0, -0.4))
    parts = [Placement("body", owner), Placement("wheel", wheel)]
    one = models.instance_model(parts, meshes, owner)
    other = models.instance_model(parts[::-1], meshes, owner)
    assert one.key == other.key
    np.testing.assert_array_equal(one.vertices, other.vertices)
    np.testing.assert_array_equal(one.triangles, other.triangles)
    assert len(one.vertices) == 16 and len(one.triangles) == 24
    assert one.vertices[:, 0].max() == pytest.approx(1.45)


def test_loose_vertices_are_dropped_and_nothing_gives_no_model():
    meshes = {
        "box": box_mesh(loose=3),
        "empty": Mesh(np.zeros((3, 3), np.float32), np.zeros((0, 3), np.int32)),
    }
    model = models.instance_model([Placement("box", np.eye(4))], meshes, np.eye(4))
    assert len(model.vertices) == 8
    assert (
        model.key
        == models.instance_model([Placement("box", np.eye(4))], {"box": box_mesh()}, np.eye(4)).key
    )
    assert models.instance_model([Placement("empty", np.eye(4))], meshes, np.eye(4)) is None
    assert models.instance_model([], meshes, np.eye(4)) is None
    assert (
        models.instance_model([Placement("box", np.eye(4))], meshes, np.diag([0, 1, 1, 1.0]))
        is None
    )


def test_the_key_is_the_same_in_any_process():
    # A fixed shape has a fixed key: the hash of its quantised vertices, triangles, unit.
    model = models.instance_model([Placement("box", np.eye(4))], {"box": box_mesh()}, np.eye(4))
    assert model.key == models.model_key(
        np.rint(model.vertices.astype(np.float64) / models.QUANTUM).astype(np.int64),
        model.triangles,
        1.0,
    )
    assert len(model.key) == 16 and int(model.key, 16) >= 0
    other_unit = models.instance_model(
        [Placement("box", np.eye(4))], {"box": box_mesh()}, np.eye(4), metres_per_unit=0.001
    )
    assert other_unit.key != model.key


def test_frame_models_join_copies_and_fill_the_meta():
    meshes = {"box": box_mesh()}
    turned = affine(rotation((0, 1, 0), 0.4), location=(0.0, 0.0, -5.0))
    copy = affine(rotation((0, 0, 1), 2.0), location=(1.0, 0.0, -6.0))
    geometry = SceneGeometry(
        meshes=meshes,
        instances={1: (Placement("box", turned),)},
        copies=(CopyPlacement(("Scatter", (0,)), 1, Placement("box", copy)),),
    )
    entries = [
        {"id": 1, "object": "Box", "matrix_world": turned},
        {"id": 9, "object": "Box", "matrix_world": copy},
        {"id": 5, "object": "Empty", "matrix_world": np.eye(4)},
    ]
    found = models.frame_models(geometry, entries, {("Scatter", (0,)): 9})
    assert found[1].key == found[9].key and found[5] is None
    w2c = affine(location=(0.0, 0.0, 1.0))
    fields = models.meta_fields(found, w2c, {1: {"visible_fraction": 0.5}})
    assert list(fields[1]) == ["visible_fraction", *models.MODEL_FIELDS]
    assert fields[5] == dict.fromkeys(models.MODEL_FIELDS)
    np.testing.assert_allclose(fields[9]["model_pose_camera_cv"], w2c @ copy)
    assert isinstance(fields[9]["model_pose_world"], list)
