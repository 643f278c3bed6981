"""The SLURM job scripts run by bash as SLURM would, with stand-ins for Blender and Python that
record their arguments: what each runner is given, and the refusals of bad submissions."""

import json
import os
import shutil
import subprocess

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ARRAY_SCRIPT = os.path.join(REPO, "jobs", "slurm", "ground_truth_array.sbatch")
FINALIZE_SCRIPT = os.path.join(REPO, "jobs", "slurm", "ground_truth_finalize.sbatch")

RECORDER = """#!/bin/sh
python3 -c 'import json, sys; print(json.dumps(sys.argv[1:]))' "$@" >> "{log}"
"""


@pytest.fixture
def recorder(tmp_path):
    """An executable that appends its arguments, as a JSON list, to a log; and that log."""
    log = tmp_path / "argv.jsonl"
    path = tmp_path / "recorder"
    path.write_text(RECORDER.format(log=log))
    path.chmod(0o755)
    return str(path), log


def run_script(script, recorder, **variables):
    executable, log = recorder
    base = {
        "PATH": os.environ["PATH"],
        "BLEND": "/shared/scene.blend",
        "OUT": "/shared/dataset",
        "BLENDER": executable,
        "PYTHON": executable,
    }
    env = {key: value for key, value in {**base, **variables}.items() if value is not None}
    result = subprocess.run(
        [shutil.which("bash"), script], env=env, capture_output=True, text=True, timeout=30
    )
    calls = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    log.unlink(missing_ok=True)
    return result, calls


def array_task(task, count, **variables):
    return {"SLURM_ARRAY_TASK_ID": str(task), "SLURM_ARRAY_TASK_COUNT": str(count), **variables}


def test_blender_runner_renders_the_task_s_shard(recorder):
    result, calls = run_script(
        ARRAY_SCRIPT,
        recorder,
        **array_task(3, 4, SLURM_CPUS_PER_TASK="2"),
        FRAMES="1-100:2",
        GT_DEVICE="OPTIX",
        GT_ARGS="--samples 64  --normal",
    )
    assert result.returncode == 0, result.stderr
    assert calls == [
        [
            "-b",
            "--threads",
            "2",
            "/shared/scene.blend",
            "--command",
            "ground_truth",
            "render",
            "--output",
            "/shared/dataset",
            "--shard",
            "3/4",
            "--frames",
            "1-100:2",
            "--device",
            "OPTIX",
            "--samples",
            "64",
            "--normal",
        ]
    ]
    assert "Shard 3/4 on " in result.stdout


def test_python_runner_takes_the_blend_after_the_command(recorder):
    result, calls = run_script(ARRAY_SCRIPT, recorder, **array_task(1, 2), GT_RUNNER="python")
    assert result.returncode == 0, result.stderr
    assert calls == [
        [
            "-m",
            "ground_truth",
            "render",
            "/shared/scene.blend",
            "--output",
            "/shared/dataset",
            "--shard",
            "1/2",
        ]
    ]


def test_one_shard_submitted_again_keeps_its_place_with_gt_shards(recorder):
    # sbatch --array=3 --export=ALL,GT_SHARDS=8,...: a one-task array that is shard 3 of 8.
    result, calls = run_script(ARRAY_SCRIPT, recorder, **array_task(3, 1), GT_SHARDS="8")
    assert result.returncode == 0, result.stderr
    assert calls[0][calls[0].index("--shard") + 1] == "3/8"


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        (array_task(0, 4), "array task 0 is not a shard of 1..4: task IDs are shard numbers"),
        (array_task(3, 1), "submit --array=1-1 (and set GT_SHARDS when submitting some"),
        ({}, "submit it as an array, one task per shard: --array=1-N"),
        ({**array_task(1, 4), "BLEND": None}, "set BLEND to the .blend file"),
        ({**array_task(1, 4), "OUT": ""}, "set OUT to the dataset folder"),
        ({**array_task(1, 4), "GT_RUNNER": "maya"}, "GT_RUNNER must be blender or python"),
        ({**array_task(1, 4), "SLURM_ARRAY_TASK_COUNT": None}, "set GT_SHARDS"),
    ],
)
def test_bad_submissions_are_refused_before_rendering(recorder, variables, message):
    result, calls = run_script(ARRAY_SCRIPT, recorder, **variables)
    assert result.returncode == 2
    assert message in result.stderr
    assert calls == []


def test_finalize_script_for_both_runners(recorder):
    result, blender_calls = run_script(FINALIZE_SCRIPT, recorder, FRAMES="1-8")
    assert result.returncode == 0, result.stderr
    result, python_calls = run_script(FINALIZE_SCRIPT, recorder, GT_RUNNER="python")
    assert result.returncode == 0, result.stderr
    assert blender_calls + python_calls == [
        [
            "-b",
            "/shared/scene.blend",
            "--command",
            "ground_truth",
            "finalize",
            "/shared/dataset",
            "--frames",
            "1-8",
        ],
        ["-m", "ground_truth", "finalize", "/shared/scene.blend", "/shared/dataset"],
    ]
    result, calls = run_script(FINALIZE_SCRIPT, recorder, BLEND="")
    assert result.returncode == 2 and "set BLEND" in result.stderr and calls == []


@pytest.mark.needs_shards
@pytest.mark.parametrize("runner", ["blender", "python"])
def test_the_commands_are_accepted_by_the_command_line(cli_parser, recorder, runner):
    task = array_task(2, 4, SLURM_CPUS_PER_TASK="2")
    options = {"FRAMES": "1-9", "GT_RUNNER": runner}
    _, render = run_script(
        ARRAY_SCRIPT, recorder, **task, **options, GT_DEVICE="CUDA", GT_ARGS="--samples 8"
    )
    _, finalize = run_script(FINALIZE_SCRIPT, recorder, **options)
    for (argv,) in (render, finalize):
        cli_parser.parse_args(command_line_args(argv))


def command_line_args(argv):
    """The headless command's own arguments in a recorded Blender or Python command line."""
    if argv[0] == "-m":  # -m ground_truth COMMAND FILE.blend ARGS
        return [argv[2], *argv[4:]]
    return argv[argv.index("--command") + 2 :]
