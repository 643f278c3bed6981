"""The fixed cost of a Ground Truth frame beyond the render, frame by frame.

Run with any Python that has the bpy module (``tools/venvs.sh`` makes one):
``python benchmarks/fixed_cost.py [--frames 60] [--objects 5] [--run 200]``.

With no copies (five labelled objects, or ``--objects`` of them in a grid; 640x480), one
process renders each frame three times in turn: a plain render saving its PNG, a Render
Ground Truth frame (RGB, depth, class and instance maps, meta and COCO), and a plain
render again while Ground Truth's writer thread converts that frame, as it does during
the next frame's render in a run (the first two swap places on every other frame).
Comparing neighbouring renders frame by frame cancels the drift of a shared machine's
speed, which whole runs of ten frames cannot resolve at a few milliseconds. It prints,
as medians of the per-frame figures with their quartiles, at one sample with RGB (where
a frame is shortest and the fixed cost shows) and in labels-only mode (against a plain
render with the same one sample and no bounces, as that mode renders):

1. the fixed cost per frame: what the Ground Truth frame's render takes beyond the
   plain one, plus what its conversion adds to the next render;
2. those two apart: the main thread's part (wall and process CPU; the writer is idle),
   and the writer thread's CPU time per frame, at the lowest priority, with how much
   longer the render beside it takes;
3. with ``--run N``, the cost in a run of N frames (:func:`run_cost`): there the writer
   works beside Ground Truth frames, whose single-threaded stretches are shorter than a
   plain render's (no PNG to compress), and the render waits when the writer falls two
   frames behind, which the frame triples above cannot show. Each frame of the run is
   compared with a plain render of it timed just before or after, with the writer
   paused; the mean is the figure (the waits come in bursts), the median and quartiles
   beside it. Beside it, the CPU time a frame takes: Blender's process beyond a plain
   render's, and the writer process's.

Per-run costs (setting up and restoring the scene, the last frame's conversion) are
left out: they are paid once per run, not per frame.
"""

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time

import bpy

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import copies  # noqa: E402  (the benchmark scenes)


def clocks():
    return time.perf_counter(), time.process_time()


def spread(values):
    """``median (quartile to quartile)`` of ``values`` in ms."""
    low, _, high = statistics.quantiles(values, n=4)
    return f"{statistics.median(values):+6.1f} ms (quartiles {low:+.1f} to {high:+.1f})"


def plain_scene(scene, labels_only):
    """A copy of ``scene`` that renders plain and saves a PNG: it shares the objects and
    has its own settings, without the compositor; with ``labels_only`` it renders as
    that mode does (one sample, no bounces, no denoising)."""
    plain = scene.copy()
    plain.render.use_compositing = False
    plain.render.image_settings.file_format = "PNG"
    if labels_only:
        plain.cycles.samples, plain.cycles.max_bounces, plain.cycles.use_denoising = 1, 0, False
    return plain


