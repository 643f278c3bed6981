"""One background thread for per-frame file work while the next frame renders.

A render's writer runs in a process of its own (``render.writer_process``); this thread
does its work where that process cannot start (Windows, no Python beside Blender).

Cycles releases Python's global lock while it renders, so converting frame N's
passes (numpy, zlib, file writes) on this thread overlaps the render of frame N+1.
Jobs run in submission order; the first error is raised again in the submitting
thread at the next ``submit``, ``drain`` or ``close``.

Cycles keeps every core busy while it samples and denoises, and a thread competing
with it delays the whole frame by about the time it runs. On Linux the worker can
therefore run at the lowest priority (``low_priority``): it then works mostly while
Blender is single-threaded (syncing the scene, compositing, saving files). It never
starves: once ``max_pending`` jobs wait, ``submit`` blocks and the worker has the
machine to itself.

Python's lock is what the worker cannot leave to the render by priority. Blender's main
thread takes it back each time the render calls into Python (the render engine's own
callbacks, a few per frame) and waits while the worker holds it. Measured on 2 cores
beside a 1-sample 640x480 render: a worker running Python for 90 ms made the render
53 ms longer, one compressing with zlib for as long (lock released) 0 to 8 ms. While a
low-priority worker lives, Python therefore hands the lock over after 0.5 ms instead
of 5 ms (its switch interval; 40 instead of 53 ms there), and the worker's own
code keeps its time with the lock short (large numpy and zlib calls, the C JSON encoder).
"""

from __future__ import annotations

import contextlib
import os
import queue
import sys
import threading
from collections.abc import Callable

# The nice value of a low-priority worker (the lowest priority there is).
LOW_PRIORITY_NICE = 19
# How long another thread waits for Python's lock at most before the holder is asked for
# it, while a low-priority worker lives (Python's default is 5 ms).
LOCK_SWITCH_INTERVAL_S = 0.0005


def lower_this_thread_priority() -> bool:
    """Give the calling thread the lowest CPU priority; True where that was done.

    Only on Linux, where nice values belong to threads (elsewhere they belong to the
    process, and Blender's own threads must not be slowed down).
    """
    if not sys.platform.startswith("linux"):
        return False
    with contextlib.suppress(OSError, AttributeError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), LOW_PRIORITY_NICE)
        return True
    return False


class BackgroundWorker:
    """A single worker thread with a small bounded queue of jobs."""

    def __init__(self, max_pending: int = 2, low_priority: bool = False) -> None:
        self._queue: queue.Queue = queue.Queue(maxsize=max_pending)
        self._error: BaseException | None = None
        self._low_priority = low_priority
        self._switch_interval = None
        if low_priority:
            self._switch_interval = sys.getswitchinterval()
            sys.setswitchinterval(min(self._switch_interval, LOCK_SWITCH_INTERVAL_S))
        self._thread = threading.Thread(target=self._loop, name="ground-truth-writer", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        if self._low_priority:
            lower_this_thread_priority()
        while True:
            job = self._queue.get()
            try:
                if job is None:
                    return
                if self._error is None:  # after a failure, later jobs are dropped
                    function, args = job
                    function(*args)
            except BaseException as error:  # handed to the submitting thread
                self._error = error
            finally:
                self._queue.task_done()

    def _raise(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def submit(self, function: Callable, *args) -> None:
        """Queue ``function(*args)``; blocks while ``max_pending`` jobs wait."""
        self._raise()
        self._queue.put((function, args))

    def drain(self) -> None:
        """Wait until every queued job has run; raise the first error of any."""
        self._queue.join()
        self._raise()

    def close(self) -> None:
        """Finish the queued jobs, stop the thread and raise a pending error."""
        try:
            if self._thread.is_alive():
                self._queue.put(None)
                self._thread.join()
        finally:
            if self._switch_interval is not None:
                sys.setswitchinterval(self._switch_interval)
                self._switch_interval = None
        self._raise()
