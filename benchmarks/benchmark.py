"""Ground Truth's cost against a plain Cycles render of the same frames, in one run.

Run: ``bash benchmarks/run.sh`` (or ``python benchmarks/benchmark.py`` with the bpy
module). Prints, as ratios measured on this machine in this run:

1. Render Ground Truth (RGB + depth + class + instance + dataset files) against a
   plain render writing the same RGB PNGs, at 4 and at 32 samples (target <= 1.03x),
   and with normals, optical flow and part labels on (target <= 1.05x);
2. labels-only mode against a full 32-sample render (target >= 10x faster);
3. post-processing time per frame at 640x480 (target < 30 ms);
4. the cost of the visible fractions per frame;
5. resident memory growth between 20 and 200 rendered frames (target < 50 MB).

Each ratio row times pairs of runs of the same frames, a plain one and a Ground Truth
one (in turn plain first and Ground Truth first), and prints the median of the per-pair
ratios with their range: on a shared machine the speed drifts by a few percent between
runs, and both runs of a pair see about the same drift.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import bpy

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "demo"))

import render_demo  # noqa: E402  (the demo scene builder)


def rss_mb():
    """Resident memory now (not the peak, which the earlier, larger renders set)."""
    with open("/proc/self/statm") as file:
        pages = int(file.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def demo_scene(width, height, samples):
    """The demo scene writing what the targets name: RGB, depth, class and instance maps,
    meta and COCO (the preview picture, a convenience, is timed on its own below)."""
    scene, objects = render_demo.build_scene(width, height, samples)
    render_demo.label_scene(scene, objects)
    scene.ground_truth.output_preview = False
    scene.frame_start, scene.frame_end = 1, 1000
    return bpy.context.scene


def plain_render(scene, folder, frames):
    """What the user would do anyway: a Cycles render saving each frame's PNG."""
    scene.render.image_settings.file_format = "PNG"
    scene.render.image_settings.color_mode = "RGB"
    scene.render.image_settings.color_depth = "8"
    start = time.perf_counter()
    for frame in frames:
        scene.frame_set(frame)
        scene.render.filepath = os.path.join(folder, f"{frame:06d}.png")
        bpy.ops.render.render(write_still=True)
    return time.perf_counter() - start


def ground_truth_render(scene, folder, frames, **options):
    from ground_truth.render import pipeline

    scene.ground_truth.output_dir = folder + os.sep
    start = time.perf_counter()
    pipeline.render_ground_truth(scene, frames, **options)
    return time.perf_counter() - start


def paired_runs(scene, work, frames, samples, repeats):
    """Seconds per frame of ``repeats`` (plain, Ground Truth) pairs, run back to back
    so that both runs of a pair see the same machine state; every other pair runs
    Ground Truth first, so that a steady drift of the machine's speed cancels out."""
    scene.cycles.samples = samples
    pairs = []
    for index in range(repeats):
        if index % 2 == 0:
            plain = plain_render(scene, os.path.join(work, "plain"), frames)
            ours = ground_truth_render(scene, os.path.join(work, "gt"), frames)
        else:
            ours = ground_truth_render(scene, os.path.join(work, "gt"), frames)
            plain = plain_render(scene, os.path.join(work, "plain"), frames)
        pairs.append((plain / len(frames), ours / len(frames)))
    return pairs


def ratio_row(label, pairs, target):
    """One printed line: median seconds per frame and the median ratio of the pairs."""
    ratios = sorted(ours / plain for plain, ours in pairs)
    plain = statistics.median(p for p, _ in pairs)
    ours = statistics.median(o for _, o in pairs)
    return (
        f"{label}: plain {plain:5.2f} s/frame, Ground Truth {ours:5.2f} s/frame  ->  "
        f"{statistics.median(ratios):.3f}x (pairs {ratios[0]:.3f}-{ratios[-1]:.3f}, "
        f"n={len(ratios)})   (target <= {target})"
    )


