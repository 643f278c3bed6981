"""Many processes, one dataset folder: per-frame records, claims, a short lock, cleanup.

How a dataset stays true when several processes (on one machine or on several sharing
a file system) render into it at once, and after any of them is killed:

- **Records.** A process that has written every file of a frame then writes the
  frame's record, ``.frames/NNNNNN.json``, atomically: the outputs the frame holds,
  the size of each file, its COCO image and annotations, the copies it labelled and
  which process made it. A record exists only for a complete frame.
- **The index.** ``dataset.json``'s frame list and the COCO file are rebuilt from the
  records by whoever writes them, under :class:`DatasetLock` (held for milliseconds).
  Records of different processes never overwrite each other, so no frame is lost,
  and the last writer's index lists every complete frame exactly once.
- **Claims.** Before rendering a frame a process claims it (``.frames/NNNNNN.claim``,
  created exclusively) and refreshes the claim while it renders. A frame claimed by
  another live process is left to it; claims of dead processes are taken over.
- **Cleanup.** Every temporary name carries its writer's host and process ID
  (:func:`owner`). Claims, locks, raw folders and half-written files of a process
  that is gone (its process has ended, on this host; or not refreshed for
  :data:`STALE_S` seconds, from another host) are removed by the next run.

Liveness on another host cannot be asked, hence the refresh: a claim or raw folder
untouched for :data:`STALE_S` seconds belongs to a process that is gone.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import threading
import time
import zlib
from collections.abc import Iterable, Iterator

from ..codecs import atomic
from ..codecs.atomic import owner
from . import layout

RECORDS_DIR = ".frames"
LOCK_FILE = ".lock"
# A claim or raw folder not refreshed for this long belongs to a process that is gone.
STALE_S = 120.0
# Claims are refreshed this often while their frame renders.
REFRESH_S = 20.0
# The index lock is held for milliseconds; one older than this is left over by a kill.
LOCK_STALE_S = 30.0

_OWNER = re.compile(r"(?P<host>[^/]+)-(?P<pid>\d+)$")


def owner_is_gone(name: str, mtime: float, now: float | None = None) -> bool:
    """Whether the process named ``<host>-<pid>`` at the end of ``name`` is gone.

    On this host: its process no longer exists. Elsewhere: ``mtime`` is older than
    :data:`STALE_S` (its owner refreshes what it holds). Unsigned names are gone when old.
    """
    now = time.time() if now is None else now
    match = _OWNER.search(name.rpartition(".tmp-")[2])
    if match and match["host"] == socket.gethostname():
        return not _pid_alive(int(match["pid"]))
    return now - mtime > STALE_S


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return not _is_zombie(pid)


def _is_zombie(pid: int) -> bool:
    """Whether process ``pid`` has ended and only waits to be collected (Linux), which in
    a container without an init that collects them can take long: it writes nothing."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as file:
            stat_line = file.read()
    except OSError:
        return False
    state = stat_line[stat_line.rfind(b")") + 2 :][:1]  # the field after the name
    return state in (b"Z", b"X")


def file_stamp(path: str) -> dict:
    """What a record keeps of a file: its size and CRC-32, to tell it was changed."""
    crc, size = 0, 0
    with open(path, "rb") as file:
        while block := file.read(1 << 20):
            crc = zlib.crc32(block, crc)
            size += len(block)
    return {"size": size, "crc32": crc}


def stamp_size(stamp) -> int:
    """The size a file stamp records (older records kept the size alone)."""
    return stamp["size"] if isinstance(stamp, dict) else int(stamp)


def check_stamp(data: bytes, stamp, path: str) -> None:
    """Raise :class:`ValueError` when ``data`` (read from ``path``) is not what was written."""
    if len(data) != stamp_size(stamp):
        raise ValueError(
            f"{path} is {len(data)} bytes, its frame's record says {stamp_size(stamp)}: "
            "it was cut short or changed"
        )
    if isinstance(stamp, dict) and zlib.crc32(data) != stamp.get("crc32"):
        raise ValueError(f"{path} does not match its frame's record (CRC-32): it is damaged")


def is_bookkeeping(name: str) -> bool:
    """Whether a top-level entry of a dataset folder is this module's own (a run killed
    before its first dataset.json leaves only these)."""
    return name in (RECORDS_DIR, LOCK_FILE, layout.RAW_DIR) or (
        name.startswith(f".{layout.DATASET_FILE}.tmp-")
    )


