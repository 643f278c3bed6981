"""``ground_truth render | info | finalize``: Ground Truth without a screen.

``main(argv)`` is what Blender calls for ``--command ground_truth``; tests call it
with an argument list. Progress goes to stdout, errors to stderr; the exit code is
0 on success, 1 when the work failed and 2 for bad arguments.
"""

import argparse
import os
import sys

import bpy

from ..dataset import framespec
from ..errors import GroundTruthError
from ..render import finalize, pipeline
from ..scene import classes

USAGE_ERROR = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        self.print_usage(sys.stderr)
        print(f"ground_truth: error: {message}", file=sys.stderr)
        raise _UsageError


class _UsageError(Exception):
    pass


# Outputs off by default that a run can switch on (the scene's own choices are kept).
EXTRA_OUTPUTS = {
    "normal": ("output_normal", "also write camera-frame normals (normal/NNNNNN.exr)"),
    "flow": ("output_flow", "also write forward and backward optical flow (flow/NNNNNN.exr)"),
    "part": ("output_part", "also write part IDs from material pass indices (part/NNNNNN.png)"),
    "depth-mm": ("output_depth_mm", "also write 16-bit depth in millimetres (depth_mm/)"),
    "visible-fraction": (
        "output_occlusion",
        "also compute each instance's visible fraction (meta and COCO)",
    ),
}

FRAMES_HELP = "N, A-B or A-B:STEP, comma-separated (default: the scene's range)"


def _frame_list(text):
    try:
        return framespec.parse_frames(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def build_parser():
    parser = _Parser(
        prog="blender -b FILE.blend --command ground_truth",
        description="Render pixel-exact ground truth with Cycles, without a screen.",
    )
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    render = commands.add_parser("render", help="render frames into a dataset folder")
    render.add_argument("--output", required=True, help="dataset folder")
    render.add_argument("--frames", type=_frame_list, help=FRAMES_HELP)
    render.add_argument("--samples", type=int, help="Cycles samples (default: the scene's)")
    render.add_argument("--overwrite", action="store_true", help="render complete frames again")
    render.add_argument(
        "--labels-only", action="store_true", help="depth, class and instance maps only; fast"
    )
    render.add_argument("--scene", help="scene name (default: the file's active scene)")
    for flag, (_setting, text) in EXTRA_OUTPUTS.items():
        render.add_argument(f"--{flag}", action="store_true", help=text)
    render.add_argument(
        "--shared-copy-ids",
        action="store_true",
        help="copies drawn by instancers share their source's instance ID (no copy layer)",
    )

    info = commands.add_parser("info", help="classes, instances and what would be rendered")
    info.add_argument("--frames", type=_frame_list, help=FRAMES_HELP)
    info.add_argument("--scene", help="scene name")

    final = commands.add_parser(
        "finalize", help="turn raw farm output into a complete dataset (labels, dataset.json)"
    )
    final.add_argument("output", help="dataset folder the saved compositor setup wrote to")
    final.add_argument("--scene", help="scene name")
    return parser


def main(argv):
    """Run the command in ``argv`` (the words after ``--command ground_truth``)."""
    try:
        args = build_parser().parse_args(list(argv))
    except _UsageError:
        return USAGE_ERROR
    except SystemExit as exit_:  # --help
        return exit_.code or 0
    try:
        scene = _scene(args.scene)
        frames = _frames(scene, getattr(args, "frames", None))
        if args.command == "render":
            return _render(scene, frames, args)
        if args.command == "info":
            return _info(scene, frames)
        return _finalize(scene, args.output)
    except GroundTruthError as error:
        print(f"ground_truth: {error}", file=sys.stderr)
        return 1


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


def _render(scene, frames, args):
    settings = scene.ground_truth
    saved = {"output_dir": settings.output_dir}
    settings.output_dir = os.path.abspath(args.output) + os.sep
    for flag, (setting, _text) in EXTRA_OUTPUTS.items():
        if getattr(args, flag.replace("-", "_")):
            saved[setting] = getattr(settings, setting)
            setattr(settings, setting, True)
    if args.shared_copy_ids:
        saved["distinct_copies"] = settings.distinct_copies
        settings.distinct_copies = False
    try:
        job = pipeline.RenderJob(
            scene,
            pipeline.render_view_layer(None, scene),
            frames,
            use_cycles=True,
            overwrite=args.overwrite,
            labels_only=args.labels_only,
            samples=args.samples,
        )
        for warning in job.report.warnings:
            print(f"ground_truth: warning: {warning}", file=sys.stderr)
        if scene.render.engine != "CYCLES":
            print("ground_truth: rendering the ground truth with Cycles", file=sys.stderr)
        if job.report.skipped:
            print(f"Skipping {len(job.report.skipped)} complete frame(s); --overwrite renders them")
        for done, total, frame in job.steps():
            left = job.seconds_left()
            eta = f", about {left:.0f} s left" if left is not None else ""
            print(f"Frame {frame} ({done + 1}/{total}){eta}", flush=True)
    finally:
        for setting, value in saved.items():
            setattr(settings, setting, value)
    report = job.report
    print(f"Wrote {len(report.frames)} frame(s) to {report.output_dir} in {report.seconds:.1f} s")
    return 0


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
        counts[item["class_id"]] = counts.get(item["class_id"], 0) + 1
    for item in settings.classes:
        print(f"  {item.id:5d}  {item.name}  ({counts.get(item.id, 0)} instance(s))")
    print(f"Instances ({len(instances)}):")
    for item in instances:
        print(f"  {item['id']:5d}  {item['object']}  class {item['class_id']}")
    shown = ", ".join(str(f) for f in frames[:10]) + (" ..." if len(frames) > 10 else "")
    print(f"Would render {len(frames)} frame(s): {shown}")
    print(f"Output folder: {settings.output_dir}")
    return 0


def _finalize(scene, output):
    report = finalize.finalize(scene, os.path.abspath(output))
    converted, listed = len(report.converted), len(report.frames)
    print(f"Converted {converted} raw frame(s); the dataset lists {listed} frame(s)")
    return 0
