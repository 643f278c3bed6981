"""``ground_truth export | check | stats``: dataset commands that need no Blender.

Each command has ``add_<name>_parser(subparsers)``, which adds it with its arguments to
an ``argparse`` subparsers object, and ``run_<name>(args) -> int``, which runs it on the
parsed arguments and returns the exit code: 0 success, 1 failure or problems found (the
message on stderr names the file), 2 bad arguments that the parser could not catch.
Bad arguments the parser catches (an unknown format, a ratio out of range) are the
parser's usage errors. No module here imports bpy.
"""

from __future__ import annotations

import argparse
import os
import sys

from ..errors import GroundTruthError
from ..export import DEFAULT_VAL_RATIO, FORMATS, ExportArgumentError, export_dataset

USAGE_ERROR = 2


def _error(message: str, code: int = 1) -> int:
    print(f"ground_truth: {message}", file=sys.stderr)
    return code


def _ratio(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"must be at least 0 and below 1, got {text}")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {text}")
    return value


def add_export_parser(subparsers) -> argparse.ArgumentParser:
    """Add ``export DATASET --format FORMAT --output OUT [options]``."""
    parser = subparsers.add_parser(
        "export",
        help="write a dataset in a training tool's format (no Blender needed)",
        description="Export a Ground Truth dataset to YOLO, COCO panoptic, VOC, KITTI, MOT or BOP. "
        "The dataset is only read; OUT appears complete or not at all.",
    )
    parser.add_argument("dataset", help="Ground Truth dataset folder (holds dataset.json)")
    parser.add_argument("--format", required=True, choices=FORMATS, help="output format")
    parser.add_argument("--output", "-o", required=True, help="folder to create")
    parser.add_argument(
        "--val-ratio",
        type=_ratio,
        help=f"share of frames for validation (default {DEFAULT_VAL_RATIO}; not for mot, bop)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the split (default 0)")
    parser.add_argument(
        "--link-images",
        action="store_true",
        help="link the images (symbolic links to the dataset's files) instead of copying",
    )
    parser.add_argument(
        "--replace", action="store_true", help="replace OUT if it exists and is not empty"
    )
    parser.add_argument("--sequence", help="mot: the sequence name (default: the scene's)")
    parser.add_argument(
        "--frame-rate",
        type=_positive_int,
        default=30,
        help="mot: frames per second of the sequence (default 30)",
    )
    parser.add_argument(
        "--split",
        help="bop: the split folder (default train; BOP tools expect PNG images there, JPEG "
        "in *_pbr folders)",
    )
    return parser


def run_export(args: argparse.Namespace) -> int:
    """Run ``export``; prints a summary line and any warnings."""
    try:
        report = export_dataset(
            args.dataset,
            args.output,
            args.format,
            val_ratio=args.val_ratio,
            seed=args.seed,
            link_images=args.link_images,
            replace=args.replace,
            sequence=args.sequence,
            frame_rate=args.frame_rate,
            split=args.split,
        )
    except ExportArgumentError as error:
        return _error(str(error), USAGE_ERROR)
    except (GroundTruthError, OSError) as error:
        return _error(str(error))
    for warning in report.warnings:
        print(f"ground_truth: warning: {warning}", file=sys.stderr)
    print(
        f"Exported {report.frames} frame(s), {report.labels} label(s) as {report.format} "
        f"to {report.output} in {report.seconds:.1f} s"
    )
    return 0


def add_check_parser(subparsers) -> argparse.ArgumentParser:
    """Add ``check DATASET``."""
    parser = subparsers.add_parser(
        "check",
        help="check that every file of a dataset agrees with dataset.json and the others",
        description="Check a Ground Truth dataset without changing it; exits 1 when a "
        "problem is found.",
    )
    parser.add_argument("dataset", help="Ground Truth dataset folder (holds dataset.json)")
    return parser


def run_check(args: argparse.Namespace) -> int:
    """Run ``check``: one line per problem (stderr) and warning, then a summary."""
    from ..audit.check import check_dataset

    try:
        result = check_dataset(args.dataset)
    except OSError as error:
        return _error(str(error))
    for warning in result.warnings:
        print(f"warning: {warning}")
    for problem in result.problems:
        print(f"problem: {problem}", file=sys.stderr)
    if result.ok:
        print(f"{result.root}: {result.frames} frame(s), no problems")
        return 0
    print(
        f"{result.root}: {len(result.problems)} problem(s) in {result.frames} frame(s)",
        file=sys.stderr,
    )
    return 1


def add_stats_parser(subparsers) -> argparse.ArgumentParser:
    """Add ``stats DATASET [--picture PNG | --no-picture] [--json]``."""
    parser = subparsers.add_parser(
        "stats",
        help="instances and pixels per class, box sizes and visibility, as text and a picture",
        description="Count what a Ground Truth dataset holds; prints tables and draws them "
        "as one PNG picture (by default DATASET_NAME-stats.png in the current folder).",
    )
    parser.add_argument("dataset", help="Ground Truth dataset folder (holds dataset.json)")
    picture = parser.add_mutually_exclusive_group()
    picture.add_argument("--picture", help="where to write the picture (PNG)")
    picture.add_argument("--no-picture", action="store_true", help="print only")
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    return parser


def run_stats(args: argparse.Namespace) -> int:
    """Run ``stats``."""
    from ..audit import stats

    try:
        result = stats.compute_stats(args.dataset)
    except (GroundTruthError, OSError) as error:
        return _error(str(error))
    print(stats.stats_json(result) if args.json else stats.format_stats(result), end="")
    if args.no_picture:
        return 0
    name = os.path.basename(os.path.normpath(result.root)) or "dataset"
    path = os.path.abspath(args.picture or f"{name}-stats.png")
    if os.path.realpath(path).startswith(os.path.realpath(result.root) + os.sep):
        return _error(f"{path} is inside the dataset; write the picture elsewhere", USAGE_ERROR)
    try:
        stats.write_picture(path, result)
    except OSError as error:
        return _error(str(error))
    if not args.json:
        print(f"Picture: {path}")
    return 0