def record_path(root: str, frame: int) -> str:
    """``root/.frames/NNNNNN.json``."""
    return os.path.join(root, RECORDS_DIR, layout.frame_stem(frame) + ".json")


def claim_path(root: str, frame: int) -> str:
    """``root/.frames/NNNNNN.claim``."""
    return os.path.join(root, RECORDS_DIR, layout.frame_stem(frame) + ".claim")


def write_record(root: str, record: dict) -> str:
    """Write a complete frame's record atomically; returns its path."""
    path = record_path(root, record["frame"])
    os.makedirs(os.path.dirname(path), exist_ok=True)
    atomic.atomic_write_json(path, record, compact=True)
    return path


def read_record(root: str, frame: int) -> dict | None:
    """The record of ``frame``, or None when there is none or it cannot be read."""
    try:
        with open(record_path(root, frame), encoding="utf-8") as file:
            record = json.load(file)
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or record.get("frame") != frame:
        return None
    return record


def recorded_frames(root: str) -> list[int]:
    """The frames that have a record file, sorted."""
    folder = os.path.join(root, RECORDS_DIR)
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    frames = []
    for name in names:
        stem, extension = os.path.splitext(name)
        if extension == ".json" and re.fullmatch(r"-?\d+", stem):
            frames.append(int(stem))
    return sorted(frames)


def read_records(root: str, frames: Iterable[int] | None = None) -> dict[int, dict]:
    """``{frame: record}`` of ``frames`` (default: every recorded frame), unreadable left out."""
    wanted = recorded_frames(root) if frames is None else frames
    records = {}
    for frame in wanted:
        record = read_record(root, frame)
        if record is not None:
            records[frame] = record
    return records


def remove_record(root: str, frame: int) -> None:
    """Forget ``frame`` (it is being rendered again, or its files were found damaged)."""
    with contextlib.suppress(FileNotFoundError):
        os.remove(record_path(root, frame))


