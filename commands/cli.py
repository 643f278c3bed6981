"""``ground_truth render | info | finalize | export | check | stats``: without a screen.

``main(argv)`` is what Blender calls for ``--command ground_truth`` (the scene is the
file Blender opened); ``python -m ground_truth`` calls it too, after opening the .blend
file named on its command line for the scene commands. Progress goes to stdout, errors
to stderr; the exit code is 0 on success, 1 when the work failed and 2 for bad
arguments.

This module imports no Blender module: the parser is built from the output
declarations, the dataset commands (export, check, stats) need no Blender at all, and
the scene commands import theirs when they run.
"""

import argparse
import sys

from ..dataset import framespec, shards
from ..dataset.outputs import OUTPUTS
from ..errors import GroundTruthError
from . import dataset_commands

USAGE_ERROR = 2

# The commands that work on a scene (Blender's open file).
SCENE_COMMANDS = ("render", "info", "finalize")
# The commands that work on a dataset folder alone, with or without Blender.
DATASET_COMMANDS = {
    "export": dataset_commands.run_export,
    "check": dataset_commands.run_check,
    "stats": dataset_commands.run_stats,
}


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        self.print_usage(sys.stderr)
        print(f"ground_truth: error: {message}", file=sys.stderr)
        raise _UsageError


class _UsageError(Exception):
    pass


class UsageError(GroundTruthError):
    """Arguments that make no sense together (found after parsing): exit code 2."""


FRAMES_HELP = "N, A-B or A-B:STEP, comma-separated (default: the scene's range)"


def _frame_list(text):
    try:
        return framespec.parse_frames(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _folder(text):
    if not text.strip():
        raise argparse.ArgumentTypeError("the output folder is empty")
    return text


def _samples(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 1 <= value <= 1 << 24:
        raise argparse.ArgumentTypeError(f"samples must be 1 to {1 << 24}, not {value}")
    return value


def _shard(text):
    try:
        return shards.parse_shard(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _add_output_flags(parser):
    """``--<output>`` / ``--no-<output>`` for every output; absent keeps the scene's choice."""
    group = parser.add_argument_group(
        "outputs", "switch an output on or off for this run (default: the scene's setting)"
    )
    for output in OUTPUTS:
        group.add_argument(
            output.flag,
            dest=output.setting,
            action=argparse.BooleanOptionalAction,
            default=None,
            help=f"{output.label}: {output.description}",
        )
    group.add_argument(
        "--distinct-copies",
        dest="distinct_copies",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="give every copy drawn by an instancer its own instance ID (default: the scene's "
        "setting; --no-distinct-copies lets copies share their source's ID)",
    )
    group.add_argument(
        "--share-copies",
        action="append",
        metavar="NAME",
        help="the copies of this class, or drawn by this instancer object, keep their "
        "source's ID (as Copies Share ID does; repeat for several). Give every process of "
        "one dataset the same choice, or tick it in the file",
    )
    # The name of --no-distinct-copies before 0.2, kept for existing farm scripts.
    group.add_argument(
        "--shared-copy-ids",
        dest="distinct_copies",
        action="store_false",
        default=None,
        help=argparse.SUPPRESS,
    )


def build_parser(prog="blender -b FILE.blend --command ground_truth"):
    """The command-line parser (``prog`` names how it was called, for the usage line)."""
    parser = _Parser(
        prog=prog,
        description="Render pixel-exact ground truth with Cycles, without a screen.",
    )
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    render = commands.add_parser("render", help="render frames into a dataset folder")
    render.add_argument("--output", required=True, type=_folder, help="dataset folder")
    render.add_argument("--frames", type=_frame_list, help=FRAMES_HELP)
    render.add_argument("--samples", type=_samples, help="Cycles samples (default: the scene's)")
    render.add_argument(
        "--resume",
        action="store_true",
        help="skip the frames the folder already holds complete (default: render every frame "
        "again, as Blender's Output > Overwrite does)",
    )
    # Rendering every frame again is the default; the flag of earlier versions is kept.
    render.add_argument("--overwrite", action="store_true", help=argparse.SUPPRESS)
    render.add_argument(
        "--labels-only", action="store_true", help="depth, class and instance maps only; fast"
    )
    render.add_argument("--scene", help="scene name (default: the file's active scene)")
    render.add_argument(
        "--shard",
        type=_shard,
        metavar="I/N",
        help="render the I-th of N disjoint parts of the frames (round robin; I from 1). "
        "Default: from SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX when set, else all frames",
    )
    render.add_argument(
        "--shard-count",
        type=int,
        metavar="N",
        help="the number of shards, for a Kubernetes Indexed Job (its completions)",
    )
    render.add_argument(
        "--device",
        type=str.upper,
        choices=("CPU", "CUDA", "OPTIX", "HIP", "ONEAPI", "METAL"),
        help="Cycles device (default: the file's); a GPU kind uses every such GPU this "
        "process sees (CUDA_VISIBLE_DEVICES decides which)",
    )
    render.add_argument(
        "--verbose",
        action="store_true",
        help="show Blender's own output for every frame (Fra:, Saved:, ...)",
    )
    _add_output_flags(render)

    info = commands.add_parser("info", help="classes, instances and what would be rendered")
    info.add_argument("--frames", type=_frame_list, help=FRAMES_HELP)
    info.add_argument("--scene", help="scene name")

    final = commands.add_parser(
        "finalize", help="turn raw farm output into a complete dataset (labels, dataset.json)"
    )
    final.add_argument(
        "output", type=_folder, help="dataset folder the saved compositor setup wrote to"
    )
    final.add_argument(
        "--frames",
        type=_frame_list,
        help="the frames the dataset should hold, as for render (default: the scene's range)",
    )
    final.add_argument("--scene", help="scene name")

    dataset_commands.add_export_parser(commands)
    dataset_commands.add_check_parser(commands)
    dataset_commands.add_stats_parser(commands)
    return parser


def main(argv, prog=None):
    """Run the command in ``argv`` (the words after ``--command ground_truth``)."""
    parser = build_parser() if prog is None else build_parser(prog)
    try:
        args = parser.parse_args(list(argv))
    except _UsageError:
        return USAGE_ERROR
    except SystemExit as exit_:  # --help
        return exit_.code or 0
    if args.command in DATASET_COMMANDS:
        return DATASET_COMMANDS[args.command](args)
    try:
        from . import scene_commands  # needs Blender

        return scene_commands.run(args)
    except UsageError as error:
        print(f"ground_truth: error: {error}", file=sys.stderr)
        return USAGE_ERROR
    except GroundTruthError as error:
        print(f"ground_truth: {error}", file=sys.stderr)
        return 1
