"""core.linalg: products over many points, on the calling thread only."""

import time

import numpy as np
import pytest

from ground_truth.core import linalg


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
    process, thread = time.process_time(), time.thread_time()
    linalg.apply(rotation, points)
    time.sleep(0.3)
    other_threads = (time.process_time() - process) - (time.thread_time() - thread)
    assert other_threads < 0.03
