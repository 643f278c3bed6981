"""Every shell command of the README runs as written, on a small scene.

The README's ``bash`` blocks are read in order and each command is run with its
placeholders (``scene.blend``, ``DIR``, ``OUT``, ...) replaced by test files. ``blender``
is a stand-in on ``PATH`` that runs what the real one would (``--command ground_truth``
is ``python -m ground_truth``; ``--command extension`` is Blender's extension tool from the
bpy module), since this machine has the bpy module and no Blender install. Optional parts
of a synopsis (``[--samples N]``) are checked by the real parser. A few commands need what a
test cannot have here (several GPUs, the test command itself); they are listed in
``NOT_RUN`` with the test that covers them instead.
"""

import os
import re
import shlex
import subprocess
import sys
import tempfile

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Commands not run here, and why (each is covered elsewhere).
NOT_RUN = {
    "bash tools/test.sh": "this very suite",
    "for gpu in": "needs several GPUs (tests/blender/test_devices.py covers --device)",
    "sbatch": "needs a SLURM cluster: tests/farm/test_slurm_render.py submits these scripts",
    "bash benchmarks/run.sh": "takes many minutes; run by hand (its figures are in the README)",
}

BLENDER = """#!/usr/bin/env bash
# A stand-in for the blender command line, for the README's commands.
set -euo pipefail
file=""
if [ "${1:-}" = "-b" ]; then file="$2"; shift 2; fi
[ "${1:-}" = "--command" ] || { echo "stand-in: only --command is known" >&2; exit 64; }
what="$2"; shift 2
if [ "$what" = "extension" ]; then
    exec "$GT_TEST_PYTHON" "$GT_EXTENSION_TOOL" "$@"
fi
verb="$1"; shift
if [ -n "$file" ]; then
    exec "$GT_TEST_PYTHON" -m ground_truth "$verb" "$file" "$@"
fi
exec "$GT_TEST_PYTHON" -m ground_truth "$verb" "$@"
"""


def readme_commands():
    """The shell commands of the README's ``bash`` blocks, in order, one per entry.

    A line ending in a backslash, or a synopsis line starting with an optional part
    (``[--flag]``), continues the command before it.
    """
    with open(os.path.join(REPO, "README.md"), encoding="utf-8") as file:
        text = file.read()
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", text, re.DOTALL):
        joined, open_line = [], False
        for line in (line.strip() for line in block.splitlines()):
            if not line:
                continue
            if joined and (open_line or line.startswith("[")):
                joined[-1] += " " + line.rstrip("\\").strip()
            else:
                joined.append(line.rstrip("\\").strip())
            open_line = line.endswith("\\")
        commands.extend(_loops(joined))
    return commands


def _loops(lines):
    """Keep a shell loop (for ... done) as one command."""
    result, loop = [], []
    for line in lines:
        if line.startswith("for ") or loop:
            loop.append(line)
            if line == "done":
                result.append("; ".join(loop))
                loop = []
        else:
            result.append(line)
    return result


def strip_comment(command):
    return command.split("  #")[0].strip()


