"""Frames per minute with one and with two worker processes on this machine.

Run: ``bash benchmarks/throughput.sh`` (or ``python benchmarks/throughput.py`` with the
bpy module). The demo scene is saved once; each configuration renders the same frames
with the headless command (``python -m ground_truth render``): one process for all of
them, then two processes at once, each rendering one of two shards into the same
folder. Printed for a full render (the demo's 32 samples, RGB and labels) and for
labels-only mode, with wall and process CPU time, the median of ``--repeats`` runs in
alternating order.
"""

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)


def save_demo(folder, width, height, samples):
    """The demo scene, labelled, saved as ``folder/demo.blend``; returns its path."""
    script = os.path.join(folder, "save_demo.py")
    blend = os.path.join(folder, "demo.blend")
    with open(script, "w", encoding="utf-8") as file:
        file.write(
            "import sys\n"
            f"sys.path.insert(0, {os.path.join(REPO, 'demo')!r})\n"
            "import bpy, render_demo\n"
            "render_demo.import_extension()\n"
            f"scene, objects = render_demo.build_scene({width}, {height}, {samples})\n"
            "render_demo.label_scene(scene, objects)\n"
            "scene.ground_truth.output_preview = False\n"
            "scene.frame_start, scene.frame_end = 1, 10000\n"
            f"bpy.ops.wm.save_as_mainfile(filepath={blend!r})\n"
        )
    subprocess.run([sys.executable, script], check=True, capture_output=True)
    return blend


def environment(import_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLURM_", "JOB_"))}
    env["PYTHONPATH"] = import_path
    return env


def run(import_path, blend, output, frames, processes, labels_only):
    """Wall seconds and children's CPU seconds of one configuration."""
    shutil.rmtree(output, ignore_errors=True)
    base = [sys.executable, "-m", "ground_truth", "render", blend, "--output", output]
    base += ["--frames", f"1-{frames}"] + (["--labels-only"] if labels_only else [])
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    children = [
        subprocess.Popen(
            [*base, "--shard", f"{index + 1}/{processes}"] if processes > 1 else base,
            env=environment(import_path),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for index in range(processes)
    ]
    codes = [child.wait() for child in children]
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if any(codes):
        raise SystemExit(f"a render failed ({codes})")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=480)
    parser.add_argument("--samples", type=int, default=32)
    parser.add_argument("--full-frames", type=int, default=6)
    parser.add_argument("--labels-frames", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args(argv)

    work = tempfile.mkdtemp(prefix="gt-throughput-")
    import_path = os.path.join(work, "import")
    os.makedirs(import_path)
    os.symlink(REPO, os.path.join(import_path, "ground_truth"))
    blend = save_demo(work, args.width, args.height, args.samples)
    print(
        f"Throughput: demo scene at {args.width}x{args.height}, {os.cpu_count()} cores; "
        f"median of {args.repeats} run(s) each, alternating order"
    )
    for mode, frames, labels_only in (
        (f"full ({args.samples} samples)", args.full_frames, False),
        ("labels-only", args.labels_frames, True),
    ):
        results = {1: [], 2: []}
        for repeat in range(args.repeats):
            order = (1, 2) if repeat % 2 == 0 else (2, 1)
            for processes in order:
                output = os.path.join(work, f"out-{processes}")
                results[processes].append(
                    run(import_path, blend, output, frames, processes, labels_only)
                )
        per_minute = {}
        for processes, runs in results.items():
            wall = statistics.median(w for w, _ in runs)
            cpu = statistics.median(c for _, c in runs)
            per_minute[processes] = frames / wall * 60.0
            walls = sorted(w for w, _ in runs)
            print(
                f"  {mode:22s} {processes} process(es): {per_minute[processes]:7.1f} frames/min "
                f"({frames} frames in {wall:.1f} s wall, range {walls[0]:.1f}-{walls[-1]:.1f}; "
                f"{cpu:.1f} s CPU)"
            )
        print(f"  {mode:22s} 2 processes / 1 process: {per_minute[2] / per_minute[1]:.2f}x")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main(sys.argv[1:])
