"""Finalize a dataset folder whose raw passes were rendered elsewhere (a farm running
the saved compositor setup): convert them into label files and write dataset.json."""

import os
from dataclasses import dataclass, field

import bpy

from .. import compat, versioning
from ..dataset import coco, framespec, layout, records
from ..errors import GroundTruthError
from ..labels.ids import instance_id_limit
from ..scene import classes, copies, frame_info
from .facts import scene_facts
from .options import options_from_settings
from .writer import DatasetWriter


@dataclass
class FinalizeReport:
    converted: list = field(default_factory=list)  # raw frames made into label files
    frames: list = field(default_factory=list)  # frames the dataset lists, all complete
    damaged: list = field(default_factory=list)  # (frame, reason): not listed
    missing: list = field(default_factory=list)  # expected frames with no complete files
    # Shard ("I/N") -> its missing frames, when the frames were rendered as shards.
    missing_by_shard: dict = field(default_factory=dict)


def raw_frames(output_dir):
    """Frame numbers of the raw EXR files waiting in ``output_dir``."""
    folder = layout.raw_folder(output_dir)
    if not os.path.isdir(folder):
        return []
    found = []
    for name in os.listdir(folder):
        stem, ext = os.path.splitext(name)
        if ext == ".exr" and stem.isdigit():
            found.append(int(stem))
    return sorted(found)


def finalize(scene, output_dir, expected=None):
    """Convert every raw frame in ``output_dir``, check every listed frame, rebuild the index.

    The outputs are those the scene's settings ask for (the saved setup's), written into
    ``output_dir`` whatever folder the setup names. A raw frame that cannot be converted
    and a listed frame whose files are damaged are reported in ``damaged`` (and not
    listed); frames of ``expected`` (default: the scene's range) that the dataset does
    not hold complete are reported in ``missing``. COCO is rebuilt from the frames' files.
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
    plan = copies.make_plan(
        scene, labels, options.distinct_copies, instance_id_limit(options.outputs)
    )
    writer = DatasetWriter(
        scene_facts(scene),
        options,
        labels,
        layout.raw_folder(output_dir),
        plan.table,
        rgb_by_blender=versioning.setup_writes_rgb(compat.get_tree(scene)),
    )
    pending = raw_frames(output_dir)
    state = writer.inspect_folder(pending, farm=True)
    if not pending and not state.listed:
        raise GroundTruthError(
            f"{output_dir} has no raw frames ({layout.RAW_DIR}/NNNNNN.exr) to finalize: "
            "render with the saved compositor setup first"
        )
    writer.claim_folder(state)
    report = FinalizeReport()
    current = scene.frame_current
    try:
        with copies.render_instancing(scene):
            for frame in pending:
                scene.frame_set(frame)
                depsgraph = bpy.context.evaluated_depsgraph_get()
                info = frame_info.collect(scene, depsgraph, options, labels, plan)
                try:
                    writer.finish_frame(frame, info)
                except GroundTruthError as error:
                    report.damaged.append((frame, str(error)))
                    continue
                report.converted.append(frame)
    finally:
        scene.frame_set(current)
    for frame in records.recorded_frames(output_dir):
        if not writer.frame_complete(frame):
            records.remove_record(output_dir, frame)
            report.damaged.append((frame, "its files changed or went missing since it was made"))
    report.frames = writer.write_index(final=True)
    if "coco" in options.outputs:
        coco.write_coco(output_dir)  # from the files themselves
    expected = pipeline_frames(scene) if expected is None else expected
    report.missing = sorted(set(expected) - set(report.frames))
    report.missing_by_shard = _shards_of(output_dir, report.missing)
    return report


def _shards_of(output_dir, missing):
    """``{"I/N": [frames]}`` of ``missing`` frames, from the shard plan the records
    of shard renders hold (their full frame list and shard count); empty without one."""
    plan = None
    for record in records.read_records(output_dir).values():
        if "shard" in record:
            plan = record["shard"]
            break
    if plan is None or not missing:
        return {}
    try:
        frames = framespec.parse_frames(plan["frames"])
    except (KeyError, ValueError):
        return {}
    position = {frame: index for index, frame in enumerate(frames)}
    by_shard = {}
    for frame in missing:
        if frame in position:
            shard = f"{position[frame] % plan['count'] + 1}/{plan['count']}"
            by_shard.setdefault(shard, []).append(frame)
    return by_shard


def pipeline_frames(scene):
    """The frames of the scene's own range (start, end, step)."""
    return range(scene.frame_start, scene.frame_end + 1, scene.frame_step)