def fixed_cost(scene, work, frames, labels_only, kind="process"):
    """Per-frame rows in ms: ``main`` and ``cpu`` (a Ground Truth frame's render minus a
    plain one's, wall and process CPU), ``next`` (a plain render while the writer
    converts the frame just rendered, minus one alone), ``total`` (the two wall costs
    together) and ``writer`` (the writer's CPU time per frame). ``kind``: the writer
    runs in a ``process`` of its own (as a render does) or on a ``thread``."""
    from ground_truth.render import pipeline, writer_process
    from ground_truth.render.options import options_from_settings

    plain = plain_scene(scene, labels_only)
    writers, writer_ms = [], []

    def start(dataset_writer, max_pending=2):
        if kind == "thread":
            made = writer_process.WriterThread(dataset_writer, max_pending)
            finish = made._finish

            def timed_finish(*args):
                begin = time.thread_time()
                finish(*args)
                writer_ms.append((time.thread_time() - begin) * 1000.0)

            made._finish = timed_finish
        else:
            made = writer_process.WriterProcess(dataset_writer, max_pending)
        writers.append(made)
        return made

    folder = os.path.join(work, "ours")
    shutil.rmtree(folder, ignore_errors=True)
    options = options_from_settings(
        scene.ground_truth,
        frames=[*frames, frames[-1] + 1],  # one more: the last timed one returns
        view_layer=scene.view_layers[0].name,
        output_dir=folder + os.sep,
        labels_only=labels_only,
    )
    job = pipeline.RenderJob(scene, options)
    saved, pipeline.start_writer = pipeline.start_writer, start
    try:
        steps = job.steps()
        next(steps)  # set up; stops before the first frame
    finally:
        pipeline.start_writer = saved
    rows = {"main": [], "cpu": [], "next": [], "total": []}
    try:
        for position, frame in enumerate(frames):
            runs = {}
            order = ("plain", "ours", "next") if position % 2 == 0 else ("ours", "next", "plain")
            for step in order:
                if step != "next":
                    writers[0].drain()  # the writer is idle
                begin = clocks()
                if step == "ours":
                    next(steps)  # renders the frame, hands it to the writer
                else:  # "next": while the writer converts the frame just rendered
                    plain.frame_set(frame)
                    plain.render.filepath = os.path.join(work, step, f"{frame:06d}.png")
                    bpy.ops.render.render(write_still=True, scene=plain.name)
                end = clocks()
                runs[step] = [(b - a) * 1000.0 for a, b in zip(begin, end, strict=True)]
            if position:  # the first frame warms caches
                (ours, ours_cpu), (plain_ms, plain_cpu) = runs["ours"], runs["plain"]
                rows["main"].append(ours - plain_ms)
                rows["cpu"].append(ours_cpu - plain_cpu)
                rows["next"].append(runs["next"][0] - plain_ms)
                rows["total"].append(ours + runs["next"][0] - 2.0 * plain_ms)
    finally:
        steps.close()
        bpy.data.scenes.remove(plain)
    if kind == "process":
        writer_ms = [seconds * 1000.0 for seconds in writers[0].cpu_seconds]
    rows["writer"] = writer_ms[1:]
    return rows


def run_cost(scene, work, count, labels_only):
    """Per-frame rows in ms in a run: ``cost`` (a Ground Truth frame of a run, the time
    ``submit`` waits for the writer included, minus a plain render of the same frame),
    ``waits`` (that wait alone), ``cpu`` (Blender's process CPU time for the Ground
    Truth frame minus for the plain one) and ``writer`` (the writer process's CPU time
    for each frame it converted).

    In a run the writer converts each frame while the next Ground Truth frame renders,
    and ``submit`` waits when it has fallen two frames behind: what the frame pairs of
    :func:`fixed_cost` cannot show, as they let the writer finish before each render and
    the render beside its work is a plain one. Here one run renders ``count`` frames and
    a plain render of each frame is timed between two of them (before or after, in
    turn) with the writer process paused (SIGSTOP), so that the writer has only the run's
    own frames to work beside, as in a run without them. The first three frames (the
    writer has not fallen behind yet) are left out."""
    import signal

    from ground_truth.render import pipeline, writer_process
    from ground_truth.render.options import options_from_settings

    plain = plain_scene(scene, labels_only)
    frames = list(range(1, count + 1))
    writers, waits = [], {}

    class Timed(writer_process.WriterProcess):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            writers.append(self)

        def submit(self, frame, info):
            begin = time.perf_counter()
            super().submit(frame, info)
            waits[frame] = (time.perf_counter() - begin) * 1000.0

    def plain_render(frame):
        os.kill(writers[0].pid, signal.SIGSTOP)
        try:
            plain.frame_set(frame)
            plain.render.filepath = os.path.join(work, "plain", f"{frame:06d}.png")
            begin, cpu = clocks()
            bpy.ops.render.render(write_still=True, scene=plain.name)
            end, cpu_end = clocks()
            return (end - begin) * 1000.0, (cpu_end - cpu) * 1000.0
        finally:
            os.kill(writers[0].pid, signal.SIGCONT)

    folder = os.path.join(work, "run") + os.sep
    shutil.rmtree(folder, ignore_errors=True)
    options = options_from_settings(
        scene.ground_truth,
        frames=[*frames, frames[-1] + 1],  # one more: the last timed one returns
        view_layer=scene.view_layers[0].name,
        output_dir=folder,
        labels_only=labels_only,
        quiet=True,
    )
    saved, pipeline.start_writer = pipeline.start_writer, Timed
    try:
        steps = pipeline.RenderJob(scene, options).steps()
        next(steps)  # set up; stops before the first frame
    finally:
        pipeline.start_writer = saved
    rows = {"cost": [], "waits": [], "cpu": []}
    try:
        for position, frame in enumerate(frames):
            if position % 2:
                plain_ms, plain_cpu = plain_render(frame)
            begin, cpu = clocks()
            next(steps)  # renders the frame and hands it to the writer
            end, cpu_end = clocks()
            if not position % 2:
                plain_ms, plain_cpu = plain_render(frame)
            if position >= 3:
                rows["cost"].append((end - begin) * 1000.0 - plain_ms)
                rows["waits"].append(waits[frame])
                rows["cpu"].append((cpu_end - cpu) * 1000.0 - plain_cpu)
    finally:
        steps.close()
        bpy.data.scenes.remove(plain)
    rows["writer"] = [seconds * 1000.0 for seconds in writers[0].cpu_seconds[3:]]
    return rows


