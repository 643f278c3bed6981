"""What amodal masks cost per frame, and what they add to a 32-sample render.

Run with any Python that has the bpy module (``tools/venvs.sh`` makes one):
``python benchmarks/amodal.py [--frames 3] [--repeats 2] [--skip-render]``.

The scene: ``N`` labelled objects (cubes, smooth UV spheres of 48 x 24 segments and
cones of 48 segments, in turn) standing in rows on an unlabelled floor, overlapping
each other in the view of a tilted camera, under an area light. It prints:

1. the amodal work per frame for 5, 10, 20 and 40 objects at 640x480, and for 20
   objects at 320x240, 640x480, 1280x720 and 1920x1080: milliseconds on the main
   thread (reading the triangles: ``occlusion.scene_geometry``) and on the writer
   thread (rasterising, uniting with the instance map, RLE and the amodal file), each
   as wall time, the thread's own CPU time and the whole process's CPU time (more
   process than thread CPU would be other threads, e.g. numpy's BLAS, woken by it);
2. Render Ground Truth of a few frames at 32 samples with amodal masks against the
   same render without them (meta, COCO and the other default outputs in both), in
   pairs of runs that alternate which goes first: the median ratio and its range
   (target: at most 1.05 at 20 objects, 640x480), of wall time and of the process's
   CPU time (which other programs on a shared machine disturb less), and what the
   amodal work's own CPU time would add if none of it overlapped the render.
"""

import argparse
import math
import os
import shutil
import statistics
import sys
import tempfile
import time

import bpy

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "demo"))

import render_demo  # noqa: E402  (the demo scene's helpers)


def build_scene(count, width, height, samples):
    """``count`` labelled objects in rows on a floor, seen by a tilted camera."""
    scene, objects = render_demo.build_scene(width, height, samples)
    for name in ("cube", "sphere", "cone"):
        bpy.data.objects.remove(objects[name])
    bmesh = render_demo.bpy_bmesh()
    shapes = (
        lambda bm: bmesh.ops.create_cube(bm, size=0.5),
        lambda bm: bmesh.ops.create_uvsphere(bm, u_segments=48, v_segments=24, radius=0.3),
        lambda bm: bmesh.ops.create_cone(
            bm, cap_ends=True, segments=48, radius1=0.25, radius2=0.0, depth=0.6
        ),
    )
    materials = [
        render_demo.material(name, color)
        for name, color in (("Red", (0.8, 0.1, 0.05)), ("Gold", (0.9, 0.6, 0.2)))
    ]
    per_row = math.ceil(math.sqrt(count * 1.5))
    labelled = []
    for index in range(count):
        row, column = divmod(index, per_row)
        location = (
            (column - (per_row - 1) / 2) * 3.2 / per_row,
            row * 0.55 - 0.4,
            0.3,
        )
        ob = render_demo.mesh_object(
            scene,
            f"Object {index}",
            shapes[index % 3],
            location,
            materials[index % 2],
            smooth=index % 3 != 0,
        )
        ob.rotation_euler.z = 0.3 * index
        labelled.append(ob)
    bpy.ops.ground_truth.add_class(name="Thing")
    for ob in bpy.context.view_layer.objects:
        ob.select_set(ob in labelled)
    bpy.ops.ground_truth.assign_class()
    settings = scene.ground_truth
    settings.output_preview = False
    scene.frame_start, scene.frame_end = 1, 1000
    # The objects turn from frame to frame: every frame's geometry is new.
    for ob in labelled:
        ob.keyframe_insert("rotation_euler", frame=1)
        ob.rotation_euler.z += 2.0
        ob.keyframe_insert("rotation_euler", frame=101)
    return scene


def clocks():
    return time.perf_counter(), time.thread_time(), time.process_time()


def since(start):
    now = clocks()
    return tuple((b - a) * 1000.0 for a, b in zip(start, now, strict=True))


def amodal_costs(count, width, height, work, repeats=5):
    """(main, writer): median (wall, thread CPU, process CPU) ms of the amodal work."""
    from ground_truth.dataset import amodal as amodal_file
    from ground_truth.dataset import reader
    from ground_truth.labels import amodal
    from ground_truth.labels.masks import bboxes_from_instance_map
    from ground_truth.render import pipeline
    from ground_truth.scene import classes, frame_info, occlusion

    scene = build_scene(count, width, height, 1)
    folder = os.path.join(work, f"costs-{count}-{width}")
    scene.ground_truth.output_dir = folder + os.sep
    pipeline.render_ground_truth(scene, [1], labels_only=True)
    instance_map = reader.load_frame(folder, 1, keys=("instance",))["instance"]
    labels = classes.label_table(scene)
    scene.frame_set(1)
    depsgraph = bpy.context.evaluated_depsgraph_get()
    camera = frame_info.camera_block(scene, depsgraph)
    ids = [i.id for i in labels.instances]
    main, writer = [], []
    for _ in range(repeats):
        start = clocks()
        geometry = occlusion.scene_geometry(scene, depsgraph, ids)
        main.append(since(start))
        start = clocks()
        found = bboxes_from_instance_map(instance_map)
        results = amodal.frame_amodal(geometry, camera, instance_map, found)
        entries = amodal.file_entries(results, instance_map.shape)
        document = amodal_file.frame_document(1, width, height, entries)
        amodal_file.write_frame(folder, 1, document)
        writer.append(since(start))
    triangles = sum(len(m.triangles) for m in geometry.meshes.values())
    fraction = statistics.median(r.visible_fraction for r in results.values())

    def median(rows):
        return tuple(statistics.median(column) for column in zip(*rows, strict=True))

    return median(main), median(writer), triangles, fraction


