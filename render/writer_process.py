"""The dataset writer in a process of its own, converting each frame while the next renders.

A frame's label files, checks, record and index are written by a
:class:`~.writer.DatasetWriter` after Blender has rendered the frame's raw passes. In a
thread of Blender's own process that work would hold Python's global lock for part of
its time, and Blender's main thread needs that lock a few times during every render (the
render engine's own callbacks): it waits while a low-priority writer holds it, which
makes each render of a run longer. :class:`WriterProcess` hands the writer to a child
Python (the interpreter Blender runs, with Blender's module path), which shares no lock
with Blender, runs at the lowest priority and writes the same files. On Windows, or
where that interpreter cannot start, :class:`WriterThread` does the same work on a
background thread (``render.worker``). :func:`start_writer` picks one.

Both take frames in order, at most ``max_pending`` waiting (``submit`` blocks beyond),
and report the frames they finished; the first error is raised again at the next
``submit``, ``drain`` or ``close`` and later frames are dropped, unrecorded. The child
never outlives Blender: it dies with it (Linux) or within a tenth of a second of it,
so a killed render leaves what a killed thread would, and the next run cleans it up.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import pickle
import queue
import select
import signal
import struct
import subprocess
import sys
import threading
import time
import traceback

from ..errors import GroundTruthError
from .worker import LOW_PRIORITY_NICE, BackgroundWorker

# How long the child may take to start (import numpy and the writer) before the thread
# is used instead.
START_TIMEOUT_S = 60.0
# How often the child checks that Blender still runs (where it is not told by Linux).
PARENT_CHECK_S = 0.1
# glibc's malloc settings in the child (mallopt): freed memory stays in the process up
# to TRIM_THRESHOLD instead of going back to the kernel, and blocks up to
# MMAP_THRESHOLD (glibc's most) come from it. By default a frame's large arrays are
# handed back and faulted in again for the next frame: about 1,800 page faults and 6
# to 8 ms of the 55 ms of CPU a 640x480 frame takes on a small virtual machine.
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
TRIM_THRESHOLD = 256 << 20
MMAP_THRESHOLD = 32 << 20

_HEADER = struct.Struct("!Q")

# The child's first lines (standard library only): read the start message (Blender's
# module path, the extension's package name and folder, Blender's process ID), import
# the package under its name in Blender without running its registration, then serve.
# Blender's own modules are blocked as they are in a Python beside Blender, so that
# nothing the writer needs can depend on them unnoticed.
_BOOTSTRAP = """\
import importlib, importlib.util, os, pickle, struct, sys, types
size = struct.unpack("!Q", os.read(0, 8))[0]
data = bytearray()
while len(data) < size:
    chunk = os.read(0, size - len(data))
    if not chunk:
        sys.exit(3)
    data += chunk
start = pickle.loads(bytes(data))
sys.path[:] = start["path"]
for blocked in ("bpy", "mathutils", "bmesh", "gpu"):
    sys.modules[blocked] = None
name, folder = start["package"], start["folder"]
parts = name.split(".")
for depth in range(1, len(parts)):
    parent = ".".join(parts[:depth])
    if parent not in sys.modules:
        module = types.ModuleType(parent)
        module.__path__ = []
        sys.modules[parent] = module
spec = importlib.util.spec_from_file_location(
    name, os.path.join(folder, "__init__.py"), submodule_search_locations=[folder]
)
package = importlib.util.module_from_spec(spec)
sys.modules[name] = package
spec.loader.exec_module(package)
importlib.import_module(name + ".render.writer_process").serve(start["parent"])
"""


class WriterStoppedError(GroundTruthError):
    """The writer process ended before it finished the frames handed to it."""


# ---------------------------------------------------------------------- messages


def _send(fd, message):
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    view = memoryview(_HEADER.pack(len(data)) + data)
    while view:
        view = view[os.write(fd, view) :]


def _read_exactly(fd, size):
    data = bytearray()
    while len(data) < size:
        chunk = os.read(fd, min(size - len(data), 1 << 20))
        if not chunk:
            raise EOFError
        data += chunk
    return bytes(data)


def _receive(fd):
    """The next message on ``fd``; EOFError when the other side is gone."""
    (size,) = _HEADER.unpack(_read_exactly(fd, _HEADER.size))
    return pickle.loads(_read_exactly(fd, size))


def _portable_error(error):
    """``error`` as it can cross to Blender: itself when it pickles, else a
    :class:`GroundTruthError` with its text. Errors that are not the user's get the
    child's traceback as a note."""
    if not isinstance(error, GroundTruthError):
        trace = "".join(traceback.format_tb(error.__traceback__))
        error.add_note(f"In the writer process:\n{trace}")
    try:
        pickle.loads(pickle.dumps(error))
    except Exception:
        return GroundTruthError(f"{type(error).__name__}: {error}")
    return error


# ---------------------------------------------------------------------- Blender's side


