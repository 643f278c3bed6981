"""The writer process converts frames in order beside Blender, hands errors back and
never outlives Blender."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
from fake_writers import AllocatingWriter, BlenderNeedingWriter, RecordingWriter

from ground_truth.errors import GroundTruthError
from ground_truth.render import writer_process
from ground_truth.render.worker import LOW_PRIORITY_NICE
from ground_truth.render.writer_process import (
    WriterProcess,
    WriterStoppedError,
    WriterThread,
    start_writer,
)

pytestmark = pytest.mark.skipif(os.name != "posix", reason="the writer process is POSIX's")


def lines(log):
    return log.read_text().splitlines() if log.exists() else []


def wait_gone(pid, seconds=5.0):
    """Whether process ``pid`` ended (and was reaped by its parent) within ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.02)
    return False


def test_frames_are_converted_in_order_in_another_process_which_writes_the_index(tmp_path):
    log = tmp_path / "log"
    writer = WriterProcess(RecordingWriter(log))
    assert writer.pid != os.getpid()
    done = []
    for frame in range(1, 8):
        writer.submit(frame, {"camera": frame})
        done += writer.finished()
    writer.drain()
    done += writer.finished()
    assert done == list(range(1, 8))
    assert [line.split()[:3] for line in lines(log)] == [
        ["frame", str(frame), str(writer.pid)] for frame in range(1, 8)
    ]
    assert lines(log)[0].endswith("{'camera': 1}")
    writer.close()
    assert writer.index_written
    assert lines(log)[-1] == "index True"
    assert len(writer.cpu_seconds) == 7
    assert wait_gone(writer.pid)


def test_the_child_runs_at_the_lowest_priority(tmp_path):
    writer = WriterProcess(RecordingWriter(tmp_path / "log"))
    try:
        assert os.getpriority(os.PRIO_PROCESS, writer.pid) == LOW_PRIORITY_NICE
        assert os.getpriority(os.PRIO_PROCESS, 0) != LOW_PRIORITY_NICE  # not Blender's
    finally:
        writer.close()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc settings")
def test_the_child_keeps_the_memory_a_frame_frees_for_the_next(tmp_path):
    # By default glibc gives the freed arrays back to the kernel and the next frame
    # faults every page of them in again.
    log = tmp_path / "log"
    writer = WriterProcess(AllocatingWriter(log))
    for frame in range(1, 5):
        writer.submit(frame, None)
    writer.close()
    faults = [int(line.split()[2]) for line in lines(log) if line.startswith("faults")]
    assert len(faults) == 4
    assert faults[0] > 4000  # the first frame's 18 MiB, 4 KiB pages
    assert max(faults[1:]) < 100, faults


def test_an_error_comes_back_as_it_was_raised_and_later_frames_are_dropped(tmp_path):
    log = tmp_path / "log"
    writer = WriterProcess(RecordingWriter(log, fail_at=2))
    with pytest.raises(OSError) as raised:
        for frame in range(1, 6):
            writer.submit(frame, None)
        writer.drain()
    error = raised.value
    assert (error.errno, error.filename) == (28, "/dataset/depth/000002.exr")
    frames = [line.split()[1] for line in lines(log) if line.startswith("frame")]
    assert frames == ["1"]
    writer.close()  # raised once only; the child still writes the final index
    assert writer.index_written
    assert lines(log)[-1] == "index True"


def test_the_child_imports_nothing_of_blender(tmp_path):
    writer = WriterProcess(BlenderNeedingWriter(tmp_path / "log"))
    writer.submit(1, None)
    with pytest.raises(ImportError, match="bpy") as raised:
        writer.drain()
    assert any("In the writer process" in note for note in raised.value.__notes__)
    writer.close()


def test_a_killed_child_is_reported_with_its_frames_and_nothing_hangs(tmp_path):
    writer = WriterProcess(RecordingWriter(tmp_path / "log", seconds=5.0))
    writer.submit(1, None)
    writer.submit(2, None)
    os.kill(writer.pid, signal.SIGKILL)
    with pytest.raises(WriterStoppedError, match=r"killed \(signal 9\).*frames \(1, 2\)"):
        writer.submit(3, None)
    assert writer.finished() == []
    with pytest.raises(GroundTruthError, match="render again to resume"):
        writer.close()
    assert not writer.index_written


def test_ctrl_c_in_the_terminal_leaves_the_child_to_finish_its_frames(tmp_path):
    log = tmp_path / "log"
    writer = WriterProcess(RecordingWriter(log, seconds=0.3))
    writer.submit(1, None)
    os.kill(writer.pid, signal.SIGINT)
    writer.close()
    assert [line.split()[0] for line in lines(log)] == ["frame", "index"]