def render_seconds(scene, folder, frames, amodal_on):
    """(wall, process CPU) seconds per frame of Render Ground Truth of ``frames``."""
    from ground_truth.render import pipeline

    scene.ground_truth.output_amodal = amodal_on
    scene.ground_truth.output_dir = folder + os.sep
    wall, cpu = time.perf_counter(), time.process_time()
    pipeline.render_ground_truth(scene, frames, overwrite=True)
    return (
        (time.perf_counter() - wall) / len(frames),
        (time.process_time() - cpu) / len(frames),
    )


def render_pairs(count, width, height, samples, frames, repeats, work):
    """``{"wall": pairs, "cpu": pairs}``: seconds per frame (without, with amodal masks),
    in pairs of runs that alternate which goes first."""
    scene = build_scene(count, width, height, samples)
    pairs = {"wall": [], "cpu": []}
    for index in range(repeats):
        order = (False, True) if index % 2 == 0 else (True, False)
        seconds = {}
        for amodal_on in order:
            folder = os.path.join(work, "with" if amodal_on else "without")
            seconds[amodal_on] = render_seconds(scene, folder, frames, amodal_on)
        for position, kind in enumerate(("wall", "cpu")):
            pairs[kind].append((seconds[False][position], seconds[True][position]))
    return pairs


def ratio_row(label, pairs):
    ratios = sorted(with_ / without for without, with_ in pairs)
    without = statistics.median(p[0] for p in pairs)
    with_ = statistics.median(p[1] for p in pairs)
    return (
        f"{label}: without amodal {without:6.2f} s/frame, with {with_:6.2f} s/frame  ->  "
        f"{statistics.median(ratios):.3f}x (pairs {ratios[0]:.3f}-{ratios[-1]:.3f}, "
        f"n={len(ratios)})"
    )


def row(label, main, writer):
    return (
        f"{label:28s} main {main[0]:6.1f} ms (thread CPU {main[1]:6.1f}, process {main[2]:6.1f})"
        f" | writer {writer[0]:6.1f} ms (thread CPU {writer[1]:6.1f}, process {writer[2]:6.1f})"
    )


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=3, help="frames per timed render run")
    parser.add_argument("--repeats", type=int, default=2, help="pairs of render runs")
    parser.add_argument("--samples", type=int, default=32)
    parser.add_argument("--skip-render", action="store_true", help="only the per-frame costs")
    args = parser.parse_args(argv)

    render_demo.import_extension()
    work = tempfile.mkdtemp(prefix="gt-amodal-bench-")
    print(f"Amodal masks: Blender {bpy.app.version_string}, Cycles CPU, {os.cpu_count()} cores")
    print("Per frame (median of 5), by number of objects at 640x480:")
    for count in (5, 10, 20, 40):
        main_ms, writer_ms, triangles, fraction = amodal_costs(count, 640, 480, work)
        label = f"{count:2d} objects, {triangles:6d} triangles"
        print(row(label, main_ms, writer_ms) + f"  (median visible fraction {fraction:.2f})")
    print("By resolution, 20 objects:")
    for width, height in ((320, 240), (640, 480), (1280, 720), (1920, 1080)):
        main_ms, writer_ms, _triangles, _fraction = amodal_costs(20, width, height, work)
        print(row(f"{width}x{height}", main_ms, writer_ms), flush=True)
        if (width, height) == (640, 480):
            added_ms = main_ms[1] + writer_ms[1]
    if not args.skip_render:
        frames = list(range(1, args.frames + 1))
        pairs = render_pairs(20, 640, 480, args.samples, frames, args.repeats, work)
        print(
            f"Render Ground Truth, 20 objects, 640x480, {args.samples} samples, "
            f"{len(frames)} frames per run (target <= 1.05x):"
        )
        print(ratio_row("  wall time  ", pairs["wall"]))
        print(ratio_row("  process CPU", pairs["cpu"]))
        frame_s = statistics.median(p[0] for p in pairs["wall"])
        print(
            f"  the amodal work's own CPU time (main + writer thread, above) is "
            f"{added_ms:.0f} ms per frame: {1 + added_ms / 1000.0 / frame_s:.3f}x of the "
            "wall time without it, if none of it overlapped the render"
        )
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main(sys.argv[1:])
