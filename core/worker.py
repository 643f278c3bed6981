"""One background thread for per-frame file work while the next frame renders.

Cycles releases Python's global lock while it renders, so converting frame N's
passes (numpy, zlib, file writes) on this thread costs the render of frame N+1
almost nothing. Jobs run in submission order; the first error is raised again in
the submitting thread at the next ``submit``, ``drain`` or ``close``.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable


class BackgroundWorker:
    """A single worker thread with a small bounded queue of jobs."""

    def __init__(self, max_pending: int = 2) -> None:
        self._queue: queue.Queue = queue.Queue(maxsize=max_pending)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._loop, name="ground-truth-writer", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
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
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()
        self._raise()