def test_a_large_frame_is_taken_while_the_child_converts_the_one_before(tmp_path):
    writer = WriterProcess(RecordingWriter(tmp_path / "log", seconds=3.0))
    try:
        writer.submit(1, None)
        start = time.monotonic()
        writer.submit(2, np.zeros(8 << 20, dtype=np.uint8))  # far more than a pipe holds
        assert time.monotonic() - start < 2.0
    finally:
        writer.close()


def test_the_child_ends_when_blender_is_killed(tmp_path):
    pid_file = tmp_path / "pid"
    script = textwrap.dedent(f"""
        import sys, time
        sys.path[:0] = {sys.path!r}
        from fake_writers import RecordingWriter
        from ground_truth.render.writer_process import WriterProcess
        writer = WriterProcess(RecordingWriter({str(tmp_path / "log")!r}, seconds=30.0))
        writer.submit(1, None)
        open({str(pid_file)!r}, "w").write(str(writer.pid))
        time.sleep(60)
    """)
    parent = subprocess.Popen([sys.executable, "-c", script])
    deadline = time.monotonic() + 30
    while not (pid_file.exists() and pid_file.read_text()) and time.monotonic() < deadline:
        time.sleep(0.05)
    child = int(pid_file.read_text())
    parent.kill()
    parent.wait()
    assert wait_gone(child, seconds=2.0)
    assert not (tmp_path / "log").exists()  # its frame was not finished after Blender died


def test_without_a_python_to_start_the_frames_are_converted_on_a_thread(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.setattr(sys, "executable", "/opt/blender/blender")
    log = tmp_path / "log"
    writer = start_writer(RecordingWriter(log))
    assert isinstance(writer, WriterThread)
    assert "writing on a thread" in capsys.readouterr().err
    writer.submit(1, "info")
    writer.close()
    assert writer.finished() == [1]
    assert not writer.index_written  # left to the caller
    assert lines(log) == [f"frame 1 {os.getpid()} info"]


def test_a_child_that_cannot_start_is_refused_in_time(tmp_path, monkeypatch):
    monkeypatch.setattr(writer_process, "_BOOTSTRAP", "import time; time.sleep(30)")
    start = time.monotonic()
    with pytest.raises(WriterStoppedError, match="did not answer"):
        WriterProcess(RecordingWriter(tmp_path / "log"), start_timeout=0.5)
    assert time.monotonic() - start < 5


def test_a_child_that_ends_before_it_is_ready_is_named(tmp_path, monkeypatch):
    monkeypatch.setattr(writer_process, "_BOOTSTRAP", "import sys; sys.exit(7)")
    with pytest.raises(WriterStoppedError, match="ended with code 7 before it started"):
        WriterProcess(RecordingWriter(tmp_path / "log"))


def test_the_child_imports_the_extension_under_its_name_in_blender(tmp_path):
    # Blender imports an extension as bl_ext.<repository>.<name>; what the child
    # unpickles names its classes so.
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    log = tmp_path / "log"
    # Not the tests' own import path, so that nothing can be found as "ground_truth".
    path = [entry for entry in sys.path if not os.path.isdir(os.path.join(entry, "ground_truth"))]
    script = textwrap.dedent(f"""
        import importlib.util, sys, types
        sys.path[:0] = {path!r}
        for name in ("bl_ext", "bl_ext.user_default"):
            module = types.ModuleType(name)
            module.__path__ = []
            sys.modules[name] = module
        name = "bl_ext.user_default.ground_truth"
        spec = importlib.util.spec_from_file_location(
            name, {repo!r} + "/__init__.py", submodule_search_locations=[{repo!r}]
        )
        package = importlib.util.module_from_spec(spec)
        sys.modules[name] = package
        spec.loader.exec_module(package)
        from bl_ext.user_default.ground_truth.render.writer import SceneFacts
        from bl_ext.user_default.ground_truth.render.writer_process import WriterProcess
        from fake_writers import RecordingWriter
        facts = SceneFacts("Scene", 1.0, (4, 3), "", "5.0.1")
        writer = WriterProcess(RecordingWriter({str(log)!r}))
        writer.submit(1, facts)
        writer.close()
        assert "ground_truth" not in sys.modules
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert lines(log)[0].endswith(
        "SceneFacts(name='Scene', unit_scale=1.0, resolution=(4, 3), "
        "blend_path='', blender_version='5.0.1', parts=[])"
    )
