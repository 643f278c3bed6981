"""The Flamenco job type, compiled by Node.js with a stand-in for Flamenco's author API.

The stand-in records what Flamenco's Manager would: tasks with their type, commands and
dependencies, in the order the job adds them. Frame chunks are checked against the command
line's own frame parser, not against the job type's JavaScript.
"""

import json
import os
import random
import subprocess

import pytest

from ground_truth.dataset.framespec import parse_frames

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
JOB_FILE = os.path.join(REPO, "jobs", "flamenco", "ground_truth.js")

# Flamenco 3's author API as the job compiler scripts see it (goja in the Manager): author.Task,
# author.Command, task.addCommand, task.addDependency, job.addTask; print() for logging. Settings
# arrive with every key of JOB_TYPE filled in, as the Blender add-on submits them.
HARNESS = r"""
const fs = require("fs");
const vm = require("vm");
const [file, casesJson] = process.argv.slice(1);  // node -e: no script name
const context = {
    author: {
        Task(name, type) {
            return {
                name, type, commands: [], dependencies: [],
                addCommand(command) { this.commands.push(command); },
                addDependency(task) { this.dependencies.push(task.name); },
            };
        },
        Command(type, parameters) { return { type, parameters }; },
    },
    print() {},
};
vm.createContext(context);
vm.runInContext(fs.readFileSync(file, "utf8"), context, { filename: file });
const jobType = vm.runInContext("JOB_TYPE", context);
const compileJob = vm.runInContext("compileJob", context);
const results = JSON.parse(casesJson).map((given) => {
    const settings = {};
    for (const setting of jobType.settings) {
        if (setting.default !== undefined) settings[setting.key] = setting.default;
    }
    Object.assign(settings, given);
    const tasks = [];
    const job = { settings, created: new Date(), addTask(task) { tasks.push(task); } };
    try {
        compileJob(job);
    } catch (error) {
        return { error: String(error) };
    }
    return { tasks: tasks.map(({ name, type, commands, dependencies }) =>
        ({ name, type, commands, dependencies })) };
});
console.log(JSON.stringify({ jobType, results }));
"""

BASE = {
    "blendfile": "/farm/shots/scene.blend",
    "output_dir": "/farm/datasets/scene",
    "scene": "Scene",
}


