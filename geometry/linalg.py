"""Matrix products and inverses that stay on the calling thread.

numpy hands ``points @ matrix`` and ``np.linalg.inv`` to OpenBLAS, which splits a
product of more than about 30000 rows, and every inverse however small, over worker
threads that then spin, waiting for more work, for about 0.1 s of CPU time (measured:
one 300000x3 by 3x3 product takes 0.6 ms on the calling thread and 100 ms of CPU on
another core; a 4x4 inverse 0.5 ms and 100 ms). During a render that CPU is taken from
Cycles, and the spinning threads do not share the writer thread's low priority.
``np.einsum`` without ``optimize`` loops in C on the calling thread, and the small
inverses here are plain Gauss-Jordan elimination.
"""

from __future__ import annotations

import numpy as np


def apply(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    """``points @ matrix.T`` for Nxk ``points`` and an mxk ``matrix``: Nxm, on this thread.

    The result has the common type of both (float32 stays float32).
    """
    return np.einsum("ij,kj->ik", points, matrix)


def inv(matrix: np.ndarray) -> np.ndarray:
    """The inverse of a small square matrix (float64), on this thread.

    Gauss-Jordan elimination with partial pivoting. Raises ``numpy.linalg.LinAlgError``
    for a singular or non-finite matrix, as ``np.linalg.inv`` does.
    """
    a = np.array(matrix, dtype=np.float64)
    if a.ndim != 2 or a.shape[0] != a.shape[1]:
        raise np.linalg.LinAlgError(f"expected a square matrix, got shape {a.shape}")
    if not np.isfinite(a).all():
        raise np.linalg.LinAlgError("Matrix has non-finite values")
    size = a.shape[0]
    result = np.eye(size)
    for column in range(size):
        pivot = column + int(np.argmax(np.abs(a[column:, column])))
        if a[pivot, column] == 0.0:
            raise np.linalg.LinAlgError("Singular matrix")
        if pivot != column:
            a[[column, pivot]] = a[[pivot, column]]
            result[[column, pivot]] = result[[pivot, column]]
        scale = a[column, column]
        a[column] /= scale
        result[column] /= scale
        factors = a[:, column].copy()
        factors[column] = 0.0
        a -= np.outer(factors, a[column])
        result -= np.outer(factors, result[column])
    return result
