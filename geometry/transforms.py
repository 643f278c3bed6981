"""Affine transforms of point sets, and the inverse of a rigid pose, on the calling thread.

numpy hands ``points @ matrix.T`` on many points (and ``np.linalg.inv``) to OpenBLAS,
whose worker threads then spin for a while waiting for more work; during a render that
CPU time is taken from Cycles, at normal priority. ``np.einsum`` without ``optimize``
loops in C on the calling thread, and a rigid pose is inverted in closed form. The
benchmark and ``tests/geometry/test_transforms.py`` measure that no other thread burns
CPU after a frame's geometry work.
"""

from __future__ import annotations

import numpy as np


def apply(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    """``points @ matrix.T`` for Nxk ``points`` and an mxk ``matrix``: Nxm, on this thread.

    The result has the common type of both (float32 stays float32).
    """
    return np.einsum("ij,kj->ik", points, matrix)


def transform_points(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Apply a 4x4 affine matrix to Nx3 points; return Nx3 float64.

    Only the affine part is used (``M[:3, :3] @ p + M[:3, 3]``); there is no
    perspective divide.
    """
    m = np.asarray(matrix, dtype=np.float64)
    if m.shape != (4, 4):
        raise ValueError(f"expected a 4x4 matrix, got shape {m.shape}")
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 3)
    return apply(m[:3, :3], pts) + m[:3, 3]


def rigid_inverse(matrix: np.ndarray) -> np.ndarray:
    """The inverse of a 4x4 rigid transform (rotation and translation, no scale).

    ``[R | t]^-1 = [R^T | -R^T t]``: exact for the camera poses and world-to-camera
    matrices of :mod:`.camera`, whose rotations are orthonormal.
    """
    m = np.asarray(matrix, dtype=np.float64)
    if m.shape != (4, 4):
        raise ValueError(f"expected a 4x4 matrix, got shape {m.shape}")
    rotation = m[:3, :3].T
    inverse = np.eye(4)
    inverse[:3, :3] = rotation
    inverse[:3, 3] = -(rotation @ m[:3, 3])
    return inverse


def affine_inverse(matrix: np.ndarray) -> np.ndarray:
    """The inverse of a 4x4 affine transform (rotation, scale, shear, translation).

    The 3x3 part ``A`` with columns ``a, b, c`` is inverted by the closed form
    ``A^-1 = [b x c, c x a, a x b]^T / det(A)``; then ``t -> -A^-1 t``. Raises
    :class:`ValueError` when ``A`` is singular or not finite (an object scaled to 0).
    """
    m = np.asarray(matrix, dtype=np.float64)
    if m.shape != (4, 4):
        raise ValueError(f"expected a 4x4 matrix, got shape {m.shape}")
    a, b, c = m[:3, 0], m[:3, 1], m[:3, 2]
    rows = np.array([np.cross(b, c), np.cross(c, a), np.cross(a, b)])
    det = float(np.dot(a, rows[0]))
    if det == 0.0 or not np.isfinite(det) or not np.isfinite(m).all():
        raise ValueError("the matrix has no inverse (zero scale or not finite)")
    inverse = np.eye(4)
    inverse[:3, :3] = rows / det
    inverse[:3, 3] = -(inverse[:3, :3] @ m[:3, 3])
    return inverse