def report(count, modes=("rgb", "labels-only"), objects=5, writers=("process",), run=0):
    """Print the rows of ``modes``, ``count`` frames each, with ``objects`` labelled
    objects in view, for each kind of writer in ``writers`` (the extension imported),
    then, with ``run`` frames, the costs in a run (:func:`run_cost`)."""
    work = tempfile.mkdtemp(prefix="gt-fixed-cost-")
    frames = list(range(1, count + 1))
    scene = copies.plain_scene(1, objects)
    scene.cycles.use_denoising = False
    print(
        f"Fixed cost per frame: Blender {bpy.app.version_string}, Cycles CPU, "
        f"{os.cpu_count()} cores, {copies.WIDTH}x{copies.HEIGHT}, {objects} labelled objects, "
        f"{len(frames)} frames each (target < 10 ms)",
        flush=True,
    )
    for mode in modes:
        labels_only = mode == "labels-only"
        name = "labels only  " if labels_only else "1 sample, RGB"
        for kind in writers if frames else ():
            rows = fixed_cost(scene, work, frames, labels_only, kind)
            print(f"  {name}, writer {kind}: fixed cost per frame, wall {spread(rows['total'])}")
            print(f"    main thread: wall {spread(rows['main'])}; CPU {spread(rows['cpu'])}")
            print(
                f"    writer: {statistics.median(rows['writer']):.1f} ms CPU a frame at the "
                f"lowest priority; the next render takes {spread(rows['next'])} longer",
                flush=True,
            )
        if run:
            rows = run_cost(scene, work, run, labels_only)
            cost, waits = rows["cost"], rows["waits"]
            print(
                f"    in a run of {run} frames (writer process): mean {statistics.mean(cost):+.1f}"
                f" ms a frame, median {spread(cost)}; of it waiting for the writer: mean "
                f"{statistics.mean(waits):.1f} ms, on {sum(w > 1.0 for w in waits)} frames",
            )
            cpu, writer = statistics.mean(rows["cpu"]), statistics.mean(rows["writer"])
            print(
                f"    CPU time a frame (means): Blender {cpu:+.1f} ms beyond a plain render, "
                f"the writer {writer:.1f} ms: {cpu + writer:+.1f} ms in all, "
                f"{(cpu + writer) / os.cpu_count():+.1f} ms on each of {os.cpu_count()} cores",
                flush=True,
            )
    shutil.rmtree(work, ignore_errors=True)


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=60, help="frames per mode")
    parser.add_argument(
        "--mode", choices=("rgb", "labels-only"), action="append", help="default: both"
    )
    parser.add_argument(
        "--objects", type=int, default=5, help="labelled objects in view (default 5)"
    )
    parser.add_argument(
        "--writer",
        choices=("process", "thread"),
        action="append",
        help="where the writer runs: its own process (as a render does; the default) or "
        "a thread of Blender's (the fallback); both in turn when given twice",
    )
    parser.add_argument(
        "--run",
        type=int,
        default=0,
        help="frames of a run to time as well, each beside a plain render (default none)",
    )
    args = parser.parse_args(argv)
    copies.render_demo.import_extension()
    report(
        args.frames,
        args.mode or ("rgb", "labels-only"),
        args.objects,
        args.writer or ("process",),
        args.run,
    )


if __name__ == "__main__":
    main(sys.argv[1:])
