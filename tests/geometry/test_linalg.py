"""core.linalg: products over many points, on the calling thread only."""

import time

import numpy as np
import pytest

from ground_truth.geometry import linalg


def cpu_of_other_threads(function, *args):
    """CPU seconds that threads other than this one spend during and 0.3 s after the call."""
    time.sleep(0.3)  # whatever ran before has settled
    process, thread = time.process_time(), time.thread_time()
    function(*args)
    time.sleep(0.3)
    return (time.process_time() - process) - (time.thread_time() - thread)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_apply_is_points_times_the_transposed_matrix(dtype):
    rng = np.random.default_rng(7)
    points = rng.normal(size=(1000, 3)).astype(dtype)
    matrix = rng.normal(size=(2, 3)).astype(dtype)
    result = linalg.apply(matrix, points)
    assert result.shape == (1000, 2) and result.dtype == dtype
    np.testing.assert_allclose(result, points @ matrix.T, rtol=1e-5, atol=1e-5)


def test_apply_leaves_no_thread_spinning_after_a_large_product():
    # numpy's `points @ matrix.T` on this many rows leaves OpenBLAS's threads spinning
    # for ~100 ms of CPU time after the call (measured); that CPU is Cycles' during a render.
    points = np.random.default_rng(1).normal(size=(300_000, 3)).astype(np.float32)
    rotation = np.eye(3, dtype=np.float32)
    assert cpu_of_other_threads(linalg.apply, rotation, points) < 0.03


@pytest.mark.parametrize("size", [2, 3, 4])
def test_inv_matches_numpy_on_random_and_permuted_matrices(size):
    rng = np.random.default_rng(size)
    for _ in range(50):
        matrix = rng.normal(size=(size, size)) * rng.uniform(0.01, 100.0)
        np.testing.assert_allclose(linalg.inv(matrix), np.linalg.inv(matrix), rtol=1e-9, atol=1e-9)
    # A zero on the diagonal needs a row swap.
    swap = np.eye(size)[::-1] * 3.0
    np.testing.assert_allclose(linalg.inv(swap) @ swap, np.eye(size), atol=1e-12)


def test_inv_of_a_camera_pose_and_of_bad_matrices():
    pose = np.eye(4)
    pose[:3, :3] = [[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]
    pose[:3, 3] = [1.0, 2.0, 3.0]
    expected = np.eye(4)
    expected[:3, :3] = pose[:3, :3].T
    expected[:3, 3] = -pose[:3, :3].T @ pose[:3, 3]
    np.testing.assert_allclose(linalg.inv(pose), expected, atol=1e-15)
    for bad in (np.diag([1.0, 0.0, 1.0]), np.full((3, 3), np.nan), np.ones((2, 3))):
        with pytest.raises(np.linalg.LinAlgError):
            linalg.inv(bad)


def test_inv_leaves_no_thread_spinning():
    # numpy's np.linalg.inv of a 4x4 leaves OpenBLAS's threads spinning ~100 ms (measured).
    matrix = np.random.default_rng(2).normal(size=(4, 4))
    assert cpu_of_other_threads(linalg.inv, matrix) < 0.03
