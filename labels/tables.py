"""The class table and instance table of a run, as frozen values (no Blender).

Read from the scene once before the first frame (``scene.classes.label_table``), so
that the render's writer thread never touches Blender data.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class ClassEntry:
    """A class of the class table; ``stuff`` marks amorphous regions (floors, walls, sky)
    as opposed to countable things."""

    id: int
    name: str
    color: tuple[float, float, float]
    stuff: bool = False


@dataclass(frozen=True)
class InstanceEntry:
    """A labelled object and the instance ID it renders with."""

    id: int
    object: str
    class_id: int


@dataclass(frozen=True)
class LabelTable:
    """The class table and the planned instance table of a run."""

    classes: tuple[ClassEntry, ...] = ()
    instances: tuple[InstanceEntry, ...] = ()
    class_ids: frozenset[int] = field(default=frozenset(), init=False)

    def __post_init__(self):
        object.__setattr__(self, "class_ids", frozenset(c.id for c in self.classes))

    def class_dicts(self) -> list[dict]:
        """The classes as ``dataset.json`` lists them (id, name, color)."""
        return [asdict(c) for c in self.classes]

    def instance_dicts(self) -> list[dict]:
        """The instances as ``dataset.json`` lists them (id, object, class_id)."""
        return [asdict(i) for i in self.instances]
