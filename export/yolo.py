"""Ultralytics YOLO datasets: detection (``yolo``) and segmentation (``yolo-seg``).

Layout (Ultralytics' own)::

    data.yaml                     train/val image folders, nc, names (no ``path``: the
                                  folder of data.yaml is the dataset root)
    images/train/000012.png       the dataset's RGB images (copies or links)
    labels/train/000012.txt       one line per visible thing; an empty file for none
    images/val/, labels/val/      the validation split (absent when it is empty:
                                  then ``val`` names the training images)

Classes: the thing classes (stuff is left out, see :mod:`.common`) numbered 0, 1, ...
in order of their class IDs; ``names`` in data.yaml maps each number to the class
name, and ``ground-truth-export.json`` maps class IDs to numbers (``yolo_index``).

Detection lines are ``class cx cy w h``: the box of the instance's pixels (meta's
``bbox``, the pixel-edge box ``[x, x + w] x [y, y + h]``) as centre and size divided by
the image width and height, so 0..1. Segmentation lines are ``class x1 y1 x2 y2 ...``:
the instance's polygon from its instance-map pixels (:mod:`.polygons`: exact pixel
outline, one polygon per object with holes and further parts joined by zero-width
bridges, as Ultralytics expects one line per object), coordinates divided by width and
height. Numbers have six decimals.
"""

from __future__ import annotations

import json
import os

import numpy as np

from . import common, polygons

DATA_FILE = "data.yaml"


def _yaml_string(text: str) -> str:
    """A YAML double-quoted scalar: JSON string syntax is valid YAML."""
    return json.dumps(text, ensure_ascii=False)


def data_yaml(names: list[str], has_val: bool, title: str) -> str:
    """The text of data.yaml for class ``names`` (index = position)."""
    lines = [
        f"# {title}",
        "# Ultralytics dataset; its root is this file's folder.",
        "train: images/train",
        f"val: images/{'val' if has_val else 'train'}",
        f"nc: {len(names)}",
        "names:",
    ]
    lines += [f"  {index}: {_yaml_string(name)}" for index, name in enumerate(names)]
    return "\n".join(lines) + "\n"


def box_line(index: int, bbox: list[int], width: int, height: int) -> str:
    """``class cx cy w h`` of a pixel box ``[x, y, w, h]``, normalised to 0..1."""
    x, y, w, h = (float(v) for v in bbox)
    return (
        f"{index} {(x + w / 2) / width:.6f} {(y + h / 2) / height:.6f} "
        f"{w / width:.6f} {h / height:.6f}"
    )


def polygon_line(index: int, polygon: np.ndarray, width: int, height: int) -> str:
    """``class x1 y1 x2 y2 ...`` of pixel-corner polygon vertices, normalised to 0..1."""
    scaled = np.asarray(polygon, dtype=np.float64) / np.array([width, height], dtype=np.float64)
    return f"{index} " + " ".join(f"{v:.6f}" for v in scaled.ravel().tolist())


def _prepare(source: common.Source, folder: str, plans: list[common.FramePlan]):
    has_val = any(p.split == "val" for p in plans)
    for split in common.SPLITS if has_val else ("train",):
        os.makedirs(os.path.join(folder, "images", split))
        os.makedirs(os.path.join(folder, "labels", split))
    things = source.things
    indices = common.class_indices(things)
    title = f"Ground Truth export of {source.root} (scene {source.data.get('scene', '')!r})"
    common.write_text(
        os.path.join(folder, DATA_FILE), data_yaml([c.name for c in things], has_val, title)
    )
    return indices


def _write(source, folder, plans, options, report, segment: bool) -> dict:
    indices = _prepare(source, folder, plans)
    width, height = source.width, source.height
    for plan in plans:
        frame_meta = source.meta(plan.frame)
        objects = [o for o in source.objects(frame_meta) if not o["class"].stuff]
        lines = []
        if segment and objects:
            instance_map = source.instance_map(plan.frame)
            for obj in objects:
                x, y, w, h = obj["bbox"]
                crop = instance_map[y : y + h, x : x + w] == obj["id"]
                polygon = polygons.mask_polygon(crop)
                if polygon is None:
                    raise common.GroundTruthError(
                        f"{source.path('instance', plan.frame)} has no pixel of instance "
                        f"{obj['id']} inside its box {obj['bbox']} from "
                        f"{source.path('meta', plan.frame)}; run `ground_truth check`"
                    )
                lines.append(
                    polygon_line(
                        indices[obj["class"].id], polygon + np.array([x, y]), width, height
                    )
                )
        else:
            lines = [box_line(indices[o["class"].id], o["bbox"], width, height) for o in objects]
        report.labels += len(lines)
        common.write_text(
            os.path.join(folder, "labels", plan.split, plan.name + ".txt"),
            "".join(line + "\n" for line in lines),
        )
        image = source.image_path(plan.frame)
        common.place_image(
            image,
            os.path.join(folder, "images", plan.split, plan.name + os.path.splitext(image)[1]),
            options["link_images"],
        )
    return {class_id: {"yolo_index": index} for class_id, index in indices.items()}


def write_detection(source, folder, plans, options, report) -> dict:
    """Write the ``yolo`` export into ``folder`` (see the module docstring)."""
    return _write(source, folder, plans, options, report, segment=False)


def write_segmentation(source, folder, plans, options, report) -> dict:
    """Write the ``yolo-seg`` export into ``folder`` (see the module docstring)."""
    return _write(source, folder, plans, options, report, segment=True)
