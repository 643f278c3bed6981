"""What every export shares: the source dataset, splits, frame names, the output folder,
images, and how much of each object is cut off or hidden.

The source is read, never written: an export writes into a new folder next to the
requested output (``.NAME.export-PID-N``) and renames it into place when every file is
written, so a failed or interrupted export leaves no half-written output.

Classes
-------
A class is *stuff* (floors, walls, sky: amorphous regions, one segment per class in a
panoptic image) when its ``dataset.json`` entry has ``"stuff": true``; else (also when
the flag is absent, as in datasets written before it existed) it is a *thing* (countable
objects with instances). The object formats (YOLO, VOC, KITTI, MOT) export things only;
COCO panoptic exports both.

Truncation and occlusion
------------------------
*Truncation* (0..1) is how much of an object lies outside the image. A meta entry's
``truncation`` is used when present; otherwise it is computed from the object's 3D box
(``box3d_camera_cv``): the box, clipped to the part in front of the camera's near clip
plane, is projected with ``K`` and truncation = 1 - (area of its 2D bounding rectangle
inside the image) / (area of the rectangle). A box entirely behind the near plane reads 1.
*Visible fraction* (meta ``visible_fraction``, optional) is how much of the object's
in-image silhouette is not hidden by other surfaces; without it, occlusion is unknown.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

from ..dataset import description, layout, maps, meta
from ..errors import GroundTruthError
from ..geometry import boxes as box_geometry
from ..geometry import camera as camera_geometry

MANIFEST_FILE = "ground-truth-export.json"
SPLITS = ("train", "val")

# Occlusion levels (KITTI's): 0 fully visible, 1 partly occluded, 2 largely occluded,
# 3 unknown. Fully visible from this visible fraction on; largely occluded below the other.
FULLY_VISIBLE = 0.95
LARGELY_OCCLUDED = 0.5
OCCLUSION_UNKNOWN = 3


class ExportArgumentError(ValueError):
    """An export option that does not fit the format or is out of range (exit code 2)."""


@dataclass(frozen=True)
class ClassInfo:
    """One class of the dataset's class table."""

    id: int
    name: str
    color: tuple[float, float, float]
    stuff: bool


@dataclass
class FramePlan:
    """One exported frame: its frame number, split, file stem in the export and index."""

    frame: int
    split: str
    name: str
    index: int


@dataclass
class Report:
    """What an export wrote, for the command line and for tests."""

    format: str
    output: str
    frames: int = 0
    labels: int = 0
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)


class Source:
    """A Ground Truth dataset opened for reading (never for writing)."""

    def __init__(self, root: str | os.PathLike[str]):
        root = os.path.abspath(os.fspath(root))
        if not os.path.isdir(root):
            raise GroundTruthError(f"{root} is not a folder")
        try:
            data = description.read(root, strict=True)
        except description.ForeignDatasetError as error:
            raise GroundTruthError(str(error)) from None
        if data is None:
            raise GroundTruthError(
                f"{root} has no {layout.DATASET_FILE}: not a Ground Truth dataset"
            )
        self.root = root
        self.data = data
        resolution = data.get("resolution") or {}
        self.width = int(resolution.get("width", 0))
        self.height = int(resolution.get("height", 0))
        self.classes = [
            ClassInfo(
                id=int(c["id"]),
                name=str(c["name"]),
                color=tuple(float(v) for v in c.get("color", (1.0, 1.0, 1.0)))[:3],
                stuff=bool(c.get("stuff", False)),
            )
            for c in sorted(data.get("classes", []), key=lambda c: int(c["id"]))
            if int(c["id"]) > 0
        ]
        self.class_by_id = {c.id: c for c in self.classes}
        self.frames = sorted({int(f) for f in data.get("frames", [])})
        self._instance_classes = {
            int(i["id"]): int(i.get("class_id", 0)) for i in data.get("instances", [])
        }

    @property
    def things(self) -> list[ClassInfo]:
        """Thing classes by ID (the classes the object formats export)."""
        return [c for c in self.classes if not c.stuff]

    def path(self, kind: str, frame: int) -> str:
        """The path of a frame's file of output ``kind`` (``dataset.outputs`` keys)."""
        if kind == "meta":
            return meta.meta_path(self.root, frame)
        return layout.frame_path(self.root, kind, frame)

    def _existing(self, kind: str, frame: int, why: str) -> str:
        path = self.path(kind, frame)
        if not os.path.isfile(path):
            raise GroundTruthError(f"{path} is missing ({why}); run `ground_truth check`")
        return path

    def image_path(self, frame: int) -> str:
        """The frame's RGB image; a missing one raises :class:`GroundTruthError`."""
        return self._existing("rgb", frame, "every export holds the images")

    def meta(self, frame: int) -> dict:
        """The frame's meta dict; missing or unreadable raises :class:`GroundTruthError`."""
        path = self._existing("meta", frame, "boxes and classes come from it")
        try:
            with open(path, encoding="utf-8") as file:
                return json.load(file)
        except (OSError, ValueError) as error:
            raise GroundTruthError(f"{path} cannot be read ({error})") from None

    def instance_map(self, frame: int) -> np.ndarray:
        """The frame's instance map (uint16, or uint32 from a 32-bit instance map), checked
        against the dataset's resolution."""
        path = maps.instance_map_path(self.root, frame) or self._existing(
            "instance", frame, "masks come from it"
        )
        try:
            image = maps.read_instance_map(path)
        except (OSError, ValueError) as error:
            raise GroundTruthError(f"{path} cannot be read ({error})") from None
        if image.ndim != 2 or image.shape != (self.height, self.width):
            raise GroundTruthError(
                f"{path} is {image.shape[1]}x{image.shape[0]}"
                f"{'' if image.ndim == 2 else ' with channels'}, the dataset is "
                f"{self.width}x{self.height}"
            )
        return image

    def objects(self, frame_meta: Mapping) -> list[dict]:
        """The frame's visible instances of known classes, by instance ID.

        Each is a meta ``instances`` entry (the first one of its ID: several objects
        may share an instance) with a ``class`` (:class:`ClassInfo`). Instances with
        no pixel, no class or a class missing from the class table are left out.
        """
        seen: dict[int, dict] = {}
        for entry in frame_meta.get("instances", []):
            instance_id = int(entry["id"])
            if instance_id in seen or not entry.get("bbox") or not entry.get("visible_pixels"):
                continue
            class_id = int(entry.get("class_id", self._instance_classes.get(instance_id, 0)))
            info = self.class_by_id.get(class_id)
            if info is None:
                continue
            seen[instance_id] = {**entry, "class": info}
        return [seen[i] for i in sorted(seen)]


