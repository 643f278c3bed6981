"""Object models: the triangles each instance renders, in its model frame, by content (numpy only).

An instance's **model** is every triangle its ID renders (the labelled object and its
unlabelled parts, or the copy an instancer draws: the placements of
:class:`~.amodal.SceneGeometry`, as for amodal masks) expressed in its **model frame**:
the rigid part of the labelled object's ``matrix_world`` (of the copy's, for copies).
The rigid part is the closest rotation to the matrix's 3x3 part (its polar factor; with
a mirroring scale, that rotation followed by a flip of z) and its translation, so a
model pose is always a rotation and a translation, as 6D pose benchmarks (BOP) need; the
object's scale, and the placement of its parts relative to it, are baked into the
vertices.

Vertices are quantised to :data:`QUANTUM` scene units, unused vertices dropped, and the
parts put in an order of their own content, so that a model's **key** (a hash of the
quantised vertices, the triangles and the unit scale) depends only on its shape: copies
of one source, objects sharing one mesh at the same scale, and the same object in
another frame, process or farm machine all give the same key and the same bytes. A
shape that changes (a deforming mesh, an animated scale, a part moving against its
parent) gives another model, in the frames where it differs. Copies that share their
source's ID (farm renders, Distinct Copies off) are part of that ID's model, as they are
of its amodal mask, so such a model changes whenever a copy moves.
"""

from __future__ import annotations

import hashlib
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from ..dataset.meta import to_json
from ..geometry.transforms import apply
from .amodal import Mesh, Placement, SceneGeometry, placements_by_id

# Model vertices are multiples of this many scene units (1 micrometre in metres).
QUANTUM = 1e-6
# Hex digits of a model's key.
KEY_DIGITS = 16
_POLAR_STEPS = 60
# What a meta entry gets from its instance's model.
MODEL_FIELDS = ("model", "model_pose_world", "model_pose_camera_cv")


@dataclass(frozen=True)
class Model:
    """One instance's model: float32 Nx3 ``vertices`` in the model frame (scene units),
    int32 Mx3 ``triangles``, its ``key``, and ``pose``: the 4x4 rigid transform from
    the model frame to the world."""

    key: str
    vertices: np.ndarray
    triangles: np.ndarray
    pose: np.ndarray


def _inverse3(a: np.ndarray) -> np.ndarray | None:
    """The inverse of a 3x3 matrix in closed form (None when singular)."""
    cofactors = np.cross(a[[1, 2, 0]], a[[2, 0, 1]])  # rows r1 x r2, r2 x r0, r0 x r1
    det = float(a[0] @ cofactors[0])
    scale = float(np.abs(a).max()) ** 3
    if not np.isfinite(det) or scale == 0.0 or abs(det) <= 1e-12 * scale:
        return None
    return cofactors.T / det


def rotation_part(matrix: np.ndarray) -> np.ndarray | None:
    """The rotation (det +1) of a 3x3 matrix with scale: its closest orthogonal matrix.

    That is the polar factor ``Q`` of ``A = Q P`` (``P`` symmetric positive definite),
    found by Newton's scaled iteration ``X <- (g X + X^-T / g) / 2``; for ``A = R S``
    with ``S`` a diagonal scale it is ``R``. A mirroring matrix (det < 0) gives ``Q``
    with its z column negated, so that the mirror stays in the model. None for a
    singular or non-finite matrix (an object scaled to nothing).
    """
    x = np.asarray(matrix, dtype=np.float64)[:3, :3].copy()
    if not np.isfinite(x).all():
        return None
    for _ in range(_POLAR_STEPS):
        inverse = _inverse3(x)
        if inverse is None:
            return None
        gamma = np.sqrt(np.linalg.norm(inverse) / np.linalg.norm(x))
        step = 0.5 * (gamma * x + inverse.T / gamma)
        done = np.abs(step - x).max() <= 1e-15
        x = step
        if done:
            break
    if x[0] @ np.cross(x[1], x[2]) < 0:
        x[:, 2] = -x[:, 2]
    return x


def rigid_part(matrix: np.ndarray) -> np.ndarray | None:
    """The 4x4 rigid transform (:func:`rotation_part` and translation) of an affine one."""
    rotation = rotation_part(matrix)
    if rotation is None:
        return None
    rigid = np.eye(4)
    rigid[:3, :3] = rotation
    rigid[:3, 3] = np.asarray(matrix, dtype=np.float64)[:3, 3]
    return rigid