def postprocess_ms(work, width, height, repeats=15):
    """Median time of the per-frame conversion of a real frame's raw passes: depth,
    class and instance files, meta, the COCO entry, and dataset.json (rewritten every
    time here; a run rewrites it at most every ``INDEX_INTERVAL_S``, and the COCO file
    at most every ``COCO_INTERVAL_S``); then with the preview picture; then with
    normals, flow and parts instead. Timed in this process with the writer process's
    memory settings (:func:`~ground_truth.render.writer_process.keep_freed_memory`),
    which therefore comes after the renders."""
    from ground_truth.dataset import layout
    from ground_truth.render import pipeline, session, validate, writer_process
    from ground_truth.render.options import options_from_settings
    from ground_truth.scene import classes, frame_info

    scene = demo_scene(width, height, 1)
    settings = scene.ground_truth
    # Write every raw file once: the image copy and the extra passes too.
    settings.output_preview = True
    settings.output_normal = settings.output_flow = settings.output_part = True
    folder = os.path.join(work, "post")
    settings.output_dir = folder + os.sep
    pipeline.render_ground_truth(scene, [1])

    def options(**changes):
        return options_from_settings(
            settings,
            output_dir=validate.resolve_output_dir(scene),
            frames=[1],
            view_layer=scene.view_layers[0].name,
            **changes,
        )

    labels = classes.label_table(scene)
    first = pipeline.RenderJob(scene, options())
    view_layer = scene.view_layers[0]
    with session.RenderSession(scene, view_layer, options(), labels, first.raw_owner):
        scene.frame_set(1)
        bpy.ops.render.render(write_still=False, layer=view_layer.name)
        info = frame_info.collect(scene, bpy.context.evaluated_depsgraph_get(), options(), labels)
    writer_process.keep_freed_memory()
    # Keep the raw files to convert them again and again.
    raw_dir = first.writer.raw_dir
    raws = [path for path in layout.raw_frame_files(raw_dir, 1) if os.path.exists(path)]
    for raw in raws:
        shutil.copyfile(raw, raw + ".keep")
    results = {}
    for name, preview, extras in (
        ("labels", False, False),
        ("preview", True, False),
        ("extras", False, True),
    ):
        settings.output_preview = preview
        settings.output_normal = settings.output_flow = settings.output_part = extras
        job = pipeline.RenderJob(scene, options())
        times = []
        for _ in range(repeats):
            for raw in raws:
                shutil.copyfile(raw + ".keep", raw)
            start = time.perf_counter()
            # What the writer does per frame: labels, meta, COCO entry, the check of
            # every file, the record and the index (every time: an upper bound).
            job.writer.finish_frame(1, info, index_now=True)
            times.append(time.perf_counter() - start)
        results[name] = statistics.median(times) * 1000.0
    assert os.path.exists(layout.frame_path(folder, "flow", 1))
    return results


def occlusion_ms(width, height, repeats=5):
    """Main-thread cost per frame of the visible fractions: reading the instances'
    triangles (the silhouettes are rasterised on the writer thread)."""
    from ground_truth.render.options import options_from_settings
    from ground_truth.scene import classes, frame_info

    scene = demo_scene(width, height, 1)
    classes.sync_instance_ids(scene)
    labels = classes.label_table(scene)
    depsgraph = bpy.context.evaluated_depsgraph_get()
    results = {}
    for enabled in (False, True):
        scene.ground_truth.output_visible_fraction = enabled
        options = options_from_settings(
            scene.ground_truth, output_dir="", frames=[1], view_layer="ViewLayer"
        )
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            frame_info.collect(scene, depsgraph, options, labels)
            times.append(time.perf_counter() - start)
        results[enabled] = statistics.median(times) * 1000.0
    return results[True] - results[False]