def class_indices(classes: list[ClassInfo], start: int = 0) -> dict[int, int]:
    """Contiguous indices for ``classes`` in order of their IDs: ``{class ID: index}``.

    Formats that number classes from 0 (YOLO) or 1 (MOT) need contiguous numbers; our
    class IDs may have gaps. The order by ID is kept.
    """
    return {c.id: start + i for i, c in enumerate(sorted(classes, key=lambda c: c.id))}


def assign_splits(frames: list[int], val_ratio: float, seed: int) -> dict[int, str]:
    """``{frame: "train" | "val"}``: ``round(val_ratio * n)`` frames picked for validation.

    The pick is a seeded shuffle (numpy's legacy ``RandomState(seed)``, whose stream is
    fixed across numpy versions), so the same frames, ratio and seed give the same split.
    With a ratio above 0 and at least two frames, both splits get at least one frame.
    Note that neighbouring frames of an animation are near duplicates: a random split puts
    near copies of validation images into training.
    """
    if not 0.0 <= val_ratio < 1.0:
        raise ValueError(f"the validation ratio must be in [0, 1), got {val_ratio}")
    ordered = sorted(frames)
    count = len(ordered)
    n_val = round(val_ratio * count)
    if val_ratio > 0 and count >= 2:
        n_val = min(max(n_val, 1), count - 1)
    picked = np.random.RandomState(seed).permutation(count)[:n_val]
    val = {ordered[i] for i in picked.tolist()}
    return {f: ("val" if f in val else "train") for f in ordered}


def _inside(path: str, folder: str) -> bool:
    path, folder = os.path.realpath(path), os.path.realpath(folder)
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def check_output(output: str, source_root: str, replace: bool) -> str:
    """The absolute output folder, or :class:`GroundTruthError` saying why it can't be used.

    Refused: the dataset folder or a folder inside it (an export never writes into the
    dataset; :class:`ExportArgumentError`), a folder that holds the dataset or another
    Ground Truth dataset (replacing it would delete it), a file, and a non-empty folder
    unless ``replace``.
    """
    output = os.path.abspath(os.fspath(output))
    if _inside(output, source_root):
        raise ExportArgumentError(
            f"{output} is inside the dataset {source_root}; an export never writes there"
        )
    if not os.path.exists(output):
        return output
    if not os.path.isdir(output):
        raise GroundTruthError(f"{output} exists and is not a folder")
    if not os.listdir(output):
        return output
    if not replace:
        raise GroundTruthError(f"{output} is not empty; pass --replace to replace it")
    if _inside(source_root, output):
        raise GroundTruthError(f"{output} holds the dataset {source_root}; not replacing it")
    if os.path.isfile(os.path.join(output, layout.DATASET_FILE)):
        raise GroundTruthError(f"{output} is a Ground Truth dataset; not replacing it")
    return output


@contextmanager
def staged_output(output: str) -> Iterator[str]:
    """Yield a new empty folder beside ``output``; on success it becomes ``output``.

    An existing ``output`` (already vetted by :func:`check_output`) is replaced only
    once everything is written. On any error the new folder is removed and ``output``
    is left as it was.
    """
    parent, name = os.path.split(output)
    os.makedirs(parent, exist_ok=True)
    for number in itertools.count():
        staging = os.path.join(parent, f".{name}.export-{os.getpid()}-{number}")
        try:
            os.mkdir(staging)
            break
        except FileExistsError:
            continue
    try:
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if os.path.lexists(output):
        old = os.path.join(parent, f".{name}.replaced-{os.getpid()}-{number}")
        os.rename(output, old)
        os.rename(staging, output)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.rename(staging, output)


