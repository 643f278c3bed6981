"""COCO instance annotations: the ``annotations/coco_instances.json`` of a dataset.

Masks are compressed RLE (:mod:`ground_truth.codecs.rle`).

:func:`coco_from_frames` rebuilds the whole COCO file from the dataset folder alone:
``dataset.json`` (categories = its classes; frames = its frame list), each frame's
``instance/NNNNNN.png`` (masks) and, when present, ``meta/NNNNNN.json`` (the class of
each instance) and ``amodal/NNNNNN.json`` (amodal masks, :func:`frame_entry`). The
result is deterministic: rebuilding from the same files gives the same JSON, byte for
byte.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

import numpy as np

from ..codecs import atomic
from ..codecs.rle import rle_encode_instances
from ..errors import DatasetError
from ..labels.masks import bboxes_from_instance_map
from . import amodal, description, layout, maps, meta


def image_entry(frame: int, width: int, height: int) -> dict:
    """The COCO ``images`` entry of a frame: id = frame number, file ``rgb/NNNNNN.png``."""
    return {
        "id": int(frame),
        "file_name": layout.frame_relative_path("rgb", frame),
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
    amodal_document: Mapping | None = None,
) -> tuple[dict, list[dict]] | None:
    """The COCO image and annotations of one frame of the dataset under ``root``.

    ``data`` is the dataset's description (``dataset.json``); ``instance_map`` is read
    from ``instance/NNNNNN.png`` unless given. Returns None for a frame without an
    instance map. The class of an instance comes from the frame's
    ``meta/NNNNNN.json`` when it exists, else from ``data``'s instance table; only
    classes of ``data``'s class table are annotated. ``meta_instances`` (the frame's meta
    ``instances`` block, when the caller has it) saves reading the meta file again.

    COCO's own ``segmentation``, ``bbox`` and ``area`` are the visible instance (its
    pixels in the instance map), so every COCO tool reads them as usual. Optional
    fields: ``visible_fraction`` (meta's, else the amodal file's) and, when the frame
    has an amodal file (``amodal_document``: its content, else read from
    ``amodal/NNNNNN.json``), ``amodal_segmentation`` (compressed RLE of the amodal
    mask), ``amodal_bbox``, ``amodal_area`` (its pixels inside the image) and
    ``truncation`` (:mod:`.amodal`).
    """
    if instance_map is None:
        path = maps.instance_map_path(root, frame)
        if path is None:
            return None
        instance_map = maps.read_instance_map(path)
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
    if amodal_document is None:
        amodal_document = amodal.read_frame(root, frame)
    silhouettes = {int(a["id"]): a for a in (amodal_document or {}).get("instances", [])}
    for annotation in annotations:
        ident = annotation["instance_id"]
        silhouette = silhouettes.get(ident, {})
        fraction = entries.get(ident, {}).get("visible_fraction")
        if fraction is None:
            fraction = silhouette.get("visible_fraction")
        if fraction is not None:
            annotation["visible_fraction"] = fraction
        if silhouette:
            annotation["amodal_segmentation"] = silhouette["amodal_segmentation"]
            annotation["amodal_bbox"] = silhouette["amodal_bbox"]
            annotation["amodal_area"] = silhouette["amodal_pixels"]
            annotation["truncation"] = silhouette["truncation"]
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
    :class:`~ground_truth.errors.DatasetError` when ``root`` holds no Ground Truth
    ``dataset.json``.
    """
    data = description.read(root)
    if data is None:
        raise DatasetError(f"no Ground Truth {layout.DATASET_FILE} in {root}")
    entries = (frame_entry(root, frame, data) for frame in data.get("frames", []))
    return coco_document(data, [entry for entry in entries if entry is not None])


def coco_path(root: str) -> str:
    """Where the COCO file of the dataset under ``root`` lies."""
    return layout.dataset_file_path(root, "coco")


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
    atomic.atomic_write_json(path, document, compact=True)
    return path
