"""The SLURM test harness, proven on tiny shell jobs: arrays run every task with SLURM's array
variables (which the shard parser then reads), and a cancelled task is missing."""

import os
import time

import pytest

from ground_truth.dataset.shards import Shard, shard_from_environment

RECORD_TASK = """#!/bin/sh
env | grep '^SLURM_ARRAY_' > "{out}/task-$SLURM_ARRAY_TASK_ID.tmp"
mv "{out}/task-$SLURM_ARRAY_TASK_ID.tmp" "{out}/task-$SLURM_ARRAY_TASK_ID"
"""

# The victim sleeps far longer than the test waits, so it can only end by being cancelled, however
# slow the machine is between seeing it start and cancelling it.
SLOW_TASK = """#!/bin/sh
touch "{out}/started-$SLURM_ARRAY_TASK_ID"
if [ "$SLURM_ARRAY_TASK_ID" = {victim} ]; then sleep 600; else sleep 1; fi
touch "{out}/done-$SLURM_ARRAY_TASK_ID"
"""


def write_script(folder, text, **values):
    path = folder / "job.sh"
    path.write_text(text.format(**values))
    path.chmod(0o755)
    return str(path)


def read_env(path):
    return dict(line.split("=", 1) for line in path.read_text().splitlines())


@pytest.mark.parametrize(
    ("array", "tasks"), [("0-3", [0, 1, 2, 3]), ("5-8", [5, 6, 7, 8]), ("0-15:5", [0, 5, 10, 15])]
)
def test_every_array_task_runs_with_its_id_and_count(slurm_cluster, tmp_path, array, tasks):
    out = tmp_path / "out"
    out.mkdir()
    script = write_script(tmp_path, RECORD_TASK, out=out)
    job = slurm_cluster.sbatch(
        script, f"--array={array}", f"--output={tmp_path}/slurm-%a.out", f"--chdir={tmp_path}"
    )
    slurm_cluster.wait(job, timeout=60)
    assert sorted(os.listdir(out)) == sorted(f"task-{task}" for task in tasks)
    assert slurm_cluster.states(job) == {str(task): ("COMPLETED", "0:0") for task in tasks}
    shards = []
    for task in tasks:
        env = read_env(out / f"task-{task}")
        assert env["SLURM_ARRAY_TASK_ID"] == str(task)
        assert env["SLURM_ARRAY_TASK_COUNT"] == "4"
        assert (env["SLURM_ARRAY_TASK_MIN"], env["SLURM_ARRAY_TASK_MAX"]) == (
            str(tasks[0]),
            str(tasks[-1]),
        )
        shards.append(shard_from_environment(env))
    # What SLURM really sets gives shards 1/4 to 4/4, whatever the array's first ID and step.
    assert shards == [Shard(index, 4) for index in range(4)]


def test_a_cancelled_task_is_missing_and_the_others_complete(slurm_cluster, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    script = write_script(tmp_path, SLOW_TASK, out=out, victim=2)
    job = slurm_cluster.sbatch(
        script, "--array=0-3", f"--output={tmp_path}/slurm-%a.out", f"--chdir={tmp_path}"
    )
    deadline = time.monotonic() + 60
    while not (out / "started-2").exists():
        assert time.monotonic() < deadline, f"task 2 never started: {slurm_cluster.queued(job)}"
        time.sleep(0.05)
    assert slurm_cluster.queued(job).get("2") == "RUNNING"
    slurm_cluster.scancel(job, 2)
    slurm_cluster.wait(job, timeout=60)
    assert sorted(os.listdir(out)) == [
        "done-0",
        "done-1",
        "done-3",
        "started-0",
        "started-1",
        "started-2",
        "started-3",
    ]
    states = slurm_cluster.states(job)
    assert states["2"][0] == "CANCELLED"
    assert {task: states[task] for task in "013"} == {task: ("COMPLETED", "0:0") for task in "013"}
