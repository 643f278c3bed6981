"""Pascal VOC detection: one XML file per image, with VOC's truncated and difficult flags.

Layout (VOC's)::

    JPEGImages/000012.png           the RGB images (PNG, named in each XML's filename)
    Annotations/000012.xml          size and one <object> per visible thing
    ImageSets/Main/train.txt        image names of each split (and trainval.txt)
    labelmap.txt                    class names and colours (Datumaro's label map)

Boxes use VOC's convention: 1-based pixel indices of the first and last column and row,
so ``xmin = x + 1``, ``xmax = x + w`` for our pixel box ``[x, y, w, h]`` (read them with
Datumaro's ``coordinate_mode="voc-one-based"``).

Flags (VOC's annotation guidelines, from truncation and visible fraction, see
:mod:`.common`):

- ``truncated`` 1 when more than 15 % of the object lies outside the image;
- ``occluded`` 1 when more than 5 % of its in-image silhouette is hidden (written only
  when the meta has ``visible_fraction``);
- ``difficult`` 1 when the object is hard to recognise from its own pixels: largely
  occluded (visible fraction below 0.5), more than half outside the image, or with a
  box under 8 pixels wide or tall.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET

from ..preview import colors
from . import common

TRUNCATED = 0.15
OCCLUDED = 0.95
DIFFICULT_VISIBLE = 0.5
DIFFICULT_TRUNCATED = 0.5
DIFFICULT_SIZE = 8


def flags(truncation: float, visible_fraction: float | None, bbox: list[int]) -> dict[str, int]:
    """VOC's ``truncated``, ``occluded`` (only with a visible fraction) and ``difficult``."""
    result = {"truncated": int(truncation > TRUNCATED)}
    if visible_fraction is not None:
        result["occluded"] = int(visible_fraction < OCCLUDED)
    difficult = (
        (visible_fraction is not None and visible_fraction < DIFFICULT_VISIBLE)
        or truncation > DIFFICULT_TRUNCATED
        or min(bbox[2], bbox[3]) < DIFFICULT_SIZE
    )
    result["difficult"] = int(difficult)
    return result


def _text(parent: ET.Element, tag: str, value) -> ET.Element:
    element = ET.SubElement(parent, tag)
    element.text = str(value)
    return element


def annotation_xml(
    filename: str, width: int, height: int, objects: list[tuple[str, list[int], dict]]
) -> bytes:
    """The VOC XML of one image; ``objects``: (class name, pixel box, flags)."""
    root = ET.Element("annotation")
    _text(root, "folder", "JPEGImages")
    _text(root, "filename", filename)
    source = ET.SubElement(root, "source")
    _text(source, "database", "Ground Truth")
    _text(source, "annotation", "Ground Truth (Blender render)")
    _text(source, "image", "Blender Cycles render")
    size = ET.SubElement(root, "size")
    _text(size, "width", width)
    _text(size, "height", height)
    _text(size, "depth", 3)
    _text(root, "segmented", 0)
    for name, (x, y, w, h), object_flags in objects:
        element = ET.SubElement(root, "object")
        _text(element, "name", name)
        _text(element, "pose", "Unspecified")
        for key in ("truncated", "occluded", "difficult"):
            if key in object_flags:
                _text(element, key, object_flags[key])
        box = ET.SubElement(element, "bndbox")
        _text(box, "xmin", x + 1)
        _text(box, "ymin", y + 1)
        _text(box, "xmax", x + w)
        _text(box, "ymax", y + h)
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=False) + b"\n"


def write(source: common.Source, folder: str, plans, options, report) -> dict:
    """Write the ``voc`` export into ``folder`` (see the module docstring)."""
    for sub in ("JPEGImages", "Annotations", os.path.join("ImageSets", "Main")):
        os.makedirs(os.path.join(folder, sub))
    names: dict[str, list[str]] = {split: [] for split in common.SPLITS}
    warned = False
    for plan in plans:
        frame_meta = source.meta(plan.frame)
        objects = []
        for obj in source.objects(frame_meta):
            if obj["class"].stuff:
                continue
            fraction = obj.get("visible_fraction")
            if fraction is None and not warned:
                report.warnings.append(
                    "meta has no visible_fraction: VOC 'occluded' is left out and "
                    "'difficult' ignores occlusion (render with --visible-fraction)"
                )
                warned = True
            cut = common.truncation(obj, frame_meta)
            objects.append((obj["class"].name, obj["bbox"], flags(cut, fraction, obj["bbox"])))
        image = source.image_path(plan.frame)
        image_name = plan.name + os.path.splitext(image)[1]
        common.place_image(
            image, os.path.join(folder, "JPEGImages", image_name), options["link_images"]
        )
        common.write_bytes(
            os.path.join(folder, "Annotations", plan.name + ".xml"),
            annotation_xml(image_name, source.width, source.height, objects),
        )
        report.labels += len(objects)
        names[plan.split].append(plan.name)
    lists = {**names, "trainval": names["train"] + names["val"]}
    for split, items in lists.items():
        if items or split != "val":
            common.write_text(
                os.path.join(folder, "ImageSets", "Main", f"{split}.txt"),
                "".join(f"{name}\n" for name in items),
            )
    labelmap = ["# label:color_rgb:parts:actions", "background:0,0,0::"]
    for c in source.things:
        red, green, blue = colors.to_uint8(c.color)
        labelmap.append(f"{c.name}:{red},{green},{blue}::")
    common.write_text(os.path.join(folder, "labelmap.txt"), "\n".join(labelmap) + "\n")
    return {}
