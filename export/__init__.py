"""Export a Ground Truth dataset to the formats training and evaluation tools read.

Numpy and the standard library only, so it runs on a training machine without Blender::

    from ground_truth.export import export_dataset

    export_dataset("renders/ground_truth", "exports/yolo", "yolo-seg", val_ratio=0.2)

======================  ====================================================================
format                  what it writes (module)
======================  ====================================================================
``yolo``                Ultralytics detection: ``images/``, ``labels/``, ``data.yaml``
                        (:mod:`.yolo`)
``yolo-seg``            the same with segmentation polygons (:mod:`.yolo`, :mod:`.polygons`)
``coco-panoptic``       COCO panoptic JSON and id PNGs, things and stuff (:mod:`.panoptic`)
``voc``                 Pascal VOC XML per image (:mod:`.voc`)
``kitti``               KITTI object labels with 3D boxes, and calibration files (:mod:`.kitti`)
``mot``                 MOTChallenge ground truth of one sequence (:mod:`.mot`)
``bop``                 BOP 6D poses, masks, depth and object models of one scene
                        (:mod:`.bop`; needs the Amodal Masks and Object Models outputs)
======================  ====================================================================

Every export holds the images (copies, or symbolic links with ``link_images``) and
``ground-truth-export.json``: the source, the options, the classes and, for every
frame, its split, its file name in the export and its index (see
:func:`.common.write_manifest`). Frames are numbered by the dataset's frame numbers where
a format allows names (``000012.png``) and consecutively where it needs indices (KITTI
and BOP from 000000, MOT from 1). Splits (``val_ratio``, ``seed``) apply to every format
but MOT and BOP, whose frames form one sequence or scene (``split`` names BOP's split
folder). A format's needs (BOP: amodal masks and models) are checked before anything is
written.

The dataset is never written to; the output appears complete or not at all
(:func:`.common.staged_output`).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from ..dataset import layout
from ..errors import GroundTruthError
from . import bop, common, kitti, mot, panoptic, voc, yolo

# format -> (writer, uses splits, frame naming)
_WRITERS: dict[str, tuple[Callable, bool, str]] = {
    "yolo": (yolo.write_detection, True, "frame"),
    "yolo-seg": (yolo.write_segmentation, True, "frame"),
    "coco-panoptic": (panoptic.write, True, "frame"),
    "voc": (voc.write, True, "frame"),
    "kitti": (kitti.write, True, "index0"),
    "mot": (mot.write, False, "index1"),
    "bop": (bop.write, False, "index0"),
}
# What a format needs of a dataset, checked before anything is written.
_REQUIREMENTS: dict[str, Callable[[common.Source], None]] = {"bop": bop.check_source}
FORMATS = tuple(_WRITERS)
DEFAULT_VAL_RATIO = 0.2

ExportArgumentError = common.ExportArgumentError


def plan_frames(
    frames: list[int], naming: str, splits: dict[int, str] | None
) -> list[common.FramePlan]:
    """Each frame's split, file stem and index, in frame order.

    ``naming``: ``"frame"`` names files by frame number (``000012``), ``"index0"`` and
    ``"index1"`` by consecutive six-digit indices from 0 or 1. Without ``splits``
    every frame is in ``train``.
    """
    plans = []
    for index, frame in enumerate(sorted(frames)):
        if naming == "frame":
            name = layout.frame_stem(frame)
        else:
            name = f"{index + (1 if naming == 'index1' else 0):06d}"
        split = splits[frame] if splits is not None else "train"
        plans.append(common.FramePlan(frame=frame, split=split, name=name, index=index))
    return plans


def export_dataset(
    dataset: str | os.PathLike[str],
    output: str | os.PathLike[str],
    fmt: str,
    *,
    val_ratio: float | None = None,
    seed: int = 0,
    link_images: bool = False,
    replace: bool = False,
    sequence: str | None = None,
    frame_rate: int = 30,
    split: str | None = None,
) -> common.Report:
    """Export the dataset in ``dataset`` to ``output`` in format ``fmt`` (one of :data:`FORMATS`).

    ``val_ratio`` (default 0.2; MOT takes none) and ``seed`` choose the validation
    frames (:func:`.common.assign_splits`); ``link_images`` links instead of copying the
    images; ``replace`` allows replacing a non-empty ``output``; ``sequence`` and
    ``frame_rate`` name and time the MOT sequence; ``split`` names BOP's split folder
    (default ``train``). Problems raise
    :class:`~ground_truth.errors.GroundTruthError` with a message naming the file;
    :class:`ExportArgumentError` for options out of range or not for ``fmt``. Returns a
    :class:`.common.Report`.
    """
    if fmt not in _WRITERS:
        raise ExportArgumentError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    writer, uses_splits, naming = _WRITERS[fmt]
    if not uses_splits and val_ratio is not None:
        raise ExportArgumentError(
            f"{fmt} exports the frames as one {'scene' if fmt == 'bop' else 'sequence'}; "
            "a validation ratio does not apply"
        )
    if split is not None and fmt != "bop":
        raise ExportArgumentError(f"--split names BOP's split folder; {fmt} has none")
    if fmt == "bop":
        split = bop.check_split(bop.DEFAULT_SPLIT if split is None else split)
    ratio = DEFAULT_VAL_RATIO if val_ratio is None else float(val_ratio)
    if not 0.0 <= ratio < 1.0:
        raise ExportArgumentError(
            f"the validation ratio must be at least 0 and below 1, got {ratio}"
        )
    if frame_rate < 1:
        raise ExportArgumentError(f"the frame rate must be a positive integer, got {frame_rate}")
    started = time.perf_counter()
    source = common.Source(dataset)
    target = common.check_output(os.fspath(output), source.root, replace)
    if not source.frames:
        raise GroundTruthError(f"{source.root} lists no frames in its dataset.json")
    if fmt in _REQUIREMENTS:
        _REQUIREMENTS[fmt](source)
    splits = common.assign_splits(source.frames, ratio, seed) if uses_splits else None
    plans = plan_frames(source.frames, naming, splits)
    options = {"format": fmt, "link_images": link_images}
    if uses_splits:
        options.update(val_ratio=ratio, seed=seed)
    elif fmt == "mot":
        options.update(sequence=sequence, frame_rate=frame_rate)
    else:
        options.update(split=split)
    report = common.Report(format=fmt, output=target, frames=len(plans))
    with common.staged_output(target) as folder:
        extra = writer(source, folder, plans, options, report)
        common.write_manifest(folder, source, fmt, options, plans, extra)
    report.seconds = time.perf_counter() - started
    return report