def optional_parts(command):
    """``[--flag VALUE]`` parts of a synopsis, and the command without them."""
    parts = re.findall(r"\[([^\]]+)\]", command)
    bare = re.sub(r"\s*\[[^\]]+\]", "", command).replace(" ...", "").strip()
    return bare, parts


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    """A scene file, a PATH with the ``blender`` stand-in, and the placeholders' values."""
    pytest.importorskip("bpy", reason="the README's commands render with the bpy module")
    import bpy

    root = tmp_path_factory.mktemp("readme")
    link = tempfile.mkdtemp(prefix="gt-readme-")
    os.symlink(REPO, os.path.join(link, "ground_truth"))
    scene = root / "scene.blend"
    script = root / "scene.py"
    script.write_text(
        "import sys, bpy, ground_truth\n"
        "ground_truth.register()\n"
        "bpy.ops.wm.read_factory_settings(use_empty=True)\n"
        "s = bpy.context.scene\n"
        "s.render.engine = 'CYCLES'; s.cycles.samples = 1; s.cycles.use_denoising = False\n"
        "s.render.resolution_x, s.render.resolution_y = 32, 24\n"
        "s.frame_start, s.frame_end = 1, 4\n"
        "bpy.ops.mesh.primitive_cube_add(location=(0, 0, 0))\n"
        "cam = bpy.data.objects.new('Camera', bpy.data.cameras.new('Camera'))\n"
        "cam.location = (0, 0, 6); s.collection.objects.link(cam); s.camera = cam\n"
        "bpy.ops.ground_truth.add_class(name='Cube')\n"
        "bpy.context.view_layer.objects.active = s.objects['Cube']\n"
        "s.objects['Cube'].select_set(True)\n"
        "bpy.ops.ground_truth.assign_class()\n"
        "bpy.ops.wm.save_as_mainfile(filepath=sys.argv[1])\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLURM_", "JOB_"))}
    env["PYTHONPATH"] = link
    subprocess.run([sys.executable, str(script), str(scene)], env=env, check=True, timeout=120)
    bin_dir = root / "bin"
    bin_dir.mkdir()
    (bin_dir / "blender").write_text(BLENDER)
    (bin_dir / "blender").chmod(0o755)
    (bin_dir / "python").write_text('#!/usr/bin/env bash\nexec "$GT_TEST_PYTHON" "$@"\n')
    (bin_dir / "python").chmod(0o755)
    tool = os.path.join(
        bpy.utils.system_resource("SCRIPTS"), "addons_core", "bl_pkg", "cli", "blender_ext.py"
    )
    env.update(
        PATH=f"{bin_dir}{os.pathsep}{env['PATH']}",
        GT_TEST_PYTHON=sys.executable,
        GT_EXTENSION_TOOL=tool,
    )
    values = {
        "scene.blend": str(scene),
        "/folder/holding/the/extension": link,
        "DIR-voc": str(root / "voc"),
        "DATASET": str(root / "dataset"),
        "DIR": str(root / "dataset"),
        "OUT": str(root / "export"),
        "stats.png": str(root / "stats.png"),
    }
    return {"env": env, "values": values, "root": root}


def substitute(command, values):
    for placeholder, value in values.items():
        command = re.sub(rf"(?<![\w/-]){re.escape(placeholder)}(?![\w-])", value, command)
    return command


def test_every_readme_command_runs(sandbox, tmp_path):
    ran, skipped = [], []
    for raw in readme_commands():
        command = strip_comment(raw)
        reason = next((why for start, why in NOT_RUN.items() if start in command), None)
        if reason is not None:
            skipped.append((command, reason))
            continue
        bare, optional = optional_parts(command)
        bare = substitute(bare, sandbox["values"])
        if "--frames 1-1000" in bare:
            bare = bare.replace("--frames 1-1000", "--frames 1-16")  # the same, smaller
        cwd = str(tmp_path) if "demo.sh" not in bare and "build" not in bare else REPO
        if "tools/demo.sh" in bare:
            bare += f" {tmp_path / 'demo'} --width 64 --height 48 --samples 2"
        if "tools/build.sh" in bare:
            bare += f" {tmp_path / 'dist-script'}"
        if "--output-dir dist" in bare:
            bare = bare.replace("dist", str(tmp_path / "dist"))
        if " export " in bare and os.path.exists(sandbox["values"]["OUT"]):
            bare += " --replace"
        done = subprocess.run(
            ["bash", "-c", bare],
            env=sandbox["env"],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=600,
        )
        # finalize exits 1 naming missing frames while a dataset is incomplete.
        missing = " finalize " in bare and "missing" in done.stderr
        assert done.returncode == (1 if missing else 0), (bare, done.stdout[-1500:], done.stderr)
        ran.append(bare)
        for part in optional:
            check_optional(sandbox, bare, part)
    assert len(ran) >= 12, ran
    assert {why for _command, why in skipped} <= set(NOT_RUN.values())


def check_optional(sandbox, command, part):
    """The real parser takes ``part`` (an optional flag of a synopsis) on ``command``."""
    words = shlex.split(command)
    if "ground_truth" not in words or ("--output" not in words and "check" not in words):
        return
    verb_at = words.index("ground_truth") + 1
    verb = words[verb_at]
    rest = [w for w in words[verb_at + 1 :] if not w.endswith(".blend")]
    part = re.sub(r"\bN\b", "4", substitute(part, sandbox["values"]))  # a number for N
    argv = [verb, *rest, *part.split()]
    probe = (
        "import sys; from ground_truth.commands import cli; "
        "parser = cli.build_parser(); parser.parse_args(sys.argv[1:])"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, *argv],
        env=sandbox["env"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, (part, done.stderr)