def memory_growth(work, width, height, first, total, window=10):
    """Resident memory around frame ``first`` and at the end of ``total`` frames rendered
    in one run: the median of the last ``window`` readings (one before each frame) up to
    each point, as one reading moves by tens of MB with the allocator's state."""
    from ground_truth.render import pipeline

    scene = demo_scene(width, height, 1)
    scene.ground_truth.output_dir = os.path.join(work, "memory") + os.sep
    readings = []
    start = time.perf_counter()
    pipeline.render_ground_truth(
        scene,
        list(range(1, total + 1)),
        progress=lambda done, _total, _frame: readings.append(rss_mb()),
    )
    per_frame = (time.perf_counter() - start) / total
    readings.append(rss_mb())
    around_first = statistics.median(readings[first - window + 1 : first + 1])
    at_end = statistics.median(readings[-window:])
    return around_first, at_end, per_frame


def memory_report(work, total):
    first = 20
    rss_first, rss_total, per_frame = memory_growth(work, 160, 120, first, total)
    print(
        f"RSS (median of 10 readings): {rss_first:.0f} MB at {first} frames, {rss_total:.0f} MB "
        f"at {total} frames  ->  growth {rss_total - rss_first:.1f} MB   (target < 50 MB); "
        f"{per_frame * 1000:.0f} ms/frame at 160x120"
    )


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=480)
    parser.add_argument("--frames", type=int, default=10, help="frames per timed run")
    parser.add_argument("--repeats", type=int, default=4, help="pairs of runs at 4 samples")
    parser.add_argument("--repeats-32", type=int, default=2, help="pairs of runs at 32 samples")
    parser.add_argument("--memory-frames", type=int, default=200)
    parser.add_argument("--memory-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    render_demo.import_extension()
    work = tempfile.mkdtemp(prefix="gt-bench-")
    if args.memory_only:
        memory_report(work, args.memory_frames)
        shutil.rmtree(work, ignore_errors=True)
        return
    frames = list(range(1, args.frames + 1))
    cpu = os.cpu_count()
    print(f"Ground Truth benchmark: Blender {bpy.app.version_string}, Cycles CPU, {cpu} cores,")
    print(
        f"demo scene at {args.width}x{args.height}, {args.frames} frames per run, "
        f"{args.repeats} pairs of runs at 4 samples, {args.repeats_32} at 32.\n"
    )

    pairs_by_samples = {}
    for samples, repeats in ((4, args.repeats), (32, args.repeats_32)):
        scene = demo_scene(args.width, args.height, samples)
        pairs = paired_runs(scene, work, frames, samples, repeats)
        pairs_by_samples[samples] = pairs
        print(ratio_row(f"{samples:2d} samples", pairs, "1.03x"), flush=True)

    scene = demo_scene(args.width, args.height, 4)
    settings = scene.ground_truth
    settings.output_normal = settings.output_flow = settings.output_part = True
    pairs = paired_runs(scene, work, frames, 4, args.repeats)
    print(ratio_row(" 4 samples with normals, flow and parts", pairs, "1.05x"), flush=True)

    full = statistics.median(ours for _plain, ours in pairs_by_samples[32])
    scene = demo_scene(args.width, args.height, 32)
    fast = min(
        ground_truth_render(scene, os.path.join(work, "fast"), frames, labels_only=True)
        for _ in range(2)
    ) / len(frames)
    print(
        f"labels-only: {fast:.2f} s/frame vs full 32 samples {full:.2f} s/frame (above)"
        f"  ->  {full / fast:.1f}x faster   (target >= 10x)"
    )

    post = postprocess_ms(work, 640, 480)
    print(
        f"post-processing at 640x480: {post['labels']:.1f} ms/frame without the preview "
        f"picture, {post['preview']:.1f} ms with it   (target < 30 ms); "
        f"{post['extras']:.1f} ms with normals, flow and parts (no preview)"
    )

    print(
        f"visible fractions (optional) at {args.width}x{args.height}: "
        f"{occlusion_ms(args.width, args.height):.1f} ms/frame on the main thread "
        "(silhouettes on the writer thread: benchmarks/amodal.py)"
    )

    # Memory in a fresh process, so that the renders above do not set its baseline.
    subprocess.run(
        [
            sys.executable,
            "-u",
            __file__,
            "--memory-only",
            "--memory-frames",
            str(args.memory_frames),
        ],
        check=True,
    )
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main(sys.argv[1:])
