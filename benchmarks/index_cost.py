"""What keeping the index (dataset.json and the COCO file) current costs per frame as a run grows.

Run with any Python that has numpy: ``python benchmarks/index_cost.py [--frame-seconds 0.5]``.

During a render the writer rewrites dataset.json and the COCO file from every frame's
record, so a rewrite costs more the more frames the folder holds. This builds folders of
100 to 10,000 frames' records (each with five COCO annotations of a 640x480 frame, as the
five-object scene of ``copies.py`` gives), times one rewrite of each file (process CPU,
the fastest of a few), and prints what they cost per frame of ``--frame-seconds``:

- before (up to 37c1e19): dataset.json every frame, checking every record's time stamp,
  and the COCO file at most every 2 s;
- now: each at most every ``INDEX_INTERVAL_S`` / ``COCO_INTERVAL_S``, and never more
  often than its last rewrite's CPU time over ``INDEX_SHARE`` (see ``render/writer.py``);
  rewrites during the run read only new records.

The target is the fixed cost per frame (< 10 ms at 640x480), of which this is a part.
"""

import argparse
import math
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from export_speed import _import_package  # the repository importable as ground_truth


def _writer(root, coco):
    from ground_truth.labels.tables import ClassEntry, InstanceEntry, LabelTable
    from ground_truth.render.options import RenderOptions
    from ground_truth.render.writer import DatasetWriter, SceneFacts

    facts = SceneFacts("Scene", 1.0, (640, 480), "", "5.0.1", [])
    outputs = {"rgb", "depth", "class", "instance", "meta"} | ({"coco"} if coco else set())
    options = RenderOptions(
        output_dir=root + os.sep, outputs=frozenset(outputs), frames=(1,), view_layer="View"
    )
    labels = LabelTable(
        classes=(ClassEntry(1, "Thing", (0.8, 0.3, 0.2)),),
        instances=tuple(InstanceEntry(i, f"Rock.{i:03d}", 1) for i in range(1, 6)),
    )
    return DatasetWriter(facts, options, labels, os.path.join(root, ".raw", "bench"))


def _record(frame):
    """A record as a frame of the five-object scene leaves it (its COCO entry included)."""
    image = {"id": frame, "file_name": f"rgb/{frame:06d}.png", "width": 640, "height": 480}
    annotations = [
        {
            "id": frame * 100 + i,
            "image_id": frame,
            "category_id": 1,
            "instance_id": i,
            "iscrowd": 0,
            "area": 5210.0 + i,
            "bbox": [100.0 + 60 * i, 180.0, 74.0, 81.0],
            "segmentation": {"size": [480, 640], "counts": "Xm`26a>4L3M2N2N1O1N" * 14},
        }
        for i in range(1, 6)
    ]
    files = {k: {"size": 123456, "crc32": 987654321} for k in ("rgb", "depth", "class")}
    return {
        "frame": frame,
        "outputs": ["class", "coco", "depth", "instance", "meta", "rgb"],
        "files": files,
        "copies": [],
        "process": "bench-1",
        "written": 1765000000.0,
        "coco": {"image": image, "annotations": annotations},
    }


def _cpu(job, repeats=3):
    best = math.inf
    for _ in range(repeats):
        start = time.process_time()
        job()
        best = min(best, time.process_time() - start)
    return best


def _rewrite_costs(root):
    """CPU s of one rewrite of dataset.json as before (every record's time stamp checked),
    one as during a run now, and one of the COCO file, in the folder ``root``."""
    plain, with_coco = _writer(root, False), _writer(root, True)
    plain.write_index(final=True)  # each reads every record once
    with_coco.write_index(final=True)
    exact = _cpu(lambda: plain.write_index(final=True))

    run = _cpu(lambda: plain.write_index(now=True))
    both = _cpu(lambda: with_coco.write_index(final=True))
    return exact, run, max(both - exact, 0.0)


def measure(counts, frame_seconds):
    """Print the index's cost per frame for runs of each of ``counts`` frames."""
    from ground_truth.dataset import records
    from ground_truth.render import writer as writer_module

    rows = []
    root = tempfile.mkdtemp(prefix="gt-index-cost-")
    try:
        done = 0
        for count in counts:
            while done < count:
                done += 1
                records.write_record(root, _record(done))
            rows.append((count, *_rewrite_costs(root)))
    finally:
        shutil.rmtree(root, ignore_errors=True)

    def every(cost, interval):
        """Frames between rewrites now."""
        wait = max(interval, cost / writer_module.INDEX_SHARE)
        return max(1, math.ceil(wait / frame_seconds))

    print(
        f"The index's cost per frame of {frame_seconds:.2f} s (process CPU; dataset.json "
        f"and COCO; rewrites at most every {writer_module.INDEX_INTERVAL_S:g} s and "
        f"{writer_module.COCO_INTERVAL_S:g} s, at most {writer_module.INDEX_SHARE:.0%} "
        "of the writer's time)"
    )
    print("  frames  one rewrite: dataset.json (before / now), COCO   per frame: before   now")
    for count, exact, run, coco_cost in rows:
        before = exact + coco_cost * min(1.0, frame_seconds / 2.0)
        now = run / every(run, writer_module.INDEX_INTERVAL_S) + coco_cost / every(
            coco_cost, writer_module.COCO_INTERVAL_S
        )
        print(
            f"  {count:6d}  {exact * 1e3:7.1f} / {run * 1e3:6.1f} ms, {coco_cost * 1e3:7.1f} ms"
            f"{' ' * 13}{before * 1e3:7.1f} ms {now * 1e3:6.1f} ms"
        )


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--frame-seconds", type=float, default=0.5, help="a frame's render time (default 0.5)"
    )
    parser.add_argument(
        "--frames", type=int, nargs="+", default=[100, 1000, 3000, 10000], help="run lengths"
    )
    args = parser.parse_args(argv)
    _import_package()
    measure(sorted(args.frames), args.frame_seconds)


if __name__ == "__main__":
    main(sys.argv[1:])