def _python_executable():
    """The Python interpreter beside Blender, or None where there is none to use."""
    path = sys.executable
    if not path or not os.path.basename(path).lower().startswith("python"):
        return None  # e.g. the Blender binary itself: never started with Python's flags
    return path if os.access(path, os.X_OK) else None


def _package():
    """The extension's package name and folder, as Blender imported it."""
    name = __package__.rpartition(".")[0]
    return name, os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class WriterProcess:
    """``writer``'s frames converted in a child process, in the order submitted.

    Raises :class:`OSError` or :class:`WriterStoppedError` when the child cannot start (then
    nothing has been written).
    """

    def __init__(self, writer, max_pending=2, start_timeout=START_TIMEOUT_S):
        python = _python_executable()
        if python is None:
            raise WriterStoppedError(f"no Python interpreter to start ({sys.executable})")
        self.max_pending = max_pending
        self.index_written = False
        self.cpu_seconds = []  # the child's CPU time for each frame it finished
        self._sent = []  # frames handed over and not finished yet
        self._closed = False
        self._lost = None  # the WriterStoppedError, once the child is gone
        self._finished = []
        self._error = None
        self._pipe_signal = _ignore_broken_pipes()
        package, folder = _package()
        try:
            self._process = subprocess.Popen(
                [python, "-I", "-c", _BOOTSTRAP],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                close_fds=True,
            )
        except BaseException:
            _restore_broken_pipes(self._pipe_signal)
            raise
        self._to_child = self._process.stdin.fileno()
        self._from_child = self._process.stdout.fileno()
        try:
            start = {"path": list(sys.path), "package": package, "folder": folder}
            _send(self._to_child, {**start, "parent": os.getpid()})
            _send(self._to_child, writer)
            reply = self._next(timeout=start_timeout)
            if reply[0] != "ready":
                raise WriterStoppedError(f"the writer process did not start: {reply}")
        except BaseException:
            self._kill()
            if self._lost is not None:  # it ended before it was ready
                code = self._process.returncode
                raise WriterStoppedError(
                    f"the writer process ended with code {code} before it started"
                ) from None
            raise

    @property
    def pid(self):
        """The child's process ID."""
        return self._process.pid

    @property
    def lost(self):
        """Whether the child ended before it finished its frames (it may have left
        half-written files, which ``dataset.records.remove_leftovers`` removes)."""
        return self._lost is not None

    def _next(self, timeout=None):
        """The child's next message; :class:`WriterStoppedError` when it is gone."""
        if timeout is not None:
            ready, _, _ = select.select([self._from_child], [], [], timeout)
            if not ready:
                raise WriterStoppedError(f"the writer process did not answer in {timeout:.0f} s")
        try:
            return _receive(self._from_child)
        except (EOFError, OSError):
            raise self._stopped() from None

    def _stopped(self):
        """The error of a child that is gone (it is kept: every later call raises it)."""
        if self._lost is None:
            code = self._process.wait()
            how = f"was killed (signal {-code})" if code < 0 else f"exited with code {code}"
            frames = ", ".join(map(str, self._sent)) or "none"
            self._lost = WriterStoppedError(
                f"The writer process {how} while writing frames ({frames}); the frames "
                "written before are complete: render again to resume"
            )
        return self._lost

    def _handle(self, message):
        kind = message[0]
        if kind in ("done", "dropped"):
            frame = message[1]
            self._sent.remove(frame)
            if kind == "done":
                self._finished.append(frame)
                self.cpu_seconds.append(message[2])
        elif kind == "error":
            self._sent.remove(message[1])
            if self._error is None:
                self._error = message[2]
        else:
            raise WriterStoppedError(f"the writer process said {message!r}")

    def _collect(self, waiting=None):
        """Take the child's messages that wait; with ``waiting``, also wait until no
        more than that many frames are unfinished."""
        while self._sent and self._lost is None and not self._closed:
            must_wait = waiting is not None and len(self._sent) > waiting
            if not must_wait and not select.select([self._from_child], [], [], 0)[0]:
                return
            self._handle(self._next())

    def _raise(self):
        if self._error is not None:
            error, self._error = self._error, None
            raise error
        if self._lost is not None:
            raise self._lost

    def submit(self, frame, info):
        """Hand ``frame`` (its ``frame_info``) over; blocks while ``max_pending`` wait."""
        self._collect()
        self._raise()
        self._collect(waiting=self.max_pending - 1)
        self._raise()
        self._sent.append(frame)
        try:
            _send(self._to_child, ("frame", frame, info))
        except OSError:
            raise self._stopped() from None

    def finished(self):
        """The frames finished since the last call (recorded and in the index)."""
        self._collect()
        done, self._finished = self._finished, []
        return done

    def drain(self):
        """Wait until every frame handed over is finished; raise the first error."""
        self._collect(waiting=0)
        self._raise()

    def close(self):
        """Finish the frames handed over, write the final index and stop the child.

        ``index_written`` says whether the child wrote the final index; the first error
        of any frame is raised after the child has stopped.
        """
        try:
            if self._lost is None and not self._closed:
                try:
                    _send(self._to_child, ("close",))
                except OSError:
                    raise self._stopped() from None
                while True:
                    message = self._next()
                    if message[0] == "closed":
                        self.index_written = message[1] is None
                        if message[1] is not None and self._error is None:
                            self._error = message[1]
                        break
                    self._handle(message)
                self._process.stdin.close()
                self._process.wait()
        except WriterStoppedError:
            if self._sent:
                raise
        finally:
            self._kill()
        if self._error is not None or self._sent:  # gone with every frame done: no loss
            self._raise()

    def _kill(self):
        """Stop the child (when it still runs) and close the pipes."""
        self._closed = True
        with contextlib.suppress(OSError):
            if self._process.poll() is None:
                self._process.kill()
            self._process.wait()
        for pipe in (self._process.stdin, self._process.stdout):
            with contextlib.suppress(OSError):
                pipe.close()
        _restore_broken_pipes(self._pipe_signal)
        self._pipe_signal = None


