"""A dataset rendered as a SLURM job array with jobs/slurm/, against a one-process render.

The demo scene (a cube moving over 8 frames, 32x24 pixels, one sample) is rendered once in one
process and once as 4 shards, one array task each, then finalized by the dependent finalize
job: the label maps, depth, meta, COCO and dataset.json must be the same. A task cancelled
midway leaves frames missing, which finalize names while failing; rendering that shard again
completes the dataset.

These tests need the headless command's shard support, which they are written against:

- ``python -m ground_truth render FILE.blend --output DIR [--frames SPEC] [--shard I/N]
  [--shard-count N] [--samples N] ...``: with ``--shard I/N`` (I from 1) it renders
  ``shards.shard_frames(frames, I - 1, N)`` of the frame list; without it, the shard of
  ``shards.shard_from_environment(os.environ, count=--shard-count)`` (a SLURM array task), or
  every frame outside a scheduler.
- ``python -m ground_truth finalize FILE.blend DIR --frames SPEC``: exit 0 when every frame of
  SPEC is complete; else exit 1 with a stderr line
  ``ground_truth: N frame(s) missing...: FRAMES`` (FRAMES in the --frames syntax).

The module skips itself until ``python -m ground_truth render --help`` lists ``--shard``.
"""

import importlib.util
import json
import os
import re
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from ground_truth.codecs import exr, png
from ground_truth.dataset.framespec import parse_frames
from ground_truth.dataset.shards import shard_frames

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ARRAY_SCRIPT = os.path.join(REPO, "jobs", "slurm", "ground_truth_array.sbatch")
FINALIZE_SCRIPT = os.path.join(REPO, "jobs", "slurm", "ground_truth_finalize.sbatch")
# The folder holding the link named ground_truth (tests/conftest.py), for the tasks' PYTHONPATH.
IMPORT_DIR = next(p for p in sys.path if os.path.islink(os.path.join(p, "ground_truth")))
FRAMES = "1-8"
SHARDS = 4
# Samples that make a frame of the kill test take about a second on one core, so that a task
# can be cancelled between two of its frames. Depth and labels come from the first sample, so
# they still equal the one-sample reference.
KILL_SAMPLES = "2048"


def python_env():
    return {**os.environ, "PYTHONPATH": IMPORT_DIR}


def _shard_support():
    """None when ``python -m ground_truth render`` takes --shard, else why not."""
    try:
        result = subprocess.run(
            [sys.executable, "-m", "ground_truth", "render", "--help"],
            env=python_env(),
            capture_output=True,
            text=True,
            timeout=120,
        )
    except (OSError, subprocess.SubprocessError) as error:
        return str(error)
    if result.returncode != 0 or "--shard" not in result.stdout:
        tail = (result.stdout + result.stderr).strip().splitlines()[-1:]
        return f"python -m ground_truth render --help has no --shard yet ({' '.join(tail)})"
    return None


# The tasks render with this Python's bpy module; the test process itself never imports it.
_REASON = "no bpy module" if importlib.util.find_spec("bpy") is None else _shard_support()
pytestmark = [
    pytest.mark.needs_shards,
    pytest.mark.skipif(_REASON is not None, reason=f"needs the shard support: {_REASON}"),
]

BUILD_SCENE = textwrap.dedent(
    """
    import importlib.util, os, sys
    repo, path = sys.argv[1], sys.argv[2]
    spec = importlib.util.spec_from_file_location(
        "render_demo", os.path.join(repo, "demo", "render_demo.py"))
    demo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(demo)
    import bpy
    demo.import_extension()
    scene, objects = demo.build_scene(32, 24, 1)
    demo.label_scene(scene, objects)
    scene.cycles.use_denoising = False
    scene.cycles.use_adaptive_sampling = False  # the kill test's samples all count
    scene.frame_start, scene.frame_end = 1, 8
    cube = objects["cube"]
    cube.keyframe_insert("location", frame=1)
    cube.location.x += 1.5
    cube.rotation_euler.z += 0.8
    cube.keyframe_insert("location", frame=8)
    cube.keyframe_insert("rotation_euler", frame=8)
    bpy.ops.wm.save_as_mainfile(filepath=path)
    """
)


