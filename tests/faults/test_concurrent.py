"""Several processes render into one dataset folder at once, with disjoint or overlapping
frames: every process ends well, every frame is listed exactly once, and the result is the
one a single process gives."""

import subprocess

import numpy as np
import pytest
from fault_runs import assert_dataset_is_true, command, environment, run

from ground_truth.dataset import reader


@pytest.fixture(scope="module")
def reference(import_path, scene_file, tmp_path_factory):
    out = tmp_path_factory.mktemp("reference") / "dataset"
    done = run(import_path, scene_file, "render", "--output", str(out), "--frames", "1-8")
    assert done.returncode == 0, done.stderr
    return out


def together(import_path, blend, out, frame_lists):
    processes = [
        subprocess.Popen(
            command(import_path, blend, "render", "--output", str(out), "--frames", frames),
            env=environment(import_path),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for frames in frame_lists
    ]
    results = [(p.wait(timeout=300), *p.communicate()) for p in processes]
    for code, _out, err in results:
        assert code == 0, err
    return [out for _code, out, _err in results]


def assert_same_labels(out, reference):
    for frame in range(1, 9):
        ours = reader.load_frame(out, frame, exr_backend="builtin")
        theirs = reader.load_frame(reference, frame, exr_backend="builtin")
        for key in ("class", "instance", "depth"):
            np.testing.assert_array_equal(ours[key], theirs[key], err_msg=f"{key} {frame}")
        assert ours["meta"]["instances"] == theirs["meta"]["instances"]


@pytest.mark.parametrize(
    "frame_lists",
    [("1-4", "5-8"), ("1-8", "1-8", "1-8", "1-8"), ("1-6", "3-8"), ("1-8:2", "2-8:2", "1-8")],
    ids=["two disjoint", "four the same", "two overlapping", "three mixed"],
)
def test_processes_into_one_folder_list_every_frame_once(
    import_path, scene_file, reference, tmp_path, frame_lists
):
    out = tmp_path / "dataset"
    together(import_path, scene_file, out, frame_lists)
    assert_dataset_is_true(out, range(1, 9))
    assert_same_labels(out, reference)
