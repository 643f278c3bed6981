"""How fast ``ground_truth export`` runs without Blender: frames per second per format.

Builds a large dataset from one real rendered frame (its RGB, depth, class and instance
maps and meta copied under frame numbers 1..N, with dataset.json and a COCO file rebuilt
for them), then exports it to every format, timing each::

    python benchmarks/export_speed.py --source DATASET [--frames 1000]
    python benchmarks/export_speed.py --bpy-python VENV/bin/python   # renders the demo

``--source`` takes a rendered dataset (its first frame is used, e.g. ``bash tools/demo.sh``'s
640x480 ``demo_output``); without it, ``--bpy-python`` (a Python with the bpy module,
``tools/venvs.sh``'s ``gt_venv 5.0.1``) renders the demo scene at 640x480 first, with the
amodal masks and object models that the BOP export needs (a format whose needs the source
lacks is named and not timed). Prints wall time, process CPU time (this process and its
children) and frames per second for each format; the target is 1000 640x480 frames in
under 60 s on a 2-core machine.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _import_package():
    """Make the repository importable as ``ground_truth``; returns the folder on the path."""
    link_dir = tempfile.mkdtemp(prefix="gt-import-")
    os.symlink(REPO, os.path.join(link_dir, "ground_truth"))
    sys.path.insert(0, link_dir)
    return link_dir


def _render_demo(python, folder, import_dir):
    """Render the demo scene into ``folder`` with everything every format needs.

    The demo script saves the scene; the headless command renders it again with amodal
    masks and object models, which the BOP export needs.
    """
    scene_folder = folder + "-scene"
    subprocess.run(
        [python, os.path.join(REPO, "demo", "render_demo.py"), scene_folder, "--samples", "4"],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    scene_file = os.path.join(scene_folder, "demo.blend")
    options = ["--frames", "1", "--samples", "4", "--amodal", "--models"]
    subprocess.run(
        [python, "-m", "ground_truth", "render", scene_file, "--output", folder, *options],
        check=True,
        stdout=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": import_dir},
    )


def synthesise(source, folder, frames):
    """Copy ``source``'s first frame under frames 1..``frames`` into a new dataset."""
    from ground_truth.dataset import amodal, coco, description, layout, meta

    data = description.read(source)
    first = data["frames"][0]
    # Amodal files and models too when the source has them (the BOP export needs them).
    kinds = [
        k
        for k in ("rgb", "depth", "class", "instance", "amodal")
        if os.path.isfile(layout.frame_path(source, k, first))
    ]
    models = os.path.join(source, "models")
    if os.path.isdir(models):
        shutil.copytree(models, os.path.join(folder, "models"))
    with open(meta.meta_path(source, first), encoding="utf-8") as file:
        frame_meta = json.load(file)
    for kind in (*kinds, "meta"):
        os.makedirs(os.path.join(folder, kind))
    for frame in range(1, frames + 1):
        for kind in kinds:
            # Hard links cost no disk; every frame is still read from its own path.
            target = layout.frame_path(folder, kind, frame)
            try:
                os.link(layout.frame_path(source, kind, first), target)
            except OSError:
                shutil.copyfile(layout.frame_path(source, kind, first), target)
        meta.write_meta(folder, frame, {**frame_meta, "frame": frame})
        if "amodal" in kinds:
            # The amodal file names its frame.
            with open(layout.frame_path(source, "amodal", first), encoding="utf-8") as file:
                document = json.load(file)
            os.remove(layout.frame_path(folder, "amodal", frame))
            amodal.write_frame(folder, frame, {**document, "frame": frame})
    description.write(folder, {**data, "frames": list(range(1, frames + 1))})
    coco.write_coco(folder)
    return frame_meta["width"], frame_meta["height"]


def _cpu():
    own = os.times()
    return own.user + own.system + own.children_user + own.children_system


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", help="a rendered Ground Truth dataset (first frame used)")
    parser.add_argument("--bpy-python", help="a Python with bpy, to render the demo scene")
    parser.add_argument("--frames", type=int, default=1000)
    parser.add_argument("--formats", nargs="*", help="formats to time (default: all)")
    parser.add_argument("--link-images", action="store_true", help="link instead of copying")
    args = parser.parse_args(argv)
    import_dir = _import_package()
    from ground_truth.errors import GroundTruthError
    from ground_truth.export import FORMATS, export_dataset

    work = tempfile.mkdtemp(prefix="gt-export-speed-")
    try:
        source = args.source
        if source is None:
            if not args.bpy_python:
                parser.error("give --source DATASET or --bpy-python PYTHON")
            source = os.path.join(work, "demo")
            print("Rendering the demo scene at 640x480 ...", flush=True)
            _render_demo(args.bpy_python, source, import_dir)
        dataset = os.path.join(work, "dataset")
        started = time.perf_counter()
        width, height = synthesise(os.path.abspath(source), dataset, args.frames)
        print(
            f"Synthesised {args.frames} frames of {width}x{height} in "
            f"{time.perf_counter() - started:.1f} s; images "
            f"{'linked' if args.link_images else 'copied'}"
        )
        print(f"{'format':14s} {'wall s':>8s} {'CPU s':>8s} {'frames/s':>9s} {'labels':>8s}")
        for fmt in args.formats or FORMATS:
            output = os.path.join(work, fmt)
            cpu, wall = _cpu(), time.perf_counter()
            try:
                report = export_dataset(dataset, output, fmt, link_images=args.link_images)
            except GroundTruthError as error:  # e.g. BOP without amodal masks and models
                print(f"{fmt:14s} not timed: {error}", flush=True)
                continue
            wall = time.perf_counter() - wall
            cpu = _cpu() - cpu
            print(
                f"{fmt:14s} {wall:8.2f} {cpu:8.2f} {report.frames / wall:9.1f} {report.labels:8d}",
                flush=True,
            )
            shutil.rmtree(output)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main(sys.argv[1:])
