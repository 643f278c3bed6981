"""geometry.transforms: products over many points and small inverses, on the calling thread."""

import time

import numpy as np
import pytest

from ground_truth.geometry import camera, transforms


def cpu_of_other_threads(function, *args):
    """CPU seconds that threads other than this one spend during and 0.3 s after the call."""
    time.sleep(0.3)  # whatever ran before has settled
    process, thread = time.process_time(), time.thread_time()
    function(*args)
    time.sleep(0.3)
    return (time.process_time() - process) - (time.thread_time() - thread)


def random_pose(rng):
    q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    pose = np.eye(4)
    pose[:3, :3] = q * np.sign(np.linalg.det(q))
    pose[:3, 3] = rng.normal(size=3) * 10.0
    return pose


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_apply_is_points_times_the_transposed_matrix(dtype):
    rng = np.random.default_rng(7)
    points = rng.normal(size=(1000, 3)).astype(dtype)
    matrix = rng.normal(size=(2, 3)).astype(dtype)
    result = transforms.apply(matrix, points)
    assert result.shape == (1000, 2) and result.dtype == dtype
    np.testing.assert_allclose(result, points @ matrix.T, rtol=1e-5, atol=1e-5)


def test_transform_points_applies_the_affine_part():
    rng = np.random.default_rng(3)
    matrix = np.eye(4)
    matrix[:3, :] = rng.normal(size=(3, 4))
    points = rng.normal(size=(50, 3))
    homogeneous = np.column_stack([points, np.ones(50)]) @ matrix.T
    np.testing.assert_allclose(transforms.transform_points(matrix, points), homogeneous[:, :3])


def test_rigid_and_affine_inverses_match_numpy():
    rng = np.random.default_rng(11)
    for _ in range(50):
        pose = random_pose(rng)
        np.testing.assert_allclose(transforms.rigid_inverse(pose), np.linalg.inv(pose), atol=1e-12)
        affine = pose.copy()
        affine[:3, :3] = affine[:3, :3] @ np.diag(rng.uniform(0.01, 50.0, size=3))
        affine[:3, :3] += rng.normal(size=(3, 3)) * 0.1  # shear
        np.testing.assert_allclose(
            transforms.affine_inverse(affine), np.linalg.inv(affine), rtol=1e-9, atol=1e-9
        )
    for bad in (np.diag([1.0, 0.0, 1.0, 1.0]), np.full((4, 4), np.nan)):
        with pytest.raises(ValueError):
            transforms.affine_inverse(bad)


def test_intrinsics_inverse_matches_numpy():
    k = camera.intrinsics(35.0, 36.0, 24.0, "AUTO", 0.1, -0.05, 640, 480, 1.0, 2.0)
    np.testing.assert_allclose(camera.intrinsics_inverse(k), np.linalg.inv(k), atol=1e-15)


def test_no_thread_spins_after_a_large_product_or_the_inverses():
    # numpy's `points @ matrix.T` on this many rows, and np.linalg.inv of a 4x4, leave
    # OpenBLAS's threads spinning for ~100 ms of CPU time after the call (measured);
    # during a render that CPU is Cycles'.
    points = np.random.default_rng(1).normal(size=(300_000, 3)).astype(np.float32)
    assert cpu_of_other_threads(transforms.apply, np.eye(3, dtype=np.float32), points) < 0.03
    pose = random_pose(np.random.default_rng(2))
    assert cpu_of_other_threads(transforms.rigid_inverse, pose) < 0.03
    assert cpu_of_other_threads(transforms.affine_inverse, pose) < 0.03
    stack = np.array([random_pose(np.random.default_rng(seed)) for seed in range(3000)])
    assert cpu_of_other_threads(transforms.affine_inverses, stack) < 0.03
    assert (
        cpu_of_other_threads(
            transforms.transform_point_sets, stack, points[:24_000].reshape(3000, 8, 3)
        )
        < 0.03
    )


def test_a_stack_of_affine_inverses_matches_numpy_and_flags_the_singular_ones():
    rng = np.random.default_rng(12)
    stack = np.array([random_pose(rng) for _ in range(40)])
    stack[:, :3, :3] *= rng.uniform(0.01, 50.0, size=(40, 1, 3))  # scaled columns
    stack[:, :3, :3] += rng.normal(size=(40, 3, 3)) * 0.1  # shear
    stack[7, :3, :3] = np.diag([1.0, 0.0, 1.0])  # scaled to nothing on one axis
    stack[9, 0, 0] = np.nan
    stack[11, 2, 3] = np.inf
    inverses, invertible = transforms.affine_inverses(stack)
    assert invertible.tolist() == [i not in (7, 9, 11) for i in range(40)]
    for index in np.flatnonzero(invertible):
        np.testing.assert_allclose(
            inverses[index], np.linalg.inv(stack[index]), rtol=1e-9, atol=1e-9
        )
        np.testing.assert_array_equal(inverses[index], transforms.affine_inverse(stack[index]))
    for index in (7, 9, 11):
        np.testing.assert_array_equal(inverses[index], np.eye(4))
    assert transforms.affine_inverses(np.zeros((0, 4, 4)))[0].shape == (0, 4, 4)
    with pytest.raises(ValueError):
        transforms.affine_inverses(np.eye(4))


def test_point_sets_give_what_one_set_at_a_time_gives():
    rng = np.random.default_rng(13)
    matrices = rng.normal(size=(25, 4, 4))
    points = rng.normal(size=(25, 8, 3)).astype(np.float32)  # Blender's bound boxes
    sets = transforms.transform_point_sets(matrices, points)
    assert sets.dtype == np.float64 and sets.shape == (25, 8, 3)
    for matrix, these, result in zip(matrices, points, sets, strict=True):
        np.testing.assert_allclose(
            result, transforms.transform_points(matrix, these), rtol=1e-14, atol=1e-14
        )
    shared = transforms.transform_point_sets(matrices[:1], points)  # one matrix for all
    for these, result in zip(points, shared, strict=True):
        np.testing.assert_allclose(
            result, transforms.transform_points(matrices[0], these), rtol=1e-14, atol=1e-14
        )