def _ignore_broken_pipes():
    """Writing to a child that died must raise an error, not end Blender: SIGPIPE is
    ignored while the child lives (as Python does by default). Returns what to restore."""
    if not hasattr(signal, "SIGPIPE") or threading.current_thread() is not threading.main_thread():
        return None
    previous = signal.getsignal(signal.SIGPIPE)
    if previous == signal.SIG_IGN:
        return None
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    return previous


def _restore_broken_pipes(previous):
    if previous is not None and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGPIPE, previous)


class WriterThread:
    """``writer``'s frames converted on a low-priority background thread, in order."""

    def __init__(self, writer, max_pending=2):
        self.index_written = False  # the thread leaves the final index to its caller
        self.lost = False
        self._writer = writer
        self._finished = []
        self._worker = BackgroundWorker(max_pending=max_pending, low_priority=True)

    def _finish(self, frame, info):
        self._writer.finish_frame(frame, info)
        self._finished.append(frame)  # atomic: read and emptied on the main thread

    def submit(self, frame, info):
        """Hand ``frame`` (its ``frame_info``) over; blocks while ``max_pending`` wait."""
        self._worker.submit(self._finish, frame, info)

    def finished(self):
        """The frames finished since the last call (recorded and in the index)."""
        done = []
        while self._finished:
            done.append(self._finished.pop(0))
        return done

    def drain(self):
        """Wait until every frame handed over is finished; raise the first error."""
        self._worker.drain()

    def close(self):
        """Finish the frames handed over and stop the thread; raise the first error."""
        self._worker.close()


def start_writer(writer, max_pending=2):
    """A :class:`WriterProcess` for ``writer`` where one starts (not on Windows), else a
    :class:`WriterThread`."""
    if os.name == "posix":
        try:
            return WriterProcess(writer, max_pending)
        except Exception as error:  # the same files are written, on a thread
            print(f"Ground Truth: writing on a thread ({error})", file=sys.stderr)
    return WriterThread(writer, max_pending)


# ---------------------------------------------------------------------- the child


def serve(parent):
    """The child's loop: receive the writer, then convert frames until told to close.

    ``parent`` is Blender's process ID. Messages come on standard input; answers go out
    on what was standard output, which is then pointed at standard error so that
    nothing printed can break them.
    """
    out = os.dup(1)
    os.dup2(2, 1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C stops Blender; this follows it
    _follow_parent(parent)
    with contextlib.suppress(OSError):
        os.nice(LOW_PRIORITY_NICE)
    keep_freed_memory()
    writer = _receive(0)
    _send(out, ("ready",))
    # Messages are read as they come, so that Blender never waits on a full pipe.
    inbox = queue.Queue()
    threading.Thread(target=_read_messages, args=(inbox,), daemon=True).start()
    failed = False
    while True:
        message = inbox.get()
        if message is None:  # Blender is gone, or closed without saying so
            return
        if message[0] == "close":
            error = None
            try:
                writer.write_index(final=True)
            except Exception as problem:
                error = _portable_error(problem)
            _send(out, ("closed", error))
            return
        _kind, frame, info = message
        if failed:
            _send(out, ("dropped", frame))
            continue
        start = time.process_time()
        try:
            writer.finish_frame(frame, info)
        except Exception as error:
            failed = True
            _send(out, ("error", frame, _portable_error(error)))
            continue
        _send(out, ("done", frame, time.process_time() - start))


def keep_freed_memory():
    """Keep the memory this process frees for its next allocations (glibc's ``mallopt``,
    see :data:`TRIM_THRESHOLD`); returns whether the C library took the settings."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    # Both: setting one stops glibc adjusting the other, and either alone is slower than
    # glibc's defaults.
    if mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) != 1:
        return False
    return mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1


def _read_messages(inbox):
    while True:
        try:
            inbox.put(_receive(0))
        except (EOFError, OSError):
            inbox.put(None)
            return


def _follow_parent(parent):
    """End this process when Blender's ends: at once on Linux, else within
    :data:`PARENT_CHECK_S`."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:
        os._exit(1)

    def watch():
        while os.getppid() == parent:
            time.sleep(PARENT_CHECK_S)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()
