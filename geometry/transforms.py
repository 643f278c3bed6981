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


def transform_point_sets(matrices: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Apply K affine 4x4 ``matrices`` (Kx4x4, or 1x4x4 for all) to K point sets (KxNx3).

    Returns KxNx3 float64: what :func:`transform_points` gives for each pair (to the
    last bit of rounding), for all sets in a few numpy calls on this thread.
    """
    m = np.asarray(matrices, dtype=np.float64)
    if m.ndim != 3 or m.shape[1:] != (4, 4):
        raise ValueError(f"expected Kx4x4 matrices, got shape {m.shape}")
    pts = np.asarray(points, dtype=np.float64)
    rotation = m[:, None, :3, :3]
    result = pts[..., 0:1] * rotation[..., 0]
    result += pts[..., 1:2] * rotation[..., 1]
    result += pts[..., 2:3] * rotation[..., 2]
    result += m[:, None, :3, 3]
    return result


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


def affine_inverses(matrices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The inverses of a stack of 4x4 affine transforms, and which of them have one.

    ``matrices`` is Nx4x4. Each 3x3 part ``A`` with columns ``a, b, c`` is inverted by
    the closed form ``A^-1 = [b x c, c x a, a x b]^T / det(A)``, then ``t -> -A^-1 t``,
    all N at once on this thread. Returns ``(inverses, invertible)``: Nx4x4 float64 and
    an N-long bool array, False where ``A`` is singular or the matrix not finite (an
    object scaled to 0); those inverses are the identity.
    """
    m = np.asarray(matrices, dtype=np.float64)
    if m.ndim != 3 or m.shape[1:] != (4, 4):
        raise ValueError(f"expected Nx4x4 matrices, got shape {m.shape}")
    a, b, c = m[:, :3, 0], m[:, :3, 1], m[:, :3, 2]
    with np.errstate(invalid="ignore", over="ignore"):  # not finite: found below
        rows = np.stack([np.cross(b, c), np.cross(c, a), np.cross(a, b)], axis=1)
        det = np.einsum("ij,ij->i", a, rows[:, 0])
    invertible = (det != 0.0) & np.isfinite(det) & np.isfinite(m).all(axis=(1, 2))
    inverses = np.broadcast_to(np.eye(4), m.shape).copy()
    scale = np.where(invertible, det, 1.0)
    inverses[invertible, :3, :3] = (rows / scale[:, None, None])[invertible]
    inverses[invertible, :3, 3] = -np.einsum(
        "nij,nj->ni", inverses[invertible, :3, :3], m[invertible, :3, 3]
    )
    return inverses, invertible


def affine_inverse(matrix: np.ndarray) -> np.ndarray:
    """The inverse of a 4x4 affine transform (rotation, scale, shear, translation).

    See :func:`affine_inverses`. Raises :class:`ValueError` when the 3x3 part is
    singular or the matrix not finite (an object scaled to 0).
    """
    m = np.asarray(matrix, dtype=np.float64)
    if m.shape != (4, 4):
        raise ValueError(f"expected a 4x4 matrix, got shape {m.shape}")
    inverses, invertible = affine_inverses(m[None])
    if not invertible[0]:
        raise ValueError("the matrix has no inverse (zero scale or not finite)")
    return inverses[0]
