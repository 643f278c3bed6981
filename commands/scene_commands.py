"""The headless commands that work on a scene: render, info, finalize (Blender needed)."""

import os
import sys
import time

import bpy

from ..dataset import shards
from ..dataset.outputs import OUTPUTS
from ..errors import GroundTruthError
from ..render import finalize, pipeline
from ..render.options import options_from_settings, outputs_from_settings
from ..scene import classes
from .cli import UsageError


def run(args):
    """Run the parsed command ``args`` on its scene; returns the exit code."""
    scene = _scene(args.scene)
    if args.command == "render":
        return _render(scene, args)
    if args.command == "info":
        return _info(scene, _frames(scene, args.frames))
    return _finalize(scene, args.output, args.frames)


def _scene(name):
    if name is None:
        return bpy.context.scene
    scene = bpy.data.scenes.get(name)
    if scene is None:
        raise GroundTruthError(
            f"No scene named {name!r} (scenes: {', '.join(bpy.data.scenes.keys())})"
        )
    return scene


def _frames(scene, frames):
    return pipeline.scene_frames(scene) if frames is None else frames


def share_copies(scene, names):
    """Tick Copies Share ID on each class or instancer object named in ``names`` (for
    this run only: the file is not saved)."""
    for name in names or ():
        item = scene.ground_truth.classes.get(name)
        if item is not None:
            item.share_copies = True
            continue
        ob = scene.objects.get(name)
        if ob is None:
            raise UsageError(f"--share-copies {name}: no class or object of that name")
        ob.ground_truth.share_copies = True


def render_options(scene, args):
    """The run's options: the scene's settings, with what the arguments change."""
    share_copies(scene, args.share_copies)
    settings = scene.ground_truth
    outputs = set(outputs_from_settings(settings))
    for output in OUTPUTS:
        wanted = getattr(args, output.setting)
        if wanted is not None:
            (outputs.add if wanted else outputs.discard)(output.key)
    frames = _frames(scene, args.frames)
    shard = _shard(args)
    if shard is not None:
        spec = shards.format_frames(_as_ranges(frames))
        frames = list(shards.shard_frames(frames, shard.index, shard.count))
        if not frames:
            raise GroundTruthError(f"Shard {shard} of {spec} has no frames")
    changes = {
        "outputs": frozenset(outputs),
        "use_cycles": True,
        "device": args.device,
        "quiet": not args.verbose,
        "shard": None if shard is None else (shard.index, shard.count, spec),
    }
    if args.labels_only:
        changes["labels_only"] = True
    if args.resume:
        changes["resume"] = True
    if args.samples is not None:
        changes["samples"] = args.samples
    if args.distinct_copies is not None:
        changes["distinct_copies"] = args.distinct_copies
    return options_from_settings(
        settings,
        output_dir=os.path.abspath(args.output),
        frames=frames,
        view_layer=pipeline.render_view_layer(None, scene).name,
        **changes,
    )


def _shard(args):
    """The shard to render: ``--shard``, else the scheduler's, else None (every frame)."""
    if args.shard is not None:
        return args.shard
    try:
        found = shards.shard_from_environment(os.environ, args.shard_count)
    except ValueError as error:
        raise UsageError(str(error)) from None
    if found is None and args.shard_count is not None:
        raise UsageError(
            "--shard-count needs a scheduler's task index (JOB_COMPLETION_INDEX or "
            "SLURM_ARRAY_TASK_ID); outside one, pass --shard I/N"
        )
    return found


def _as_ranges(frames):
    """Consecutive runs of the sorted ``frames`` as ranges (for writing them as a spec)."""
    ranges, start = [], None
    for index, frame in enumerate(frames):
        if start is None:
            start = frame
        following = frames[index + 1] if index + 1 < len(frames) else None
        if following != frame + 1:
            ranges.append(range(start, frame + 1))
            start = None
    return ranges


def _render(scene, args):
    job = pipeline.RenderJob(scene, render_options(scene, args))
    for warning in job.report.warnings:
        print(f"ground_truth: warning: {warning}", file=sys.stderr)
    if scene.render.engine != "CYCLES":
        print("ground_truth: rendering the ground truth with Cycles", file=sys.stderr)
    if job.report.skipped:
        print(f"Skipping {len(job.report.skipped)} complete frame(s) (--resume)")
    started = time.perf_counter()
    for done, total, frame in job.steps():
        left = job.seconds_left(done)
        timing = f" {time.perf_counter() - started:.1f} s in" if done else ""
        eta = f", about {_duration(left)} left" if left is not None else ""
        print(f"Frame {frame} ({done + 1}/{total}){timing}{eta}", flush=True)
    report = job.report
    print(f"Wrote {len(report.frames)} frame(s) to {report.output_dir} in {report.seconds:.1f} s")
    return 0


def _duration(seconds):
    """``42 s``, ``3 min 5 s``, ``2 h 10 min``."""
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


def _info(scene, frames):
    settings = scene.ground_truth
    instances = classes.planned_instances(scene)
    print(
        f"Scene {scene.name!r}, engine {scene.render.engine}, camera "
        f"{scene.camera.name if scene.camera else None!r}"
    )
    print(f"Classes ({len(settings.classes)}):")
    counts = {}
    for item in instances:
        counts[item.class_id] = counts.get(item.class_id, 0) + 1
    for item in settings.classes:
        print(f"  {item.id:5d}  {item.name}  ({counts.get(item.id, 0)} instance(s))")
    print(f"Instances ({len(instances)}):")
    for item in instances:
        print(f"  {item.id:5d}  {item.object}  class {item.class_id}")
    shown = ", ".join(str(f) for f in frames[:10]) + (" ..." if len(frames) > 10 else "")
    print(f"Would render {len(frames)} frame(s): {shown}")
    print(f"Output folder: {settings.output_dir}")
    return 0


def _finalize(scene, output, frames):
    report = finalize.finalize(scene, os.path.abspath(output), frames)
    converted, listed = len(report.converted), len(report.frames)
    print(f"Converted {converted} raw frame(s); the dataset lists {listed} frame(s)")
    for frame, reason in report.damaged:
        print(f"ground_truth: frame {frame} is damaged: {reason}", file=sys.stderr)
    if report.missing:
        print(
            f"ground_truth: {len(report.missing)} frame(s) missing: {_ranges(report.missing)}",
            file=sys.stderr,
        )
        for shard, frames in sorted(report.missing_by_shard.items()):
            print(
                f"ground_truth: shard {shard} lacks {len(frames)} frame(s) ({_ranges(frames)}): "
                f"render it again with --shard {shard} --resume",
                file=sys.stderr,
            )
    return 1 if report.damaged or report.missing else 0


def _ranges(frames):
    """``1-4,7,9-10`` for the sorted ``frames`` (the --frames syntax)."""
    return shards.format_frames(_as_ranges(frames))
