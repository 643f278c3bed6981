"""COCO instance annotations: compressed RLE masks and ``annotations/coco_instances.json``.

RLE
---
COCO's run-length encoding scans the mask in column-major (Fortran) order and stores
alternating run lengths starting with a run of zeros (possibly of length 0):
``counts = [zeros, ones, zeros, ones, ...]``; the last run is whichever run reaches
the end of the mask (no empty run is appended). The *compressed* form used in JSON
stores ``counts`` as an ASCII string exactly as pycocotools' ``rleToString`` does:
each count (from the fourth on, minus the count two places before it) is written as a
signed number in 5-bit groups, least significant first, each group as
``chr(48 + group)`` with bit 0x20 set when more groups follow.

The dataset file
----------------
:func:`coco_from_frames` rebuilds the whole COCO file from the dataset folder alone:
``dataset.json`` (categories = its classes; frames = its frame list), each frame's
``instance/NNNNNN.png`` (masks) and, when present, ``meta/NNNNNN.json`` (the class of
each instance). The result is deterministic: rebuilding from the same files gives the
same JSON, byte for byte.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterable, Mapping

import numpy as np

from ..codecs import atomic, png
from ..geometry.boxes import bboxes_from_instance_map
from . import description, layout, meta

ANNOTATIONS_DIR = "annotations"
COCO_FILE = "coco_instances.json"

# Largest number of 5-bit groups a count delta can need (covers signed 35-bit values).
_MAX_GROUPS = 7


# ---------------------------------------------------------------------------
# RLE
# ---------------------------------------------------------------------------


def counts_to_string(counts: Iterable[int] | np.ndarray) -> str:
    """Encode uncompressed RLE ``counts`` as pycocotools' compressed string.

    Vectorised port of pycocotools' ``rleToString``.
    """
    x = np.asarray(counts, dtype=np.int64).reshape(-1).copy()
    if x.size == 0:
        return ""
    if x.size > 3:
        x[3:] = x[3:] - np.asarray(counts, dtype=np.int64).reshape(-1)[1:-2]
    # Number of 5-bit groups: the smallest m with -2**(5m-1) <= x < 2**(5m-1).
    groups = np.ones(x.shape, dtype=np.int64)
    for m in range(1, _MAX_GROUPS):
        limit = 1 << (5 * m - 1)
        groups += (x < -limit) | (x >= limit)
    shifts = 5 * np.arange(_MAX_GROUPS, dtype=np.int64)
    chunks = (x[:, None] >> shifts) & 0x1F
    position = np.arange(_MAX_GROUPS)[None, :]
    chunks |= np.where(position < groups[:, None] - 1, 0x20, 0)
    chunks += 48
    return chunks[position < groups[:, None]].astype(np.uint8).tobytes().decode("ascii")


def string_to_counts(text: str) -> list[int]:
    """Decode pycocotools' compressed RLE string into uncompressed counts (``rleFrString``)."""
    data = text.encode("ascii")
    counts: list[int] = []
    pos = 0
    while pos < len(data):
        value = 0
        shift = 0
        while True:
            c = data[pos] - 48
            pos += 1
            value |= (c & 0x1F) << shift
            shift += 5
            if not c & 0x20:
                if c & 0x10:
                    value |= -1 << shift
                break
        if len(counts) > 2:
            value += counts[-2]
        counts.append(value)
    return counts


def _runs_to_counts(starts: np.ndarray, lengths: np.ndarray, total: int) -> np.ndarray:
    """Counts for a mask whose true runs (column-major) start at ``starts`` with ``lengths``.

    Runs must be sorted and separated by at least one false pixel.
    """
    if starts.size == 0:
        return np.array([total], dtype=np.int64)
    ends = starts + lengths
    gaps = starts - np.r_[0, ends[:-1]]
    counts = np.empty(2 * starts.size, dtype=np.int64)
    counts[0::2] = gaps
    counts[1::2] = lengths
    tail = total - int(ends[-1])
    return np.r_[counts, tail] if tail > 0 else counts