def compile_jobs(node, cases):
    """Compile each settings dict; returns JOB_TYPE and, per case, tasks or an error."""
    result = subprocess.run(
        [node, "-e", HARNESS, JOB_FILE, json.dumps([{**BASE, **case} for case in cases])],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    output = json.loads(result.stdout)
    return output["jobType"], output["results"]


def blender_args(task):
    (command,) = task["commands"]
    assert command["type"] == "blender-render"
    parameters = command["parameters"]
    assert parameters["exe"] == "{blender}" and parameters["exeArgs"] == "{blenderArgs}"
    assert parameters["argsBefore"] == [] and parameters["blendfile"] == BASE["blendfile"]
    args = parameters["args"]
    assert args[:2] == ["--command", "ground_truth"]
    return args[2:]


def option(args, name):
    return args[args.index(name) + 1]


def check_job(tasks, frames, chunk_size):
    """Chunked renders covering every frame once, in order; finalize last, after all of them."""
    *renders, finalize = tasks
    chunks = []
    for task in renders:
        args = blender_args(task)
        assert task["type"] == "blender" and task["dependencies"] == []
        assert args[:3] == ["render", "--output", BASE["output_dir"]]
        assert option(args, "--scene") == "Scene"
        chunk = parse_frames(option(args, "--frames"))
        assert task["name"] == f"render-{option(args, '--frames')}"
        assert 1 <= len(chunk) <= chunk_size
        chunks.append(chunk)
    assert [frame for chunk in chunks for frame in chunk] == frames
    assert all(len(chunk) == chunk_size for chunk in chunks[:-1])
    assert finalize["name"] == "finalize" and finalize["type"] == "blender"
    assert sorted(finalize["dependencies"]) == sorted(task["name"] for task in renders)
    assert len(set(finalize["dependencies"])) == len(renders)
    args = blender_args(finalize)
    assert args[:2] == ["finalize", BASE["output_dir"]]
    assert parse_frames(option(args, "--frames")) == frames
    assert option(args, "--scene") == "Scene"
    return [blender_args(task) for task in renders]


def test_job_type_declares_flamenco_settings(node):
    job_type, _ = compile_jobs(node, [])
    assert job_type["label"] == "Ground Truth Dataset"
    keys = [setting["key"] for setting in job_type["settings"]]
    assert {"frames", "chunk_size", "output_dir", "blendfile", "scene", "device"} <= set(keys)
    assert len(keys) == len(set(keys))
    for setting in job_type["settings"]:
        assert setting["type"] in {"string", "int32", "float", "bool"}
        assert setting.get("visible", True) in {True, False, "submission", "web", "hidden", "none"}
        if "choices" in setting:
            assert setting["type"] == "string" and setting["default"] in setting["choices"]


def test_chunks_cover_every_frame_once_and_finalize_runs_last(node):
    _, (result,) = compile_jobs(node, [{"frames": "1-25", "chunk_size": 10}])
    renders = check_job(result["tasks"], list(range(1, 26)), 10)
    assert [option(args, "--frames") for args in renders] == ["1-10", "11-20", "21-25"]
    # The scene's own device and samples unless the job says otherwise.
    assert all(
        "--device" not in a and "--samples" not in a and "--labels-only" not in a for a in renders
    )


def test_steps_lists_and_render_options_reach_every_render_task(node):
    spec = "1-100:3, 7, 200-203"
    case = {
        "frames": spec,
        "chunk_size": 4,
        "device": "OPTIX",
        "samples": 16,
        "labels_only": True,
        "extra_args": " --normal   --flow ",
    }
    _, (result,) = compile_jobs(node, [case])
    for args in check_job(result["tasks"], parse_frames(spec), 4):
        assert option(args, "--device") == "OPTIX" and option(args, "--samples") == "16"
        assert args[-3:] == ["--labels-only", "--normal", "--flow"]


def random_spec(rng):
    parts = []
    for _ in range(rng.randrange(1, 5)):
        start = rng.randrange(0, 300)
        kind = rng.randrange(3)
        if kind == 0:
            parts.append(str(start))
        elif kind == 1:
            parts.append(f"{start}-{start + rng.randrange(0, 60)}")
        else:
            parts.append(f"{start}-{start + rng.randrange(0, 90)}:{rng.randrange(1, 7)}")
    return ",".join(parts)


def test_many_frame_lists_and_chunk_sizes(node):
    rng = random.Random(18)
    cases = [{"frames": random_spec(rng), "chunk_size": rng.randrange(1, 30)} for _ in range(60)]
    _, results = compile_jobs(node, cases)
    for case, result in zip(cases, results, strict=True):
        assert "error" not in result, case
        check_job(result["tasks"], parse_frames(case["frames"]), case["chunk_size"])


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ({"frames": ""}, "frames is empty"),
        ({"frames": "5-1"}, "bad frame range '5-1'"),
        ({"frames": "1-9:0"}, "bad frame range '1-9:0'"),
        ({"frames": "1-9,x"}, "bad frame range 'x' in '1-9,x'"),
        ({"frames": "1-9", "chunk_size": 0}, "chunk_size must be a whole number of at least 1"),
        ({"frames": "1-9", "output_dir": ""}, "output_dir is empty"),
    ],
)
def test_bad_settings_are_refused_with_the_reason(node, case, message):
    _, (result,) = compile_jobs(node, [case])
    assert message in result.get("error", ""), result
    # The command line refuses the same frame specifications.
    if case.get("frames", "1") != "1-9" and case["frames"]:
        with pytest.raises(ValueError, match="bad frame range"):
            parse_frames(case["frames"])


@pytest.mark.needs_shards
def test_the_commands_are_accepted_by_the_command_line(node, cli_parser):
    case = {"frames": "1-30:2", "chunk_size": 4, "device": "CUDA", "samples": 8}
    _, results = compile_jobs(node, [case, {**case, "labels_only": True, "extra_args": "--flow"}])
    for result in results:
        for task in result["tasks"]:
            cli_parser.parse_args(blender_args(task))
