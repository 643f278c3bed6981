"""The dataset writer's index during a run: dataset.json and COCO are rewritten from
the frames' records at a bounded cost, and the final index is exact."""

import json
import os

import pytest

from ground_truth.dataset import description, records
from ground_truth.labels.tables import ClassEntry, InstanceEntry, LabelTable
from ground_truth.render import writer as writer_module
from ground_truth.render.options import RenderOptions
from ground_truth.render.writer import DatasetWriter, SceneFacts


def make_writer(root, outputs=("depth", "class", "instance", "coco")):
    facts = SceneFacts(
        name="Scene",
        unit_scale=1.0,
        resolution=(4, 3),
        blend_path="",
        blender_version="5.0.1",
        parts=[],
    )
    options = RenderOptions(
        output_dir=str(root) + os.sep,
        outputs=frozenset(outputs),
        frames=(1, 2, 3),
        view_layer="ViewLayer",
    )
    labels = LabelTable(
        classes=(ClassEntry(1, "thing", (1.0, 0.0, 0.0)),),
        instances=(InstanceEntry(1, "Cube", 1),),
    )
    return DatasetWriter(facts, options, labels, str(root / ".raw" / "test"))


def record(frame, annotations=1):
    """A frame's record as another process renders it (files are not checked here)."""
    image = {"id": frame, "file_name": f"rgb/{frame:06d}.png", "width": 4, "height": 3}
    entries = [
        {"id": frame * 100 + i, "image_id": frame, "category_id": 1, "area": 1.0}
        for i in range(annotations)
    ]
    return {
        "frame": frame,
        "outputs": ["class", "coco", "depth", "instance"],
        "files": {},
        "copies": [],
        "process": "elsewhere-1",
        "written": 0.0,
        "coco": {"image": image, "annotations": entries},
    }


def listed(root):
    return description.read(str(root))["frames"]


def coco_images(root):
    document = json.loads((root / "annotations" / "coco_instances.json").read_text())
    return sorted(image["id"] for image in document["images"])


def test_rewrites_wait_their_interval_and_the_final_index_lists_every_frame(tmp_path, monkeypatch):
    monkeypatch.setattr(writer_module, "INDEX_INTERVAL_S", 3600.0)
    monkeypatch.setattr(writer_module, "COCO_INTERVAL_S", 3600.0)
    writer = make_writer(tmp_path)
    records.write_record(str(tmp_path), record(1))
    writer._coco_dirty = True  # as recording a frame marks it
    assert writer.write_index() == [1]  # the first is due at once
    assert listed(tmp_path) == [1] and coco_images(tmp_path) == [1]
    records.write_record(str(tmp_path), record(2))
    writer._coco_dirty = True  # as recording a frame marks it
    assert writer.write_index() is None  # within the interval: nothing rewritten
    assert listed(tmp_path) == [1] and coco_images(tmp_path) == [1]
    assert writer.write_index(final=True) == [1, 2]
    assert listed(tmp_path) == [1, 2] and coco_images(tmp_path) == [1, 2]


def test_rewrites_every_frame_where_they_are_cheap(tmp_path, monkeypatch):
    monkeypatch.setattr(writer_module, "INDEX_INTERVAL_S", 0.0)
    monkeypatch.setattr(writer_module, "COCO_INTERVAL_S", 0.0)
    monkeypatch.setattr(writer_module, "INDEX_SHARE", float("inf"))
    writer = make_writer(tmp_path)
    for frame in (1, 2, 3):
        records.write_record(str(tmp_path), record(frame))
        writer._coco_dirty = True
        assert writer.write_index() == list(range(1, frame + 1))
        assert listed(tmp_path) == coco_images(tmp_path) == list(range(1, frame + 1))


def test_a_costly_rewrite_waits_longer(tmp_path, monkeypatch):
    """The wait after a rewrite is its CPU time over INDEX_SHARE, when that is longer
    than the interval: the rewrites keep to that share of the writer's time."""
    monkeypatch.setattr(writer_module, "INDEX_INTERVAL_S", 0.0)
    monkeypatch.setattr(writer_module, "COCO_INTERVAL_S", 0.0)
    clock = {"cpu": 0.0}

    def thread_time():
        clock["cpu"] += 0.5  # every look at the clock: half a second of CPU later
        return clock["cpu"]

    monkeypatch.setattr(writer_module.time, "thread_time", thread_time)
    writer = make_writer(tmp_path)
    records.write_record(str(tmp_path), record(1))
    writer._coco_dirty = True
    start = writer_module.time.monotonic()
    assert writer.write_index() == [1]
    # dataset.json took 0.5 s of CPU, COCO 0.5 s: each waits 0.5 s / INDEX_SHARE.
    assert writer._index_due - start >= 0.5 / writer_module.INDEX_SHARE - 1.0
    assert writer._coco_due - start >= 0.5 / writer_module.INDEX_SHARE - 1.0
    assert writer.write_index() is None


def test_records_of_other_processes_join_the_next_rewrite_and_changes_the_final(
    tmp_path, monkeypatch
):
    monkeypatch.setattr(writer_module, "INDEX_INTERVAL_S", 0.0)
    monkeypatch.setattr(writer_module, "INDEX_SHARE", float("inf"))
    writer = make_writer(tmp_path, outputs=("depth", "instance"))
    records.write_record(str(tmp_path), record(1))
    assert writer.write_index() == [1]
    # Another process renders frame 2 into the folder: the next rewrite lists it.
    records.write_record(str(tmp_path), record(2))
    assert writer.write_index() == [1, 2]
    # Frame 1's record changes (another run rendered it again with a copy): rewrites
    # during the run keep what they read; the final index reads it again.
    copy = {"id": 70000, "object": "Cube", "class_id": 1, "instancer": "Grid", "copy": [0]}
    changed = dict(record(1), copies=[copy])
    path = records.write_record(str(tmp_path), changed)
    later = os.stat(path).st_mtime_ns + 1_000_000_000
    os.utime(path, ns=(later, later))
    writer.write_index()
    ids = [i["id"] for i in description.read(str(tmp_path))["instances"]]
    assert 70000 not in ids
    writer.write_index(final=True)
    ids = [i["id"] for i in description.read(str(tmp_path))["instances"]]
    assert 70000 in ids
    # A removed record leaves the index at the next rewrite.
    records.remove_record(str(tmp_path), 2)
    assert writer.write_index() == [1]


@pytest.mark.parametrize("final", [False, True])
def test_a_rewrite_in_a_long_run_reads_only_the_new_record(tmp_path, monkeypatch, final):
    """At 3,000 recorded frames a rewrite reads only the record that is new (the final
    one also checks the time stamp of each) and lists every frame."""
    writer = make_writer(tmp_path, outputs=("depth", "instance"))
    for frame in range(1, 3001):
        records.write_record(str(tmp_path), record(frame))
    assert writer.write_index(final=True) == list(range(1, 3001))
    reads = []
    read_record = records.read_record
    monkeypatch.setattr(
        records, "read_record", lambda root, frame: reads.append(frame) or read_record(root, frame)
    )
    records.write_record(str(tmp_path), record(3001))
    assert writer.write_index(final=final, now=True) == list(range(1, 3002))
    assert reads == [3001]