def _part(mesh: Mesh, to_model: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """One placed mesh in the model frame: (int64 quantised vertices, int64 triangles)."""
    triangles = np.asarray(mesh.triangles, dtype=np.int64).reshape(-1, 3)
    if not len(triangles):
        return None
    vertices = np.asarray(mesh.vertices).reshape(-1, 3)
    used = np.zeros(len(vertices), dtype=bool)
    used[triangles.ravel()] = True
    remap = np.cumsum(used) - 1  # new index of each used vertex, in the mesh's order
    moved = apply(to_model[:3, :3], vertices[used].astype(np.float64)) + to_model[:3, 3]
    if not np.isfinite(moved).all():
        return None
    return np.rint(moved / QUANTUM).astype(np.int64), remap[triangles]


def model_key(vertices_q: np.ndarray, triangles: np.ndarray, metres_per_unit: float) -> str:
    """The key of a model: hex digits of a SHA-256 of its quantised content and unit."""
    digest = hashlib.sha256()
    digest.update(f"ground-truth model 1 {QUANTUM!r} {float(metres_per_unit)!r}\n".encode())
    digest.update(np.ascontiguousarray(vertices_q, dtype="<i8").tobytes())
    digest.update(np.ascontiguousarray(triangles, dtype="<i4").tobytes())
    return digest.hexdigest()[:KEY_DIGITS]


def instance_model(
    placements: Iterable[Placement],
    meshes: Mapping[Hashable, Mesh],
    owner_matrix: np.ndarray,
    metres_per_unit: float = 1.0,
) -> Model | None:
    """The model of the triangles of ``placements`` in the frame of ``owner_matrix``.

    ``owner_matrix`` is the labelled object's (or the copy's) world matrix; its
    :func:`rigid_part` is the model's pose. None without triangles, or when the owner is
    scaled to nothing.
    """
    pose = rigid_part(owner_matrix)
    if pose is None:
        return None
    to_local = np.eye(4)
    to_local[:3, :3] = pose[:3, :3].T
    to_local[:3, 3] = -(pose[:3, :3].T @ pose[:3, 3])
    parts = []
    for placement in placements:
        found = _part(meshes[placement.mesh], to_local @ np.asarray(placement.matrix, float))
        if found is not None:
            parts.append(found)
    if not parts:
        return None
    if len(parts) > 1:
        # An order of the parts' own content: the depsgraph's order is not the shape's.
        parts.sort(key=lambda p: hashlib.sha256(p[0].tobytes() + p[1].tobytes()).digest())
    offsets = np.cumsum([0] + [len(p[0]) for p in parts[:-1]])
    vertices_q = np.concatenate([p[0] for p in parts])
    triangles = np.concatenate([p[1] + o for p, o in zip(parts, offsets, strict=True)])
    return Model(
        key=model_key(vertices_q, triangles, metres_per_unit),
        vertices=(vertices_q * QUANTUM).astype(np.float32),
        triangles=triangles.astype(np.int32),
        pose=pose,
    )


def frame_models(
    geometry: SceneGeometry,
    entries: Iterable[Mapping],
    copy_ids: Mapping[tuple, int] | None = None,
    metres_per_unit: float = 1.0,
) -> dict[int, Model | None]:
    """``{instance ID: Model or None}`` of a frame's instances.

    ``entries`` are the frame's meta inputs (``id``, ``object``, ``matrix_world``:
    labelled objects and copies); an ID's model frame is its first entry's by object
    name. ``copy_ids`` joins copies to their IDs (:func:`~.amodal.placements_by_id`).
    """
    owners: dict[int, Mapping] = {}
    for entry in sorted(entries, key=lambda e: (int(e["id"]), str(e["object"]))):
        owners.setdefault(int(entry["id"]), entry)
    groups = placements_by_id(geometry, copy_ids)
    return {
        ident: instance_model(
            groups.get(ident, ()), geometry.meshes, owner["matrix_world"], metres_per_unit
        )
        for ident, owner in owners.items()
    }


def meta_fields(
    models: Mapping[int, Model | None],
    world_to_camera_cv: np.ndarray,
    fields: Mapping[int, Mapping] | None = None,
) -> dict[int, dict]:
    """``{id: fields}`` each meta entry of an instance gets: ``model`` (its key, None
    without one), ``model_pose_world`` and ``model_pose_camera_cv`` (4x4 rigid, None
    without a model), after the ``fields`` it already gets (amodal ones)."""
    w2c = np.asarray(world_to_camera_cv, dtype=np.float64)
    result = {int(k): dict(v) for k, v in (fields or {}).items()}
    for ident, model in models.items():
        entry = result.setdefault(int(ident), {})
        if model is None:
            entry.update(dict.fromkeys(MODEL_FIELDS))
            continue
        entry.update(
            to_json(
                {
                    "model": model.key,
                    "model_pose_world": model.pose,
                    "model_pose_camera_cv": w2c @ model.pose,
                }
            )
        )
    return result
