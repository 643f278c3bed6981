"""What a killed process leaves in a dataset folder is removed by the next run, and
nothing else: ``records.remove_leftovers``."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ground_truth.dataset import layout, records


def dead_owner():
    """``<host>-<pid>`` of a process of this host that has ended."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return f"{socket.gethostname()}-{child.pid}"


def touch(path, text="x"):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as file:
        file.write(text)


def test_a_dead_process_leftovers_go_and_the_empty_raw_folder_with_them(tmp_path):
    root = str(tmp_path)
    gone = dead_owner()
    half = os.path.join(root, "depth", f".000003.exr.tmp-{gone}")
    claim = records.claim_path(root, 3)
    raw = layout.raw_folder(root, gone)
    touch(half)
    touch(claim, gone)
    touch(layout.raw_path(raw, 3))
    kept = os.path.join(root, "depth", "000001.exr")
    touch(kept)

    removed = records.remove_leftovers(root)

    assert {half, claim, layout.raw_path(raw, 3)} <= set(removed)
    assert not os.path.exists(os.path.join(root, layout.RAW_DIR))
    assert os.path.exists(kept)


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="zombies are read from /proc")
def test_a_process_that_ended_but_was_not_collected_counts_as_gone(tmp_path):
    # A killed process whose parent (an init that reaps late, in a container) has not
    # collected it yet: a zombie writes nothing more, so what it left goes.
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.monotonic() + 10
    stat = Path(f"/proc/{child.pid}/stat")
    while b") Z" not in stat.read_bytes():
        assert time.monotonic() < deadline
        time.sleep(0.01)
    half = os.path.join(
        str(tmp_path), "class", f".000001.png.tmp-{socket.gethostname()}-{child.pid}"
    )
    touch(half)
    try:
        assert records.remove_leftovers(str(tmp_path)) == [half]
    finally:
        child.wait()


def test_a_live_process_and_a_farm_keep_what_they_are_writing(tmp_path):
    root = str(tmp_path)
    alive = records.owner()
    mine = layout.raw_path(layout.raw_folder(root, alive), 5)
    farm = layout.raw_path(layout.raw_folder(root), 6)  # a farm writes .raw/ itself
    half = os.path.join(root, "class", f".000005.png.tmp-{alive}")
    for path in (mine, farm, half):
        touch(path)

    assert records.remove_leftovers(root) == []
    assert all(os.path.exists(p) for p in (mine, farm, half))


def test_an_empty_raw_folder_left_by_a_kill_is_removed(tmp_path):
    # A process killed after removing its own raw folder but before removing .raw.
    os.makedirs(tmp_path / layout.RAW_DIR)
    records.remove_leftovers(str(tmp_path))
    assert not (tmp_path / layout.RAW_DIR).exists()


def test_the_raw_folder_is_made_again_when_raw_goes_in_between(tmp_path, monkeypatch):
    # Another process removes the empty .raw just after this one made it.
    folder = layout.raw_folder(str(tmp_path), records.owner())
    real_mkdir = os.mkdir
    removed = []

    def mkdir(path, *args, **kwargs):
        if path == folder and not removed:
            os.rmdir(os.path.dirname(path))
            removed.append(path)
        return real_mkdir(path, *args, **kwargs)

    monkeypatch.setattr(os, "mkdir", mkdir)
    records.make_raw_folder(folder)
    assert removed and os.path.isdir(folder)
