"""The object models of a dataset: ``models/<key>.ply``, and reading them back.

One file per distinct model (:mod:`ground_truth.labels.models` says what a model is and
how its key is made), a binary little-endian PLY (:mod:`ground_truth.codecs.ply`) with
float32 vertices in **scene units** (metres with the default unit scale, the units of
the meta) in the model frame, triangles, and header comments::

    comment ground_truth model <key>
    comment metres_per_unit <the scene's Unit Scale>

The meta of a frame names each instance's model (``"model": key``) and gives the model's
pose (``model_pose_world``, ``model_pose_camera_cv``: rigid 4x4). A model's file is
written once, atomically; every process that makes the same model writes the same bytes,
so farm processes and resumed runs may write it again without harm.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from ..codecs import atomic, ply

FOLDER = "models"
EXTENSION = ".ply"
_KEY = re.compile(r"^[0-9a-f]{16}$")
_PREFIX = "ground_truth model "
_UNIT = "metres_per_unit "


@dataclass(frozen=True)
class DatasetModel:
    """A model read from a dataset: float32 Nx3 ``vertices`` (scene units), int64 Mx3
    ``triangles``, its ``key`` and ``metres_per_unit``."""

    key: str
    vertices: np.ndarray
    triangles: np.ndarray
    metres_per_unit: float


def model_path(root: str | os.PathLike[str], key: str) -> str:
    """``root/models/<key>.ply``; a key that is not 16 hex digits raises ValueError."""
    if not isinstance(key, str) or not _KEY.match(key):
        raise ValueError(f"{key!r} is not a model key (16 hex digits)")
    return os.path.join(os.fspath(root), FOLDER, key + EXTENSION)


def model_bytes(key: str, vertices: np.ndarray, triangles: np.ndarray, metres_per_unit: float):
    """The content of a model's file."""
    return ply.encode_ply(
        vertices,
        triangles,
        comments=(f"{_PREFIX}{key}", f"{_UNIT}{float(metres_per_unit)!r}"),
    )


def write_models(root: str | os.PathLike[str], models: Iterable, metres_per_unit: float) -> list:
    """Write the files of ``models`` (:class:`~ground_truth.labels.models.Model`, None
    skipped) that the dataset does not hold yet; returns the paths written.

    A file already there with the right size is left alone (its name is its content's
    hash); one of another size (damaged) is written again.
    """
    written = []
    for model in models:
        if model is None:
            continue
        path = model_path(root, model.key)
        data = model_bytes(model.key, model.vertices, model.triangles, metres_per_unit)
        try:
            if os.path.getsize(path) == len(data) and not os.path.islink(path):
                continue
        except OSError:
            pass
        os.makedirs(os.path.dirname(path), exist_ok=True)
        atomic.atomic_write_bytes(path, data)
        written.append(path)
    return written


def read_model(root: str | os.PathLike[str], key: str) -> DatasetModel:
    """The model ``key`` of the dataset in ``root``.

    A missing file raises FileNotFoundError; a damaged one, or one that is not the
    model it is named for, ValueError.
    """
    path = model_path(root, key)
    mesh = ply.read_ply(path)
    names = [c[len(_PREFIX) :] for c in mesh.comments if c.startswith(_PREFIX)]
    units = [c[len(_UNIT) :] for c in mesh.comments if c.startswith(_UNIT)]
    if names != [key] or len(units) != 1:
        raise ValueError(f"{path} is not Ground Truth's model {key}")
    return DatasetModel(key, mesh.vertices.astype(np.float32), mesh.triangles, float(units[0]))


def model_keys(root: str | os.PathLike[str]) -> list[str]:
    """The keys of the models the dataset holds, sorted."""
    folder = os.path.join(os.fspath(root), FOLDER)
    if not os.path.isdir(folder):
        return []
    return sorted(
        name[: -len(EXTENSION)]
        for name in os.listdir(folder)
        if name.endswith(EXTENSION) and _KEY.match(name[: -len(EXTENSION)])
    )
