"""COCO panoptic segmentation: things and stuff, one PNG of segment ids per image.

Layout (COCO's, as Datumaro and panopticapi read it)::

    images/train/000012.png                 the RGB images (copies or links)
    annotations/panoptic_train.json         images, annotations, categories
    annotations/panoptic_train/000012.png   segment ids, RGB-encoded
    ...val...                               the validation split, when not empty

Every pixel belongs to at most one segment. A *thing* instance (a visible instance of a
class without ``"stuff": true``) is one segment with id = its instance ID (1..32767). A
*stuff* class present in the image is one segment, all its instances merged, with id =
32768 + class ID (so thing and stuff ids never collide). Pixels of no labelled instance
(background, unlabelled objects, classes missing from the class table) are 0: void, in no
segment. The PNG stores id = R + 256 G + 256² B. Segments carry ``category_id`` (the
class ID), ``area`` (pixels), ``bbox`` (``[x, y, w, h]`` pixel box) and ``iscrowd`` 0;
categories carry ``isthing`` (1 thing, 0 stuff) and the class colour.
"""

from __future__ import annotations

import json
import os

import numpy as np

from ..codecs import png
from ..labels.masks import bboxes_from_instance_map
from ..preview import colors
from . import common

STUFF_ID_BASE = 32768


def encode_ids(ids: np.ndarray) -> np.ndarray:
    """HxW segment ids (< 2**24) as HxWx3 uint8 RGB: id = R + 256 G + 256² B."""
    ids = np.asarray(ids, dtype=np.uint32)
    return np.stack([ids & 0xFF, (ids >> 8) & 0xFF, (ids >> 16) & 0xFF], axis=-1).astype(np.uint8)


def segment_map(
    instance_map: np.ndarray, instance_classes: dict[int, int], stuff: set[int]
) -> tuple[np.ndarray, dict[int, int]]:
    """The panoptic segment id of every pixel and ``{segment id: category id}``.

    ``instance_classes``: class ID of each visible, labelled instance ID (instances not
    in it become void); ``stuff``: the stuff class IDs. See the module docstring.
    """
    top = int(instance_map.max()) if instance_map.size else 0
    lookup = np.zeros(top + 1, dtype=np.uint32)
    categories: dict[int, int] = {}
    for instance_id, class_id in instance_classes.items():
        if instance_id > top:
            continue
        segment = STUFF_ID_BASE + class_id if class_id in stuff else instance_id
        lookup[instance_id] = segment
        categories[segment] = class_id
    return lookup[instance_map], categories


def write(source: common.Source, folder: str, plans, options, report) -> dict:
    """Write the ``coco-panoptic`` export into ``folder`` (see the module docstring)."""
    splits = [s for s in common.SPLITS if any(p.split == s for p in plans)]
    categories = [
        {
            "id": c.id,
            "name": c.name,
            "supercategory": "",
            "isthing": 0 if c.stuff else 1,
            "color": list(colors.to_uint8(c.color)),
        }
        for c in source.classes
    ]
    stuff = {c.id for c in source.classes if c.stuff}
    documents = {}
    for split in splits:
        os.makedirs(os.path.join(folder, "images", split))
        os.makedirs(os.path.join(folder, "annotations", f"panoptic_{split}"))
        documents[split] = {
            "info": {
                "description": f"Ground Truth dataset of scene {source.data.get('scene', '')} "
                f"({source.root}), {split} split",
                "version": str(source.data.get("format_version", "")),
                "generator": source.data.get("generator", ""),
            },
            "licenses": [],
            "images": [],
            "annotations": [],
            "categories": categories,
        }
    for plan in plans:
        frame_meta = source.meta(plan.frame)
        objects = source.objects(frame_meta)
        instance_map = source.instance_map(plan.frame)
        ids, segment_classes = segment_map(
            instance_map, {o["id"]: o["class"].id for o in objects}, stuff
        )
        png_name = plan.name + ".png"
        common.write_bytes(
            os.path.join(folder, "annotations", f"panoptic_{plan.split}", png_name),
            png.encode_png(encode_ids(ids), compression=6, filter="up"),
        )
        segments = [
            {
                "id": int(segment),
                "category_id": int(segment_classes[segment]),
                "iscrowd": 0,
                "bbox": bbox,
                "area": int(area),
            }
            for segment, (bbox, area) in bboxes_from_instance_map(ids).items()
            if segment in segment_classes
        ]
        report.labels += len(segments)
        image = source.image_path(plan.frame)
        image_name = plan.name + os.path.splitext(image)[1]
        common.place_image(
            image, os.path.join(folder, "images", plan.split, image_name), options["link_images"]
        )
        document = documents[plan.split]
        document["images"].append(
            {
                "id": plan.frame,
                "file_name": image_name,
                "width": source.width,
                "height": source.height,
                "frame": plan.frame,
            }
        )
        document["annotations"].append(
            {"image_id": plan.frame, "file_name": png_name, "segments_info": segments}
        )
    for split, document in documents.items():
        common.write_text(
            os.path.join(folder, "annotations", f"panoptic_{split}.json"),
            json.dumps(document, ensure_ascii=False),
        )
    return {c.id: {"isthing": 0 if c.stuff else 1} for c in source.classes}
