"""Matrix products over many points that stay on the calling thread.

numpy hands ``points @ matrix`` to BLAS. OpenBLAS, which numpy ships with, splits a
product of more than about 30000 rows over worker threads that then spin, waiting for
more work, for about 0.1 s of CPU time (measured: one 300000x3 by 3x3 product takes
0.6 ms on the calling thread and 100 ms of CPU on another core). During a render that
CPU is taken from Cycles, and the spinning threads do not share the writer thread's
low priority. ``np.einsum`` without ``optimize`` loops in C on the calling thread.
"""

from __future__ import annotations

import numpy as np


def apply(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    """``points @ matrix.T`` for Nxk ``points`` and an mxk ``matrix``: Nxm, on this thread.

    The result has the common type of both (float32 stays float32).
    """
    return np.einsum("ij,kj->ik", points, matrix)