class FrameClaims:
    """The frames this process has claimed, refreshed in the background until released."""

    def __init__(self, root: str) -> None:
        self.root = root
        self.owner = owner()
        self._held: set[int] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def claim(self, frame: int) -> bool:
        """Claim ``frame``; False when another live process holds it."""
        path = claim_path(self.root, frame)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        for _attempt in range(2):
            try:
                fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                if not self._take_over(path):
                    return False
                continue
            try:
                os.write(fd, self.owner.encode())
            except OSError as error:
                os.close(fd)
                with contextlib.suppress(OSError):
                    os.remove(path)
                raise OSError(error.errno, error.strerror, path) from error
            os.close(fd)
            with self._lock:
                self._held.add(frame)
            self._start()
            return True
        return False

    def _take_over(self, path: str) -> bool:
        """Remove a claim left by a process that is gone; True when the path is free."""
        try:
            holder, mtime = _read_holder(path)
        except FileNotFoundError:
            return True
        except OSError:
            return False
        if holder == self.owner:
            with contextlib.suppress(FileNotFoundError):
                os.remove(path)
            return True
        if not owner_is_gone(holder or "?", mtime):
            return False
        with contextlib.suppress(FileNotFoundError):
            os.remove(path)
        return True

    def release(self, frame: int) -> None:
        """Give ``frame`` back (done, or not rendered after all)."""
        with self._lock:
            self._held.discard(frame)
        with contextlib.suppress(FileNotFoundError):
            os.remove(claim_path(self.root, frame))

    def release_all(self) -> None:
        """Give every claim back and stop refreshing."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        with self._lock:
            held, self._held = set(self._held), set()
        for frame in held:
            with contextlib.suppress(FileNotFoundError):
                os.remove(claim_path(self.root, frame))

    def _start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._refresh, name="ground-truth-claims", daemon=True
            )
            self._thread.start()

    def _refresh(self) -> None:
        while not self._stop.wait(REFRESH_S):
            with self._lock:
                held = list(self._held)
            for frame in held:
                with contextlib.suppress(OSError):
                    os.utime(claim_path(self.root, frame))


@contextlib.contextmanager
def DatasetLock(root: str, timeout: float = 60.0) -> Iterator[None]:  # noqa: N802
    """Hold the dataset's index lock (``root/.lock``) while the index is rewritten.

    Created exclusively; one left by a killed process (dead on this host, or older than
    :data:`LOCK_STALE_S`) is broken. Waits up to ``timeout`` seconds for a live holder.
    """
    path = os.path.join(root, LOCK_FILE)
    me = owner()
    deadline = time.monotonic() + timeout
    while True:
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            break
        except FileExistsError:
            if _lock_is_stale(path):
                with contextlib.suppress(FileNotFoundError):
                    os.remove(path)
                continue
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"{path} has been held for over {timeout:.0f} s by another process"
                ) from None
            time.sleep(0.01)
    try:
        os.write(fd, me.encode())
    except OSError as error:
        os.close(fd)
        with contextlib.suppress(OSError):
            os.remove(path)
        raise OSError(error.errno, error.strerror, path) from error
    os.close(fd)
    try:
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.remove(path)


def _read_holder(path: str) -> tuple[str, float]:
    """The owner written in a claim or lock file at ``path``, and the file's mtime.

    Raises ``OSError`` (``FileNotFoundError`` when it is gone) for the caller to decide.
    """
    with open(path, encoding="utf-8") as file:
        holder = file.read().strip()
    return holder, os.stat(path).st_mtime


def _lock_is_stale(path: str) -> bool:
    try:
        holder, mtime = _read_holder(path)
    except OSError:
        return False
    match = _OWNER.search(holder)
    if match and match["host"] == socket.gethostname() and not _pid_alive(int(match["pid"])):
        return True
    return time.time() - mtime > LOCK_STALE_S


def remove_leftovers(root: str) -> list[str]:
    """Remove what killed processes left in ``root``; returns the paths removed.

    Half-written files (``.<name>.tmp-<host>-<pid>``), claims and raw folders of
    processes that are gone (:func:`owner_is_gone`). Nothing else is touched.
    """
    removed = []
    now = time.time()
    for folder, dirs, files in os.walk(root):
        for name in files:
            path = os.path.join(folder, name)
            gone = False
            if name.startswith(".") and ".tmp-" in name:
                with contextlib.suppress(OSError):
                    gone = owner_is_gone(name, os.lstat(path).st_mtime, now)
            elif name.endswith(".claim") and os.path.basename(folder) == RECORDS_DIR:
                with contextlib.suppress(OSError):
                    with open(path, encoding="utf-8") as file:
                        holder = file.read().strip()
                    gone = owner_is_gone(holder or "?", os.lstat(path).st_mtime, now)
            if gone:
                with contextlib.suppress(FileNotFoundError):
                    os.remove(path)
                    removed.append(path)
        if os.path.basename(folder) == layout.RAW_DIR:
            for name in list(dirs):
                path = os.path.join(folder, name)
                if _OWNER.search(name) and owner_is_gone(name, _newest_mtime(path), now):
                    removed.extend(_remove_tree(path))
                    dirs.remove(name)
    with contextlib.suppress(OSError):
        os.rmdir(os.path.join(root, layout.RAW_DIR))  # only when nothing is left in it
    return removed


def make_raw_folder(folder: str, attempts: int = 10) -> None:
    """Make a process's raw folder (``.raw/<host>-<pid>``) before its first frame.

    Another process removes ``.raw`` when it finds it empty (:func:`remove_leftovers`, the
    end of a run); should that fall between making ``.raw`` and making ``folder`` in it,
    making them again succeeds. Once ``folder`` exists, ``.raw`` is not empty.
    """
    for _attempt in range(attempts - 1):
        try:
            os.makedirs(folder, exist_ok=True)
            return
        except FileNotFoundError:
            continue
    os.makedirs(folder, exist_ok=True)


def _newest_mtime(folder: str) -> float:
    newest = os.lstat(folder).st_mtime
    for name in os.listdir(folder):
        with contextlib.suppress(OSError):
            newest = max(newest, os.lstat(os.path.join(folder, name)).st_mtime)
    return newest


def _remove_tree(folder: str) -> list[str]:
    removed = []
    for name in os.listdir(folder):
        path = os.path.join(folder, name)
        if os.path.isfile(path) and not os.path.islink(path):
            os.remove(path)
            removed.append(path)
    with contextlib.suppress(OSError):
        os.rmdir(folder)
    return removed
