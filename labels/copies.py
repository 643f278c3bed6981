"""Distinct instance IDs for the copies Blender draws from one object (bpy-free).

Collection instances, particles and geometry-nodes instances all carry one object's
pass index in the Object Index pass. To tell the copies apart, the render also writes,
from a one-sample view layer whose first sample is the main layer's first sample, each
pixel's Object Info "Random" value (a float32 that differs per copy) and the copy's
location. ``assign_copy_ids`` turns those into each copy's own, stable instance ID.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from ..errors import GroundTruthError
from .ids import MAX_ID

# The view-layer AOVs the copy layer writes (names shared by the shader and the layer).
RANDOM_AOV = "gt_copy_random"
LOCATION_AOV = "gt_copy_location"


class TooManyInstancesError(GroundTruthError):
    """More instances than a 16-bit instance map can hold."""


@dataclass(frozen=True)
class Copy:
    """One copy drawn by an instancer.

    ``key`` identifies the copy across frames (instancer and Blender's persistent ID),
    ``carried`` is the pass index its pixels carry in the Object Index pass, ``random``
    its Object Info Random value as float32 and ``location`` its world location.
    """

    key: tuple
    carried: int
    random: float
    location: tuple[float, float, float]


def random_value(random_id: int) -> np.float32:
    """Cycles' Object Info Random of an instance from ``DepsgraphObjectInstance.random_id``.

    Cycles computes it in single precision: ``float(id) * (1.0f / float(0xFFFFFFFF))``.
    """
    scale = np.float32(1.0) / np.float32(0xFFFFFFFF)
    return np.float32(np.float32(int(random_id) & 0xFFFFFFFF) * scale)


# Values within this many float32 steps of a copy's Random match it.
RANDOM_TOLERANCE_ULP = 4


class CopyTable:
    """Stable instance IDs for copies: a copy keeps its ID while it exists.

    New copies get the smallest IDs above ``first_id`` not yet used (IDs of earlier
    frames or runs are passed in ``known``).
    """

    def __init__(self, first_id: int, known: Mapping[tuple, int] | None = None) -> None:
        self.ids: dict[tuple, int] = dict(known or {})
        self._next = max([first_id - 1, *self.ids.values()]) + 1

    def id_of(self, key: tuple) -> int:
        """The instance ID of the copy ``key``, allocating one the first time."""
        if key not in self.ids:
            if self._next > MAX_ID:
                raise TooManyInstancesError(
                    f"More than {MAX_ID} instances: the 16-bit instance map cannot hold them. "
                    "Label fewer copies or render the scene in parts"
                )
            self.ids[key] = self._next
            self._next += 1
        return self.ids[key]


def assign_copy_ids(
    instance: np.ndarray,
    random: np.ndarray,
    location: np.ndarray,
    copies: Iterable[Copy],
    table: CopyTable,
) -> np.ndarray:
    """Give every pixel that shows a copy the copy's own instance ID.

    ``instance``: the uint16 instance map from the Object Index pass; ``random``:
    float32 HxW Random values; ``location``: float32 HxWx3 object locations; the
    three from the same first sample. Pixels whose (carried index, Random) matches no
    copy keep their value (the object itself, not a copy). When two copies share a
    Random value, the nearer location decides. Returns a new uint16 map.
    """
    by_key: dict[tuple[int, int], list[tuple[Copy, int]]] = {}
    for copy in copies:
        bits = int(np.float32(copy.random).view(np.uint32))
        by_key.setdefault((copy.carried, bits), []).append((copy, table.id_of(copy.key)))
    if not by_key:
        return instance.copy()
    carried = {carried for carried, _bits in by_key}
    candidates = np.isin(instance, list(carried))
    result = instance.copy()
    if not candidates.any():
        return result
    rows, cols = np.nonzero(candidates)
    keys = (instance[rows, cols].astype(np.uint64) << np.uint64(32)) | random[rows, cols].astype(
        np.float32
    ).view(np.uint32).astype(np.uint64)
    unique, inverse = np.unique(keys, return_inverse=True)
    for position, key in enumerate(unique.tolist()):
        matches = _matches(by_key, key >> 32, key & 0xFFFFFFFF)
        if not matches:
            continue
        where = inverse == position
        if len(matches) == 1:
            result[rows[where], cols[where]] = matches[0][1]
            continue
        # Same Random value: the nearest copy location wins, pixel by pixel.
        points = location[rows[where], cols[where]].astype(np.float64)
        centres = np.array([m[0].location for m in matches], dtype=np.float64)
        nearest = np.argmin(((points[:, None, :] - centres[None]) ** 2).sum(axis=2), axis=1)
        ids = np.array([m[1] for m in matches], dtype=np.uint16)
        result[rows[where], cols[where]] = ids[nearest]
    return result


def _matches(by_key, carried, bits):
    """Copies whose Random is ``bits`` (as float32 bits), or within a few steps of it."""
    exact = by_key.get((carried, bits))
    if exact:
        return exact
    for step in range(1, RANDOM_TOLERANCE_ULP + 1):
        for near in (bits - step, bits + step):
            found = by_key.get((carried, near))
            if found:
                return found
    return None