def run_ground_truth(*argv, check=True):
    result = subprocess.run(
        [sys.executable, "-m", "ground_truth", *argv],
        env=python_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    if check:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


@pytest.fixture(scope="module")
def blend(tmp_path_factory):
    path = tmp_path_factory.mktemp("scene") / "demo.blend"
    subprocess.run(
        [sys.executable, "-c", BUILD_SCENE, REPO, str(path)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return str(path)


@pytest.fixture(scope="module")
def reference(blend, tmp_path_factory):
    """The same frames rendered by one process, without shards."""
    out = tmp_path_factory.mktemp("reference") / "dataset"
    run_ground_truth("render", blend, "--output", str(out), "--frames", FRAMES)
    return out


def job_env(blend, out, **extra):
    return {
        **python_env(),
        "BLEND": blend,
        "OUT": str(out),
        "FRAMES": FRAMES,
        "GT_RUNNER": "python",
        "PYTHON": sys.executable,
        **extra,
    }


def submit_array(cluster, logs, env, array=f"1-{SHARDS}", script=ARRAY_SCRIPT):
    return cluster.sbatch(
        script,
        f"--array={array}",
        "--cpus-per-task=1",
        f"--output={logs}/render-%A_%a.out",
        f"--chdir={logs}",
        env=env,
    )


def submit_finalize(cluster, logs, env, after):
    return cluster.sbatch(
        FINALIZE_SCRIPT,
        f"--dependency=afterany:{after}",
        f"--output={logs}/finalize-%j.out",
        f"--chdir={logs}",
        env=env,
    )


def log_text(logs):
    return "\n".join(
        f"--- {name}\n{(logs / name).read_text()}" for name in sorted(os.listdir(logs))
    )


def without_timings(value):
    """JSON with the keys that hold times or durations removed, the rest kept as it is."""
    if isinstance(value, dict):
        return {
            key: without_timings(item)
            for key, item in value.items()
            if not re.search(r"time|seconds|duration|date|created", key)
        }
    if isinstance(value, list):
        return [without_timings(item) for item in value]
    return value


def read_json(path):
    with open(path, encoding="utf-8") as file:
        return without_timings(json.load(file))


def assert_same_dataset(out, reference, *, rgb=True):
    """Label maps and depth array-equal, meta, COCO and dataset.json equal but for timings."""
    frames = parse_frames(FRAMES)
    for frame in frames:
        name = f"{frame:06d}"
        for kind in ("class", "instance") + (("rgb",) if rgb else ()):
            ours, theirs = (png.read_png(d / kind / f"{name}.png") for d in (out, reference))
            np.testing.assert_array_equal(ours, theirs, err_msg=f"{kind} of frame {frame}")
        ours, theirs = (exr.read_exr(d / "depth" / f"{name}.exr")["Y"] for d in (out, reference))
        np.testing.assert_array_equal(ours, theirs, err_msg=f"depth of frame {frame}")
        assert read_json(out / "meta" / f"{name}.json") == read_json(
            reference / "meta" / f"{name}.json"
        )
    for path in ("annotations/coco_instances.json", "dataset.json"):
        assert read_json(out / path) == read_json(reference / path), path
    assert read_json(out / "dataset.json")["frames"] == frames


def rendered_frames(log):
    """The frames a task's log says it rendered (the command's ``Frame N (i/n)`` lines)."""
    return [int(frame) for frame in re.findall(r"^Frame (\d+) \(", log.read_text(), re.MULTILINE)]


def complete(out, frame):
    """A frame is complete once its record is written, after every one of its files."""
    return (out / ".frames" / f"{frame:06d}.json").exists()


def missing_frames(stderr):
    """The frames a failing finalize names: ``N frame(s) missing...: FRAMES``."""
    match = re.search(r"(\d+) frame\(s\) missing[^:\n]*: (.+)$", stderr, flags=re.MULTILINE)
    assert match, stderr
    frames = parse_frames(match[2])
    assert int(match[1]) == len(frames)
    return frames


def test_shards_on_slurm_give_the_one_process_dataset(slurm_cluster, blend, reference, tmp_path):
    out, logs = tmp_path / "dataset", tmp_path / "logs"
    logs.mkdir()
    env = job_env(blend, out)
    array = submit_array(slurm_cluster, logs, env)
    finalize = submit_finalize(slurm_cluster, logs, env, after=array)
    slurm_cluster.wait(finalize, timeout=180)
    states = {**slurm_cluster.states(array), "finalize": slurm_cluster.states(finalize)[""]}
    expected = {str(task): ("COMPLETED", "0:0") for task in range(1, SHARDS + 1)}
    assert states == {**expected, "finalize": ("COMPLETED", "0:0")}, log_text(logs)
    for task in range(1, SHARDS + 1):
        log = logs / f"render-{array}_{task}.out"
        assert f"Shard {task}/{SHARDS} on " in log.read_text()
        assert rendered_frames(log) == list(shard_frames(parse_frames(FRAMES), task - 1, SHARDS))
    assert_same_dataset(out, reference)


def test_shard_from_the_array_variables_without_the_flag(slurm_cluster, blend, reference, tmp_path):
    # An array that starts at 5: each task finds its shard in SLURM's variables alone.
    out, logs = tmp_path / "dataset", tmp_path / "logs"
    logs.mkdir()
    script = tmp_path / "env_shard.sbatch"
    script.write_text(
        "#!/bin/sh\n"
        'exec "$PYTHON" -m ground_truth render "$BLEND" --output "$OUT" --frames "$FRAMES"\n'
    )
    env = job_env(blend, out)
    array = submit_array(slurm_cluster, logs, env, array="5-8", script=str(script))
    finalize = submit_finalize(slurm_cluster, logs, env, after=array)
    slurm_cluster.wait(finalize, timeout=180)
    assert slurm_cluster.states(finalize)[""] == ("COMPLETED", "0:0"), log_text(logs)
    for index, task in enumerate(range(5, 9)):
        log = logs / f"render-{array}_{task}.out"
        assert rendered_frames(log) == list(shard_frames(parse_frames(FRAMES), index, SHARDS))
    assert_same_dataset(out, reference)


def test_a_cancelled_shard_is_named_by_finalize_and_rendering_it_again_completes(
    slurm_cluster, blend, reference, tmp_path
):
    out, logs = tmp_path / "dataset", tmp_path / "logs"
    logs.mkdir()
    env = job_env(blend, out, GT_ARGS=f"--samples {KILL_SAMPLES}")
    frames = parse_frames(FRAMES)
    victim = 2
    victim_frames = list(shard_frames(frames, victim - 1, SHARDS))
    array = submit_array(slurm_cluster, logs, env)
    finalize = submit_finalize(slurm_cluster, logs, env, after=array)

    # Cancel the task once its first frame is complete, while it renders the next.
    deadline = time.monotonic() + 120
    while not complete(out, victim_frames[0]):
        assert time.monotonic() < deadline, log_text(logs)
        time.sleep(0.02)
    slurm_cluster.scancel(array, victim)
    slurm_cluster.wait(finalize, timeout=180)
    assert slurm_cluster.states(array)[str(victim)][0] == "CANCELLED", (
        f"task {victim} finished before it could be cancelled: raise KILL_SAMPLES\n"
        + log_text(logs)
    )
    lost = [frame for frame in frames if not complete(out, frame)]
    assert lost and set(lost) <= set(victim_frames[1:]), lost

    # afterany: finalize ran, named exactly the missing frames and failed.
    assert slurm_cluster.states(finalize)[""] == ("FAILED", "1:0"), log_text(logs)
    finalize_log = (logs / f"finalize-{finalize}.out").read_text()
    assert missing_frames(finalize_log) == lost
    result = run_ground_truth("finalize", blend, str(out), "--frames", FRAMES, check=False)
    assert result.returncode == 1 and missing_frames(result.stderr) == lost

    # The documented recovery: that one shard again, then finalize again.
    again = submit_array(slurm_cluster, logs, {**env, "GT_SHARDS": str(SHARDS)}, array=victim)
    finalize = submit_finalize(slurm_cluster, logs, env, after=again)
    slurm_cluster.wait(finalize, timeout=180)
    assert slurm_cluster.states(again)[str(victim)] == ("COMPLETED", "0:0"), log_text(logs)
    assert slurm_cluster.states(finalize)[""] == ("COMPLETED", "0:0"), log_text(logs)
    # More samples change the RGB only: labels, depth and annotations equal the reference.
    assert_same_dataset(out, reference, rgb=False)
