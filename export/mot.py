"""MOTChallenge tracking ground truth: the dataset's frames as one sequence.

Layout (MOTChallenge's ``train/<sequence>/``)::

    train/SEQ/img1/000001.png   the RGB images, numbered consecutively from 000001
    train/SEQ/gt/gt.txt         frame, id, bb_left, bb_top, w, h, conf, class, visibility
    train/SEQ/gt/labels.txt     class names, line n = class n (Datumaro reads it)
    train/SEQ/seqinfo.ini       name, imDir, frameRate, seqLength, imWidth, imHeight, imExt

``SEQ`` is the ``sequence`` option, else the scene name (characters other than letters,
digits, ``-`` and ``_`` become ``_``). MOT frame ``n`` is the n-th frame of the dataset in
frame order (``ground-truth-export.json`` maps each to its frame number; frames rendered
with a step of 2 at 24 fps are 12 MOT frames a second: set ``frameRate`` accordingly).

``gt.txt`` has one row per visible thing per frame, in (frame, id) order: the track ID is
the instance ID; ``bb_left, bb_top, w, h`` the pixel-edge box ``[x, y, w, h]`` of the
instance's pixels (0-based image coordinates, as Datumaro and CVAT read and write them);
``conf`` 1 (the row counts); ``class`` the thing class's number 1, 2, ... in order of
class IDs (line of ``labels.txt``); ``visibility`` = visible fraction x (1 -
truncation) (see :mod:`.common`): how much of the object is seen, hidden parts and parts
outside the image both counting against it. Without a visible fraction in the meta,
visibility counts the image border only (said as a warning).
"""

from __future__ import annotations

import os
import re

from . import common


def sequence_name(text: str) -> str:
    """A sequence folder name: characters other than letters, digits, - and _ become _."""
    name = re.sub(r"[^A-Za-z0-9_-]", "_", text.strip())
    return name or "sequence"


def seqinfo(name: str, length: int, width: int, height: int, frame_rate: int, ext: str) -> str:
    """The text of seqinfo.ini (exactly MOTChallenge's keys)."""
    return (
        "[Sequence]\n"
        f"name={name}\n"
        "imDir=img1\n"
        f"frameRate={int(frame_rate)}\n"
        f"seqLength={int(length)}\n"
        f"imWidth={int(width)}\n"
        f"imHeight={int(height)}\n"
        f"imExt={ext}\n"
    )


def write(source: common.Source, folder: str, plans, options, report) -> dict:
    """Write the ``mot`` export into ``folder`` (see the module docstring)."""
    name = sequence_name(options.get("sequence") or source.data.get("scene") or "sequence")
    options["sequence"] = name
    root = os.path.join(folder, "train", name)
    os.makedirs(os.path.join(root, "img1"))
    os.makedirs(os.path.join(root, "gt"))
    things = source.things
    numbers = common.class_indices(things, start=1)
    rows = []
    extension = ".png"
    warned = False
    for plan in plans:
        frame_meta = source.meta(plan.frame)
        mot_frame = plan.index + 1
        for obj in source.objects(frame_meta):
            if obj["class"].stuff:
                continue
            fraction = obj.get("visible_fraction")
            if fraction is None and not warned:
                warned = True
                report.warnings.append(
                    "meta has no visible_fraction: MOT visibility counts only the part "
                    "outside the image (render with --visible-fraction)"
                )
            inside = 1.0 - common.truncation(obj, frame_meta)
            visibility = inside * (1.0 if fraction is None else float(fraction))
            x, y, w, h = obj["bbox"]
            rows.append(
                f"{mot_frame},{obj['id']},{x},{y},{w},{h},1,"
                f"{numbers[obj['class'].id]},{visibility:.6f}"
            )
        image = source.image_path(plan.frame)
        extension = os.path.splitext(image)[1]
        common.place_image(
            image, os.path.join(root, "img1", plan.name + extension), options["link_images"]
        )
    report.labels = len(rows)
    common.write_text(os.path.join(root, "gt", "gt.txt"), "".join(r + "\n" for r in rows))
    common.write_text(
        os.path.join(root, "gt", "labels.txt"), "".join(f"{c.name}\n" for c in things)
    )
    common.write_text(
        os.path.join(root, "seqinfo.ini"),
        seqinfo(name, len(plans), source.width, source.height, options["frame_rate"], extension),
    )
    return {class_id: {"mot_class": number} for class_id, number in numbers.items()}