def _column_major_segments(image: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split an HxW image scanned column-major into runs of equal values.

    Returns (values, starts, lengths) of the runs in scan order.
    """
    flat = np.ascontiguousarray(image.T).reshape(-1)
    if flat.size == 0:
        empty = np.zeros(0, dtype=np.int64)
        return flat[:0], empty, empty
    starts = np.flatnonzero(np.r_[True, flat[1:] != flat[:-1]])
    lengths = np.diff(np.r_[starts, flat.size])
    return flat[starts], starts, lengths


def rle_encode(mask: np.ndarray) -> dict:
    """Encode an HxW boolean mask as COCO compressed RLE ``{"size": [h, w], "counts": str}``.

    Equal to ``pycocotools.mask.encode(np.asfortranarray(mask.astype(np.uint8)))`` with
    ``counts`` decoded to ``str``.
    """
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise ValueError(f"rle_encode needs an HxW mask, got shape {mask.shape}")
    height, width = mask.shape
    values, starts, lengths = _column_major_segments(mask.astype(bool))
    keep = values.astype(bool)
    counts = _runs_to_counts(starts[keep], lengths[keep], height * width)
    if height * width == 0:
        counts = np.array([0], dtype=np.int64)
    return {"size": [int(height), int(width)], "counts": counts_to_string(counts)}


def rle_encode_instances(instance_map: np.ndarray, background: int = 0) -> dict[int, dict]:
    """Encode every ID of an HxW integer map as COCO RLE: ``{id: {"size", "counts"}}``.

    ``background`` pixels get no entry. The map is transposed once and split into runs
    once; each ID's RLE is then built from its own runs only. Keys ascend.
    """
    image = np.asarray(instance_map)
    if image.ndim != 2:
        raise ValueError(f"expected an HxW instance map, got shape {image.shape}")
    height, width = image.shape
    total = height * width
    values, starts, lengths = _column_major_segments(image)
    keep = values != background
    values, starts, lengths = values[keep], starts[keep], lengths[keep]
    order = np.argsort(values, kind="stable")
    values, starts, lengths = values[order], starts[order], lengths[order]
    bounds = np.flatnonzero(np.r_[True, values[1:] != values[:-1], True]) if values.size else []
    size = [int(height), int(width)]
    result: dict[int, dict] = {}
    for a, b in itertools.pairwise(bounds):
        counts = _runs_to_counts(starts[a:b], lengths[a:b], total)
        result[int(values[a])] = {"size": list(size), "counts": counts_to_string(counts)}
    return result


def rle_decode(rle: Mapping) -> np.ndarray:
    """Decode COCO RLE (compressed string or uncompressed list ``counts``) to an HxW bool mask."""
    height, width = (int(v) for v in rle["size"])
    counts = rle["counts"]
    if isinstance(counts, bytes):
        counts = counts.decode("ascii")
    if isinstance(counts, str):
        counts = string_to_counts(counts)
    counts = np.asarray(counts, dtype=np.int64)
    if int(counts.sum()) != height * width:
        raise ValueError(f"RLE counts sum to {int(counts.sum())}, expected {height * width}")
    values = np.arange(counts.size) % 2 == 1
    flat = np.repeat(values, counts)
    return flat.reshape(width, height).T.copy()


# ---------------------------------------------------------------------------
# COCO documents
# ---------------------------------------------------------------------------


def image_entry(frame: int, width: int, height: int) -> dict:
    """The COCO ``images`` entry of a frame: id = frame number, file ``rgb/NNNNNN.png``."""
    return {
        "id": int(frame),
        "file_name": f"{layout.RGB_DIR}/{layout.frame_stem(frame)}{layout.EXTENSIONS['rgb']}",
        "width": int(width),
        "height": int(height),
        "frame": int(frame),
    }


def frame_annotations(
    frame: int,
    instance_map: np.ndarray,
    instance_classes: Mapping[int, int],
    boxes: Mapping[int, tuple] | None = None,
) -> list[dict]:
    """COCO annotations (without ``id``) of one frame's visible, labelled instances.

    One entry per instance ID present in ``instance_map`` whose class in
    ``instance_classes`` is > 0, in ascending instance ID order, with keys
    ``image_id`` (= frame), ``category_id``, ``segmentation`` (compressed RLE),
    ``area`` (pixel count, int), ``bbox`` (tight ``[x, y, w, h]`` ints), ``iscrowd``
    (0) and ``instance_id``. IDs with no class or class 0 are left out. ``boxes`` (from
    :func:`~.boxes.bboxes_from_instance_map` of the same map) saves computing them again.
    """
    if boxes is None:
        boxes = bboxes_from_instance_map(instance_map)
    rles = rle_encode_instances(instance_map)
    annotations = []
    for instance_id, (bbox, area) in boxes.items():
        class_id = int(instance_classes.get(instance_id, 0))
        if class_id <= 0:
            continue
        annotations.append(
            {
                "image_id": int(frame),
                "category_id": class_id,
                "segmentation": rles[instance_id],
                "area": int(area),
                "bbox": bbox,
                "iscrowd": 0,
                "instance_id": int(instance_id),
            }
        )
    return annotations


def build_coco(
    images: Iterable[Mapping],
    categories: Iterable[Mapping],
    annotations: Iterable[Mapping],
    info: Mapping | None = None,
) -> dict:
    """Assemble a COCO instances document.

    ``images``: dicts with id, file_name, width, height (and optionally frame);
    ``categories``: dicts with id and name (extra keys such as ``supercategory`` are
    kept); ``annotations``: dicts as made by :func:`frame_annotations`. Images and
    categories are sorted by id; annotations are sorted by ``image_id`` (stable, so the
    given order within an image is kept) and numbered ``id`` = 1, 2, ... in that order,
    replacing any ``id`` they had (pycocotools' COCOeval treats id 0 as "no match", so
    ids start at 1).
    """
    image_list = sorted((dict(i) for i in images), key=lambda i: i["id"])
    category_list = [
        {
            "id": int(c["id"]),
            "name": str(c["name"]),
            "supercategory": str(c.get("supercategory", "")),
            **{k: v for k, v in c.items() if k not in ("id", "name", "supercategory")},
        }
        for c in sorted(categories, key=lambda c: c["id"])
    ]
    annotation_list = []
    for number, annotation in enumerate(
        sorted((dict(a) for a in annotations), key=lambda a: a["image_id"]), start=1
    ):
        annotation.pop("id", None)
        annotation_list.append({"id": number, **annotation})
    return {
        "info": dict(info or {}),
        "licenses": [],
        "images": image_list,
        "annotations": annotation_list,
        "categories": category_list,
    }


def _meta_instances(root: str, frame: int) -> dict[int, dict] | None:
    """``{instance id: meta entry}`` from the frame's meta file, or None without one."""
    data = meta.read_meta(root, frame)
    if data is None:
        return None
    return {int(i["id"]): i for i in data.get("instances", [])}


def frame_entry(
    root: str,
    frame: int,
    data: Mapping,
    instance_map: np.ndarray | None = None,
    boxes: Mapping[int, tuple] | None = None,
    meta_instances: Iterable[Mapping] | None = None,
) -> tuple[dict, list[dict]] | None:
    """The COCO image and annotations of one frame of the dataset under ``root``.

    ``data`` is the dataset's description (``dataset.json``); ``instance_map`` is read
    from ``instance/NNNNNN.png`` unless given. Returns None for a frame without an
    instance map. The class of an instance comes from the frame's
    ``meta/NNNNNN.json`` when it exists, else from ``data``'s instance table; only
    classes of ``data``'s class table are annotated. ``meta_instances`` (the frame's meta
    ``instances`` block, when the caller has it) saves reading the meta file again.
    """
    if instance_map is None:
        path = layout.frame_path(root, layout.INSTANCE_DIR, frame)
        if not os.path.exists(path):
            return None
        instance_map = png.read_png(path)
        if instance_map.ndim != 2:
            raise ValueError(f"{path} is not a single-channel image")
    height, width = instance_map.shape
    known = {int(c["id"]) for c in data.get("classes", []) if c["id"] > 0}
    if meta_instances is not None:
        entries = {int(i["id"]): i for i in meta_instances}
    else:
        entries = _meta_instances(root, frame)
    if entries is None:
        entries = {int(i["id"]): i for i in data.get("instances", [])}
    classes = {i: int(e.get("class_id", 0)) for i, e in entries.items()}
    classes = {i: c if c in known else 0 for i, c in classes.items()}
    annotations = frame_annotations(frame, instance_map, classes, boxes)
    for annotation in annotations:
        fraction = entries.get(annotation["instance_id"], {}).get("visible_fraction")
        if fraction is not None:
            annotation["visible_fraction"] = fraction
    return image_entry(frame, width, height), annotations


def coco_document(data: Mapping, entries: Iterable[tuple[dict, list[dict]]]) -> dict:
    """The COCO document of a dataset description and its frames' ``frame_entry`` values.

    - categories: the classes of ``data`` with id > 0 (id, name, supercategory ``""``);
    - images: one per entry, including frames with no visible instance;
    - annotations: numbered 1, 2, ... in (frame, instance ID) order;
    - info: description, version (dataset format version) and generator; no dates,
      so the output only depends on the files.
    """
    categories = [
        {"id": int(c["id"]), "name": c["name"]} for c in data.get("classes", []) if c["id"] > 0
    ]
    images: list[dict] = []
    annotations: list[dict] = []
    for image, frame_annotations_ in entries:
        images.append(image)
        annotations.extend(frame_annotations_)
    info = {
        "description": f"Ground Truth dataset of scene {data.get('scene', '')}",
        "version": str(data.get("format_version", "")),
        "generator": data.get("generator", ""),
    }
    return build_coco(images, categories, annotations, info)


def coco_from_frames(root: str) -> dict:
    """Rebuild the COCO instances document of the dataset under ``root`` from its files.

    Every frame of ``dataset.json`` whose ``instance/NNNNNN.png`` exists becomes an
    image (see :func:`frame_entry` and :func:`coco_document`). Raises
    :class:`FileNotFoundError` when ``root`` holds no Ground Truth ``dataset.json``.
    """
    data = description.read(root)
    if data is None:
        raise FileNotFoundError(f"no Ground Truth {description.DATASET_FILE} in {root}")
    entries = (frame_entry(root, frame, data) for frame in data.get("frames", []))
    return coco_document(data, [entry for entry in entries if entry is not None])


def coco_path(root: str) -> str:
    """Where the COCO file of the dataset under ``root`` lies."""
    return os.path.join(root, ANNOTATIONS_DIR, COCO_FILE)


def write_coco(root: str) -> str:
    """Rebuild the COCO file from the files under ``root`` and write it atomically.

    Creates ``annotations/`` if needed; returns the path written. See
    :func:`coco_from_frames`.
    """
    return write_document(root, coco_from_frames(root))


def write_document(root: str, document: Mapping) -> str:
    """Write a COCO ``document`` as the dataset's COCO file, atomically; returns the path."""
    path = coco_path(root)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    atomic.atomic_write_json(path, document)
    return path
