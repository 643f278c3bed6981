"""Soak test: render a few hundred small frames of the demo scene in one process.

Run: ``bash benchmarks/soak.sh [--frames 300]``. Prints, every ``--every`` frames, the
process's resident memory and the time per frame over that stretch: both must stay
flat (no images or data blocks pile up, no per-frame cost grows with the dataset).
"""

import argparse
import os
import shutil
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "demo"))

import render_demo  # noqa: E402  (the demo scene builder)
from benchmark import rss_mb  # noqa: E402


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--every", type=int, default=50)
    parser.add_argument("--width", type=int, default=128)
    parser.add_argument("--height", type=int, default=96)
    args = parser.parse_args(argv)

    render_demo.import_extension()
    from ground_truth.render import pipeline

    scene, objects = render_demo.build_scene(args.width, args.height, 1)
    render_demo.label_scene(scene, objects)
    folder = tempfile.mkdtemp(prefix="gt-soak-")
    scene.ground_truth.output_dir = folder + os.sep
    scene.frame_start, scene.frame_end = 1, args.frames
    print(f"Soak: {args.frames} frames of the demo scene at {args.width}x{args.height}, 1 sample")
    print(f"{'frames':>7} {'RSS MB':>8} {'ms/frame':>9}")
    start = 1
    while start <= args.frames:
        end = min(start + args.every - 1, args.frames)
        began = time.perf_counter()
        pipeline.render_ground_truth(scene, list(range(start, end + 1)))
        per_frame = (time.perf_counter() - began) / (end - start + 1) * 1000.0
        print(f"{end:7d} {rss_mb():8.1f} {per_frame:9.1f}", flush=True)
        start = end + 1
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main(sys.argv[1:])