def place_image(source: str, destination: str, link: bool) -> None:
    """Copy ``source`` to ``destination``, or make it a symbolic link to its absolute path."""
    if link:
        os.symlink(os.path.abspath(source), destination)
    else:
        shutil.copyfile(source, destination)


def write_text(path: str, text: str) -> None:
    """Write UTF-8 text (the staging folder makes the export atomic as a whole)."""
    with open(path, "w", encoding="utf-8", newline="\n") as file:
        file.write(text)


def write_bytes(path: str, data: bytes) -> None:
    """Write bytes (no per-file fsync: the staging folder is renamed into place whole)."""
    with open(path, "wb") as file:
        file.write(data)


def write_manifest(
    folder: str, source: Source, fmt: str, options: Mapping, plans: list[FramePlan], extra=None
) -> None:
    """Write :data:`MANIFEST_FILE`: where the export came from and each frame's mapping.

    ``frames`` maps every exported frame number to its split, its file stem in the
    export and its index (formats that number images consecutively use the index).
    """
    document = {
        "format": fmt,
        "source": source.root,
        "generator": source.data.get("generator", ""),
        "scene": source.data.get("scene", ""),
        "options": dict(options),
        "classes": [
            {"id": c.id, "name": c.name, "stuff": c.stuff, **((extra or {}).get(c.id, {}))}
            for c in source.classes
        ],
        "frames": [
            {"frame": p.frame, "split": p.split, "name": p.name, "index": p.index} for p in plans
        ],
    }
    write_text(
        os.path.join(folder, MANIFEST_FILE), json.dumps(document, indent=2, ensure_ascii=False)
    )


# ---------------------------------------------------------------------------
# Truncation and occlusion
# ---------------------------------------------------------------------------

# Corner pairs of the 12 edges of a box in Blender's bound_box order.
_EDGES = np.array(box_geometry.box_edges(), dtype=np.int64)


def box_truncation(
    corners_camera_cv: np.ndarray,
    k_matrix: np.ndarray,
    width: int,
    height: int,
    ortho: bool = False,
    near: float = 1e-6,
) -> float:
    """Share (0..1) of a 3D box's projected 2D rectangle that lies outside the image.

    ``corners_camera_cv``: the 8 corners in the OpenCV camera frame (z forward). For a
    perspective camera the box is first clipped to ``z >= near`` (the part behind the
    near plane has no image); the corners and the clipped edges' end points are
    projected with ``K`` (pixel-corner image coordinates, image = ``[0, width] x
    [0, height]``). A box wholly behind the plane reads 1; a degenerate rectangle (a
    box of no size) reads 0 inside the image and 1 outside.
    """
    corners = np.asarray(corners_camera_cv, dtype=np.float64).reshape(8, 3)
    if ortho:
        points = corners
    else:
        z = corners[:, 2]
        a, b = corners[_EDGES[:, 0]], corners[_EDGES[:, 1]]
        za, zb = a[:, 2], b[:, 2]
        crossing = (za - near) * (zb - near) < 0
        t = (near - za[crossing]) / (zb[crossing] - za[crossing])
        cuts = a[crossing] + t[:, None] * (b[crossing] - a[crossing])
        cuts[:, 2] = near
        points = np.concatenate([corners[z >= near], cuts])
        if points.shape[0] == 0:
            return 1.0
    uv = camera_geometry.project(k_matrix, points, ortho=ortho)
    u0, v0 = uv.min(axis=0)
    u1, v1 = uv.max(axis=0)
    inside_w = max(0.0, min(u1, width) - max(u0, 0.0))
    inside_h = max(0.0, min(v1, height) - max(v0, 0.0))
    area = (u1 - u0) * (v1 - v0)
    if area <= 0.0:
        inside = 0.0 <= u0 <= width and 0.0 <= v0 <= height
        return 0.0 if inside else 1.0
    return float(min(1.0, max(0.0, 1.0 - inside_w * inside_h / area)))


def truncation(entry: Mapping, frame_meta: Mapping) -> float:
    """The truncation of a meta instance entry: its ``truncation`` field, else from its 3D box."""
    if entry.get("truncation") is not None:
        return float(entry["truncation"])
    cam = frame_meta["camera"]
    return box_truncation(
        entry["box3d_camera_cv"],
        cam["K"],
        int(frame_meta["width"]),
        int(frame_meta["height"]),
        ortho=cam.get("type") == "ORTHO",
        near=float(cam.get("clip_start") or 1e-6),
    )


def occlusion_level(visible_fraction: float | None) -> int:
    """KITTI occlusion level from a visible fraction: 0 fully visible (>= 0.95), 1 partly
    occluded (>= 0.5), 2 largely occluded, 3 unknown (no visible fraction)."""
    if visible_fraction is None:
        return OCCLUSION_UNKNOWN
    if visible_fraction >= FULLY_VISIBLE:
        return 0
    return 1 if visible_fraction >= LARGELY_OCCLUDED else 2
