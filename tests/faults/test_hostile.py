"""A full disk, a file-size limit, a read-only folder and bad arguments: each run ends with
the exit code and a message that names the real cause, keeps every frame written before,
and changes nothing else."""

import contextlib
import os
import resource
import signal
import subprocess
import time

import pytest
from fault_runs import assert_dataset_is_true, command, environment, run

from ground_truth.dataset import reader


@contextlib.contextmanager
def mounted(folder, *commands):
    """``folder`` mounted by ``mount`` ``commands`` (root only), unmounted afterwards."""
    folder.mkdir(parents=True, exist_ok=True)
    for index, arguments in enumerate(commands):
        done = subprocess.run(["mount", *arguments], capture_output=True, text=True)
        if done.returncode != 0:
            for _ in range(index):
                subprocess.run(["umount", "-l", str(folder)], capture_output=True)
            pytest.skip(f"cannot mount a test file system here: {done.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)


def test_a_full_disk_ends_the_run_naming_it_and_keeps_the_frames_before(
    import_path, heavy_scene, tmp_path
):
    small = tmp_path / "small"
    with mounted(small, ["-t", "tmpfs", "-o", "size=4m", "tmpfs", str(small)]) as disk:
        out = disk / "dataset"
        process = subprocess.Popen(
            command(import_path, heavy_scene, "render", "--output", str(out), "--frames", "1-8"),
            env=environment(import_path),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        # Once frame 2 is whole (its record is written last), the disk fills up (another
        # program's big file). dataset.json lists it at the index's next rewrite, which
        # the full disk may stop: the record is what keeps it.
        deadline = time.monotonic() + 120
        while not (out / ".frames" / "000002.json").exists():
            assert time.monotonic() < deadline and process.poll() is None
            time.sleep(0.01)
        with open(disk / "filler", "wb") as filler, contextlib.suppress(OSError):
            while True:
                filler.write(b"\0" * 65536)
                filler.flush()
        _out, err = process.communicate(timeout=120)
        assert process.returncode == 1, err
        assert "the disk is full" in err and str(out) in err
        for frame in reader.read_dataset(out)["frames"]:  # what it lists is whole
            reader.load_frame(out, frame, exr_backend="builtin")
        kept = sorted(int(p.stem) for p in (out / ".frames").glob("*.json"))
        assert kept[:2] == [1, 2] and len(kept) < 8
        # Space freed, resuming completes the dataset from where it stopped: the frames
        # written before the disk filled are kept, not rendered again.
        (disk / "filler").unlink()
        done = run(
            import_path, heavy_scene, "render", "--output", str(out), "--frames", "1-8", "--resume"
        )
        assert done.returncode == 0, done.stderr
        assert f"Skipping {len(kept)} complete frame(s)" in done.stdout
        assert_dataset_is_true(out, range(1, 9))


def limit_file_size():
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # write() fails with EFBIG instead
    resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))


def test_a_file_size_limit_is_named(import_path, scene_file, tmp_path):
    out = tmp_path / "dataset"
    done = run(
        import_path,
        scene_file,
        "render",
        "--output",
        str(out),
        "--frames",
        "1-2",
        preexec_fn=limit_file_size,
    )
    assert done.returncode == 1
    assert "limited to 20000 bytes" in done.stderr or "larger than this system" in done.stderr
    assert "free some space" not in done.stderr


def test_a_read_only_folder_is_named(import_path, scene_file, tmp_path):
    out = tmp_path / "dataset"
    done = run(import_path, scene_file, "render", "--output", str(out), "--frames", "1")
    assert done.returncode == 0, done.stderr
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    with mounted(out, ["--bind", str(out), str(out)], ["-o", "remount,bind,ro", str(out)]):
        done = run(import_path, scene_file, "render", "--output", str(out), "--frames", "2")
    assert done.returncode == 1
    assert "read-only" in done.stderr or "cannot be written" in done.stderr, done.stderr
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--output", ""], "output folder is empty"),
        (["--frames", "1-1000000000"], "beyond Blender's last frame"),
        (["--frames", "1-10:0"], "bad frame range"),
        (["--samples", "0"], "samples must be 1 to"),
        (["--samples", "many"], "not a whole number"),
        (["--shard", "0/4"], "shards count from 1"),
        (["--shard-count", "3"], "needs a scheduler"),
    ],
)
def test_bad_arguments_exit_2_with_the_reason_and_write_nothing(
    import_path, scene_file, tmp_path, argv, message
):
    out = tmp_path / "dataset"
    if "--output" not in argv:
        argv = ["--output", str(out), *argv]
    started = time.monotonic()
    done = run(import_path, scene_file, "render", *argv)
    assert done.returncode == 2, done.stderr
    assert message in done.stderr
    assert time.monotonic() - started < 30  # a huge range is refused, never listed
    assert not out.exists()


def test_the_current_folder_is_never_rendered_into_by_an_empty_output(
    import_path, scene_file, tmp_path
):
    (tmp_path / "notes.txt").write_text("mine")
    done = run(import_path, scene_file, "render", "--output", "", cwd=str(tmp_path))
    assert done.returncode == 2
    assert sorted(os.listdir(tmp_path)) == ["notes.txt"]


def test_finalize_names_a_truncated_raw_frame_and_lists_the_others(
    import_path, scene_file, tmp_path
):
    out = tmp_path / "dataset"
    done = run(import_path, scene_file, "render", "--output", str(out), "--frames", "1-3")
    assert done.returncode == 0, done.stderr
    # A farm's raw output for frame 4, cut short.
    raw = out / ".raw"
    raw.mkdir()
    (raw / "000004.exr").write_bytes(b"v/1\x01\x02\x00\x00\x00channels\x00chlist\x00")
    done = run(import_path, scene_file, "finalize", str(out), "--frames", "1-4")
    assert done.returncode == 1
    assert "frame 4 is damaged" in done.stderr and "000004.exr" in done.stderr, done.stderr
    data = assert_dataset_is_true_but_raw(out)
    assert data["frames"] == [1, 2, 3]


def assert_dataset_is_true_but_raw(out):
    # The damaged raw frame stays for the user to render again; all else holds.
    raw = out / ".raw"
    kept = raw.rename(out.parent / "kept-raw")
    try:
        return assert_dataset_is_true(out)
    finally:
        kept.rename(raw)
