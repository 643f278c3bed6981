"""Planning of instance IDs (Blender's ``Object.pass_index``), and Blender-style unique names.

Rules (see :func:`plan_instance_ids`): every labelled object (class_id > 0) gets a
unique instance ID; IDs already assigned are kept when possible so that labelling a new
object never renumbers the others; unlabelled objects inherit the instance ID and class
of their nearest labelled ancestor ("part of the parent's instance"), else 0.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

MAX_ID = 32767
"""Largest value Blender allows for ``Object.pass_index``."""
MAX_ID_16 = 65535
"""Largest ID a 16-bit instance map holds (copies get IDs above MAX_ID too)."""
MAX_ID_32 = 2**32 - 1
"""Largest ID a 32-bit instance map holds."""


def instance_id_limit(outputs) -> int:
    """The largest instance ID a run writing ``outputs`` can hold: a 32-bit map's when
    it writes the 32-bit instance map and not the 16-bit PNG, else 65535."""
    if "instance32" in outputs and "instance" not in outputs:
        return MAX_ID_32
    return MAX_ID_16


class IdSpaceFull(ValueError):  # noqa: N818 - public name fixed by the API
    """Raised when no free ID is left in 1..MAX_ID (or the requested range)."""


@dataclass(frozen=True)
class ObjectEntry:
    """One scene object as the ID planner sees it.

    ``class_id`` > 0 marks a labelled object; ``instance_id`` is its current pass index
    (0 if none); ``parent`` is the parent object's name or ``None``.
    """

    name: str
    class_id: int
    instance_id: int = 0
    parent: str | None = None


def smallest_free_id(used: Iterable[int], start: int = 1, limit: int = MAX_ID) -> int:
    """Return the smallest integer in ``start..limit`` (inclusive) not in ``used``.

    Raises :class:`IdSpaceFull` when every ID in the range is taken.
    """
    taken = set(used)
    for candidate in range(start, limit + 1):
        if candidate not in taken:
            return candidate
    raise IdSpaceFull(f"no free ID left between {start} and {limit}")


def _by_name(objects: Iterable[ObjectEntry]) -> dict[str, ObjectEntry]:
    """Index objects by name, rejecting duplicate names."""
    index: dict[str, ObjectEntry] = {}
    for obj in objects:
        if obj.name in index:
            raise ValueError(f"duplicate object name {obj.name!r}")
        index[obj.name] = obj
    return index


def _nearest_labelled_ancestor(obj: ObjectEntry, index: dict[str, ObjectEntry]) -> str | None:
    """Return the name of the closest ancestor with class_id > 0, or ``None``.

    Parents not present in ``index`` end the walk; a cycle (impossible in Blender)
    ends it too.
    """
    seen = {obj.name}
    parent = obj.parent
    while parent is not None and parent in index and parent not in seen:
        ancestor = index[parent]
        if ancestor.class_id > 0:
            return ancestor.name
        seen.add(parent)
        parent = ancestor.parent
    return None


def plan_instance_ids(objects: Iterable[ObjectEntry]) -> dict[str, int]:
    """Return ``{name: pass index}`` for every object given.

    - Each labelled object (class_id > 0) gets a unique ID in 1..MAX_ID.
    - A labelled object keeps its current ``instance_id`` (if in 1..MAX_ID) unless
      another labelled object claims the same ID and sorts first by name (e.g. after
      Shift+D duplication: the original ``"Car"`` keeps it, ``"Car.001"`` gets a new one).
    - The others receive the smallest free IDs, assigned in name order.
    - An unlabelled object gets the ID of its nearest labelled ancestor, else 0.

    Raises :class:`IdSpaceFull` if there are more than MAX_ID labelled objects and
    :class:`ValueError` for duplicate names.
    """
    index = _by_name(objects)
    labelled = sorted(name for name, obj in index.items() if obj.class_id > 0)
    if len(labelled) > MAX_ID:
        raise IdSpaceFull(
            f"{len(labelled)} labelled objects, but at most {MAX_ID} instance IDs exist"
        )
    result: dict[str, int] = {}
    used: set[int] = set()
    pending: list[str] = []
    for name in labelled:
        current = index[name].instance_id
        if 1 <= current <= MAX_ID and current not in used:
            result[name] = current
            used.add(current)
        else:
            pending.append(name)
    candidate = 1
    for name in pending:
        while candidate in used:
            candidate += 1
        if candidate > MAX_ID:  # unreachable given the count check; kept as a guard
            raise IdSpaceFull(f"no free instance ID left for {name!r}")
        result[name] = candidate
        used.add(candidate)
    for name, obj in index.items():
        if obj.class_id <= 0:
            ancestor = _nearest_labelled_ancestor(obj, index)
            result[name] = result[ancestor] if ancestor is not None else 0
    return {name: result[name] for name in index}


_NUMBER_SUFFIX = re.compile(r"\.\d{3,}$")


def unique_name(base: str, taken: Iterable[str]) -> str:
    """Return ``base`` if not taken, else the first free ``base.001``, ``base.002``, ...

    Like Blender, a numeric suffix already on ``base`` is replaced rather than extended
    (``"Car.001"`` taken -> ``"Car.002"``, not ``"Car.001.001"``).
    """
    taken_set = set(taken)
    if base not in taken_set:
        return base
    stem = _NUMBER_SUFFIX.sub("", base)
    number = 1
    while True:
        candidate = f"{stem}.{number:03d}"
        if candidate not in taken_set:
            return candidate
        number += 1
