"""kill -9 at seeded moments spread over rendering and writing, then resume.

After every kill each frame the dataset lists loads and matches its record; after the
resume every frame is there, COCO equals a rebuild from the files, and nothing a killed
process left survives.
"""

import random
import signal
import subprocess
import time

import pytest
from fault_runs import assert_dataset_is_true, command, environment, run

FRAMES = "1-6"
KILLS = 24


@pytest.fixture(scope="module")
def frame_seconds(import_path, heavy_scene, tmp_path_factory):
    """How long one frame takes here, from a whole run's progress lines."""
    out = tmp_path_factory.mktemp("timing") / "dataset"
    process = subprocess.Popen(
        command(import_path, heavy_scene, "render", "--output", str(out), "--frames", FRAMES),
        env=environment(import_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    stamps = [time.monotonic() for line in process.stdout if line.startswith("Frame ")]
    assert process.wait(timeout=300) == 0
    assert_dataset_is_true(out, range(1, 7))
    return (stamps[-1] - stamps[0]) / (len(stamps) - 1)


@pytest.mark.parametrize("seed", range(KILLS))
def test_a_killed_run_lists_only_whole_frames_and_resume_completes_it(
    import_path, heavy_scene, frame_seconds, tmp_path, seed
):
    out = tmp_path / "dataset"
    # Kill points over the whole run: after the progress line of frame 1..6 (Cycles is
    # rendering it, the writer thread converts the frame before), jittered over up to
    # 1.5 frames by the seed (so the last ones land in the final conversion and index).
    rng = random.Random(seed)
    after = 1 + seed % 6
    delay = rng.random() * 1.5 * frame_seconds
    process = subprocess.Popen(
        command(import_path, heavy_scene, "render", "--output", str(out), "--frames", FRAMES),
        env=environment(import_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    for line in process.stdout:
        if line.startswith(f"Frame {after} "):
            break
    time.sleep(delay)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)
    process.stdout.close()
    if (out / "dataset.json").exists():
        from ground_truth.dataset import reader

        for frame in reader.read_dataset(out)["frames"]:
            reader.load_frame(out, frame, exr_backend="builtin")  # whole, or raises
    done = run(
        import_path, heavy_scene, "render", "--output", str(out), "--frames", FRAMES, "--resume"
    )
    assert done.returncode == 0, done.stderr
    assert_dataset_is_true(out, range(1, 7))
