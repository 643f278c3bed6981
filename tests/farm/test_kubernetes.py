"""The Kubernetes manifest: an Indexed Job whose pods are the shards, a finalize Job, one claim."""

import os
import re

import pytest

from ground_truth.dataset.shards import shard_frames, shard_from_environment

yaml = pytest.importorskip("yaml", reason="PyYAML reads the Kubernetes manifest")

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MANIFEST = os.path.join(REPO, "jobs", "kubernetes", "ground_truth-indexed-job.yaml")


def documents(text=None):
    if text is None:
        with open(MANIFEST, encoding="utf-8") as file:
            text = file.read()
    return {doc["metadata"]["name"]: doc for doc in yaml.safe_load_all(text) if doc}


def option(command, name):
    assert command.count(name) == 1, (name, command)
    return command[command.index(name) + 1]


def container(job):
    (only,) = job["spec"]["template"]["spec"]["containers"]
    return only


def ground_truth_args(command):
    """The words after ``--command ground_truth``, and the .blend Blender opens."""
    assert command[:2] == ["blender", "-b"]
    assert command[3:5] == ["--command", "ground_truth"]
    return command[2], command[5:]


def test_kinds_and_api_versions():
    docs = documents()
    assert {name: (doc["apiVersion"], doc["kind"]) for name, doc in docs.items()} == {
        "ground-truth-data": ("v1", "PersistentVolumeClaim"),
        "ground-truth-render": ("batch/v1", "Job"),
        "ground-truth-finalize": ("batch/v1", "Job"),
    }
    assert "ReadWriteMany" in docs["ground-truth-data"]["spec"]["accessModes"]


def test_render_job_is_indexed_one_pod_per_shard():
    job = documents()["ground-truth-render"]
    spec = job["spec"]
    assert spec["completionMode"] == "Indexed"
    assert spec["suspend"] is True
    assert spec["template"]["spec"]["restartPolicy"] == "Never"
    blend, args = ground_truth_args(container(job)["command"])
    assert args[0] == "render"
    count = int(option(args, "--shard-count"))
    assert spec["completions"] == spec["parallelism"] == count
    # The shard comes from JOB_COMPLETION_INDEX, which Kubernetes sets: never from the manifest.
    assert "--shard" not in args
    assert "JOB_COMPLETION_INDEX" not in str(container(job).get("env", ""))
    # Each index Kubernetes hands out is one shard, and together they render every frame.
    frames = range(1, 1001)
    shards = [shard_from_environment({"JOB_COMPLETION_INDEX": str(i)}, count) for i in range(count)]
    rendered = sorted(f for shard in shards for f in shard_frames(frames, *shard))
    assert rendered == list(frames)
    assert blend.startswith("/data/") and option(args, "--output").startswith("/data/")


def test_finalize_job_reads_what_the_render_job_wrote():
    docs = documents()
    render, finalize = docs["ground-truth-render"], docs["ground-truth-finalize"]
    assert finalize["spec"]["suspend"] is True
    assert finalize["spec"]["completions"] == 1 and finalize["spec"]["backoffLimit"] == 0
    assert "completionMode" not in finalize["spec"]
    render_blend, render_args = ground_truth_args(container(render)["command"])
    blend, args = ground_truth_args(container(finalize)["command"])
    assert blend == render_blend
    assert args == ["finalize", option(render_args, "--output")]
    assert container(finalize)["image"] == container(render)["image"]
    for job in (render, finalize):
        (volume,) = job["spec"]["template"]["spec"]["volumes"]
        assert volume["persistentVolumeClaim"]["claimName"] == "ground-truth-data"
        (mount,) = container(job)["volumeMounts"]
        assert mount == {"name": volume["name"], "mountPath": "/data"}


def uncomment(text, pattern):
    """Remove the comment mark of the lines matching ``pattern``."""
    return re.sub(rf"^(\s*)# ({pattern})", r"\1\2", text, flags=re.MULTILINE)


def test_the_commented_gpu_option_is_valid_once_uncommented():
    with open(MANIFEST, encoding="utf-8") as file:
        text = file.read()
    text = uncomment(text, r"limits:$|  nvidia\.com/gpu: 1$|- --device$|- OPTIX$")
    render = container(documents(text)["ground-truth-render"])
    assert render["resources"]["limits"] == {"nvidia.com/gpu": 1}
    _blend, args = ground_truth_args(render["command"])
    assert option(args, "--device") == "OPTIX"


def test_the_commented_python_commands_match_the_blender_ones():
    with open(MANIFEST, encoding="utf-8") as file:
        text = file.read()
    python_lines = re.findall(r"# (command: \[python.*?\])", text, flags=re.DOTALL)
    assert len(python_lines) == 2
    docs = documents()
    for line, name in zip(
        python_lines, ("ground-truth-render", "ground-truth-finalize"), strict=True
    ):
        python_command = yaml.safe_load(re.sub(r"\n\s*#\s*", " ", line))["command"]
        blend, args = ground_truth_args(container(docs[name])["command"])
        assert python_command[:3] == ["python", "-m", "ground_truth"]
        # python -m ground_truth COMMAND FILE.blend ARGS...
        assert python_command[3:] == [args[0], blend, *args[1:]]


@pytest.mark.needs_shards
def test_the_commands_are_accepted_by_the_command_line(cli_parser):
    with open(MANIFEST, encoding="utf-8") as file:
        text = file.read()
    with_gpu = uncomment(text, r"limits:$|  nvidia\.com/gpu: 1$|- --device$|- OPTIX$")
    for manifest in (text, with_gpu):
        for job in documents(manifest).values():
            if job["kind"] == "Job":
                _blend, args = ground_truth_args(container(job)["command"])
                cli_parser.parse_args(args)
