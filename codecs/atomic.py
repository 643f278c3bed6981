"""Atomic file writes: write to a temporary file in the target folder, then rename.

A reader never sees a half-written file: data goes to ``.<name>.tmp-<host>-<pid>`` next
to the destination, is flushed and fsynced, and then moved over the destination with
:func:`os.replace` (atomic on POSIX and Windows when both live on one volume). The
temporary name says which process wrote it (:func:`owner`), so that a later run can
remove what a killed process left. A destination that is a symbolic link is replaced
by the file, never written through. No folders are created; callers make sure the
destination folder exists.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
from collections.abc import Iterator
from typing import IO, Any


def owner() -> str:
    """This process as it signs its temporary files: ``<host>-<pid>``."""
    return f"{socket.gethostname()}-{os.getpid()}"


def _temp_path(path: str | os.PathLike[str]) -> str:
    """Return the temporary file path used while writing ``path``."""
    path = os.fspath(path)
    folder, name = os.path.split(path)
    return os.path.join(folder, f".{name}.tmp-{owner()}")


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike[str], mode: str = "wb", **kwargs: Any) -> Iterator[IO[Any]]:
    """Open a temporary file that replaces ``path`` when the ``with`` block succeeds.

    ``mode`` must be a write mode (``"wb"``, ``"w"``, ...); extra keyword arguments
    (e.g. ``encoding``) go to :func:`open`. On success the file is flushed, fsynced
    and moved over ``path``. If the block raises, the temporary file is removed, the
    previous content of ``path`` (if any) is left untouched, and the exception
    propagates.
    """
    if "w" not in mode and "x" not in mode:
        raise ValueError(f"atomic_open needs a write mode, got {mode!r}")
    mode = mode.replace("x", "w")
    tmp = _temp_path(path)
    try:
        f = open(tmp, mode, **kwargs)  # noqa: SIM115 - closed explicitly below
    except OSError as error:
        raise OSError(error.errno, error.strerror, os.fspath(path)) from error
    try:
        yield f
        f.flush()
        os.fsync(f.fileno())
        f.close()
        os.replace(tmp, os.fspath(path))
    except BaseException as error:
        with contextlib.suppress(OSError):
            f.close()
        with contextlib.suppress(OSError):
            os.remove(tmp)
        if isinstance(error, OSError) and error.filename in (None, "", tmp):
            # Name the file a failed write, flush or move was for (a full disk says
            # none; a folder in the way of the move names the temporary file).
            raise OSError(error.errno, error.strerror, os.fspath(path)) from error
        raise


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_open`)."""
    with atomic_open(path, "wb") as f:
        f.write(data)


def atomic_write_json(path: str | os.PathLike[str], obj: Any, compact: bool = False) -> None:
    """Write ``obj`` as UTF-8 JSON (:func:`readable_json`, trailing newline) atomically.

    ``compact`` writes it on one line without spaces instead, for the files written
    every frame that people seldom read. Callers must pass JSON-safe values: NaN and
    infinities raise :class:`ValueError` (``allow_nan=False``) instead of producing the
    non-standard ``NaN``/``Infinity`` tokens. The destination is left untouched if
    serialisation fails.
    """
    if compact:
        text = json.dumps(obj, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    else:
        text = readable_json(obj)
    atomic_write_bytes(path, (text + "\n").encode("utf-8"))


_ONE_LINE = json.JSONEncoder(ensure_ascii=False, allow_nan=False)


def _one_line(value: Any) -> str:
    return _ONE_LINE.encode(value)


def _key(key: Any) -> str:
    """A dict key as JSON names it (``json.dumps`` turns numbers, booleans and None
    into text the same way)."""
    if isinstance(key, str):
        return key
    if key is None or isinstance(key, (bool, int, float)):
        return _one_line(key)
    raise TypeError(f"keys must be str, int, float, bool or None, not {type(key).__name__}")


def _is_container(value: Any) -> bool:
    return isinstance(value, (dict, list, tuple)) and len(value) > 0


def readable_json(obj: Any) -> str:
    """``obj`` as JSON laid out for people, made by the C encoder (key order kept).

    Indented by two spaces, one entry per line: the top level, the level below it,
    and deeper named sections (a dict's values) longer than a line of
    :data:`LINE_LENGTH`; an entry of a list deeper down (a record) and a list of plain
    values stay on one line. Python's ``indent`` output is made by its pure-Python
    encoder, several times slower: this runs on the writer thread every frame, and
    every millisecond it spends in Python is one the render may wait for
    (:mod:`ground_truth.render.worker`).
    """
    return _laid_out(obj, 0, in_list=False)


# A named section deeper than the second level longer than this goes on several lines.
LINE_LENGTH = 100


def _laid_out(value: Any, depth: int, in_list: bool) -> str:
    if not _is_container(value):
        return _one_line(value)
    if not isinstance(value, dict) and not any(_is_container(item) for item in value):
        return _one_line(value)  # a list of plain values
    if depth > 1:
        line = _one_line(value)
        if in_list or len(line) <= LINE_LENGTH:
            return line
    pad, inner = "  " * depth, "  " * (depth + 1)
    if isinstance(value, dict):
        items = [
            f"{inner}{_one_line(_key(k))}: {_laid_out(v, depth + 1, False)}"
            for k, v in value.items()
        ]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    items = [inner + _laid_out(item, depth + 1, True) for item in value]
    return "[\n" + ",\n".join(items) + "\n" + pad + "]"
