"""Finalize a dataset folder whose raw passes were rendered elsewhere (a farm running
the saved compositor setup): convert them into label files and write dataset.json."""

import os
from dataclasses import dataclass, field

import bpy

from ..dataset import layout, reader
from ..errors import GroundTruthError
from ..scene import classes, frame_info
from .options import options_from_settings
from .writer import DatasetWriter


@dataclass
class FinalizeReport:
    converted: list = field(default_factory=list)
    frames: list = field(default_factory=list)


def raw_frames(output_dir):
    """Frame numbers of the raw EXR files waiting in ``output_dir``."""
    folder = os.path.join(output_dir, layout.RAW_DIR)
    if not os.path.isdir(folder):
        return []
    found = []
    for name in os.listdir(folder):
        stem, ext = os.path.splitext(name)
        if ext == ".exr" and stem.isdigit():
            found.append(int(stem))
    return sorted(found)


def finalize(scene, output_dir):
    """Convert every raw frame in ``output_dir`` and list all complete frames.

    The outputs are those the scene's settings ask for (the saved setup's), written
    into ``output_dir`` whatever folder the setup names.
    """
    if not os.path.isdir(output_dir):
        raise GroundTruthError(f"There is no dataset folder {output_dir}")
    labels = classes.label_table(scene)
    options = options_from_settings(
        scene.ground_truth,
        output_dir=output_dir,
        frames=(),
        view_layer=scene.view_layers[0].name,
    )
    writer = DatasetWriter(scene, options, labels)
    listed = writer.check_compatible()
    pending = raw_frames(output_dir)
    if not pending and not listed:
        raise GroundTruthError(
            f"{output_dir} has no raw frames ({layout.RAW_DIR}/NNNNNN.exr) to finalize: "
            "render with the saved compositor setup first"
        )
    report = FinalizeReport()
    current = scene.frame_current
    try:
        for frame in pending:
            scene.frame_set(frame)
            depsgraph = bpy.context.evaluated_depsgraph_get()
            writer.convert(frame, frame_info.collect(scene, depsgraph, options, labels))
            report.converted.append(frame)
    finally:
        scene.frame_set(current)
    report.frames = sorted(
        f
        for f in set(listed) | set(report.converted)
        if reader.frame_readable(output_dir, f, ["class", "instance"])
    )
    writer.write_dataset(report.frames, final=True)
    return report
