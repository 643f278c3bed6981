"""Why the writer runs in a process of its own (and, as a thread, keeps its lock time short).

Run with any Python that has the bpy module (``tools/venvs.sh`` makes one):
``python benchmarks/writer_lock.py [--renders 50]``.

It renders the five-object scene of ``copies.py`` (one sample, 640x480, saving a PNG)
again and again while a background thread at the writer's lowest priority does one
fixed job per render, and prints how much longer the render takes than one alone:

- ``zlib``: about 60 to 90 ms of compression, which releases Python's lock;
- ``python``: as much CPU in Python code (the JSON encoder, a loop), which holds it,
  at Python's default switch interval (5 ms) and at the writer thread's (0.5 ms, see
  :mod:`ground_truth.render.worker`);
- ``python, in a process``: the same Python code in a child process at the lowest
  priority, as the writer runs (:mod:`ground_truth.render.writer_process`): no lock
  is shared.

The kinds take turns render by render, so that a drift of the machine's speed is
shared; the figures are medians of the per-render differences from the neighbouring
render alone.
"""

import argparse
import json
import os
import queue
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zlib

import bpy

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import copies  # noqa: E402  (the benchmark scenes)

DATA = os.urandom(1 << 20)
DOCUMENT = {"a": [{"x": i, "y": [1.0, 2.0, 3.0], "n": f"name{i}"} for i in range(400)]}


def compress():
    for _ in range(3):
        zlib.compress(DATA, 1)


def python_code():
    for _ in range(40):
        json.dumps(DOCUMENT)
        sum(i * i for i in range(20000))


# The child of the process kind: at the lowest priority, runs python_code() per line read.
CHILD = f"""
import json, os, sys, time
os.nice(19)
DOCUMENT = {DOCUMENT!r}
for line in sys.stdin:
    start = time.process_time()
    for _ in range(40):
        json.dumps(DOCUMENT)
        sum(i * i for i in range(20000))
    print((time.process_time() - start) * 1000.0, flush=True)
"""


def cpu_ms(job):
    start = time.thread_time()
    job()
    return (time.thread_time() - start) * 1000.0


# kind -> (the job beside the render, the switch interval during it)
KINDS = {
    "alone": (None, 0.005),
    "zlib": (compress, 0.005),
    "python, 5 ms switch interval": (python_code, 0.005),
    "python, 0.5 ms switch interval": (python_code, 0.0005),
    "python, in a process": ("process", 0.005),
}


def measure(renders):
    """Per kind, the render's wall ms beside its job minus the neighbouring one alone."""
    from ground_truth.render.worker import lower_this_thread_priority

    scene = copies.plain_scene(1)
    scene.cycles.use_denoising = False
    scene.render.use_compositing = False
    scene.render.image_settings.file_format = "PNG"
    jobs, done = queue.Queue(), queue.Queue()

    def loop():
        lower_this_thread_priority()
        for job in iter(jobs.get, None):
            done.put(cpu_ms(job))

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    names = list(KINDS)
    times = {name: [] for name in names}
    used = {name: [] for name in names}
    folder = tempfile.mkdtemp(prefix="gt-writer-lock-")
    saved = sys.getswitchinterval()
    try:
        for index in range(renders):
            for name in names[index % len(names) :] + names[: index % len(names)]:
                job, interval = KINDS[name]
                scene.frame_set(1 + index % 10)
                scene.render.filepath = os.path.join(folder, "frame.png")
                sys.setswitchinterval(interval)
                if job == "process":
                    child.stdin.write("go\n")
                    child.stdin.flush()
                elif job is not None:
                    jobs.put(job)
                start = time.perf_counter()
                bpy.ops.render.render(write_still=True, scene=scene.name)
                times[name].append((time.perf_counter() - start) * 1000.0)
                if job == "process":
                    used[name].append(float(child.stdout.readline()))
                elif job is not None:
                    used[name].append(done.get())
                sys.setswitchinterval(saved)
    finally:
        jobs.put(None)
        thread.join()
        child.stdin.close()
        child.wait()
        sys.setswitchinterval(saved)
    alone = times["alone"][1:]  # the first render warms caches
    rows = {}
    for name in names[1:]:
        differences = [a - b for a, b in zip(times[name][1:], alone, strict=True)]
        rows[name] = (statistics.median(differences), statistics.median(used[name]))
    return statistics.median(alone), rows


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--renders", type=int, default=50, help="renders per kind")
    args = parser.parse_args(argv)
    copies.render_demo.import_extension()
    alone, rows = measure(args.renders)
    print(
        f"A render beside the writer's kind of work: Blender {bpy.app.version_string}, "
        f"Cycles CPU, {os.cpu_count()} cores, {copies.WIDTH}x{copies.HEIGHT}, one sample; "
        f"alone {alone:.0f} ms (median of {args.renders - 1})"
    )
    for name, (longer, used) in rows.items():
        print(f"  {name:32s} {used:5.1f} ms CPU beside it: the render {longer:+6.1f} ms longer")


if __name__ == "__main__":
    main(sys.argv[1:])
