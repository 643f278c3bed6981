"""Split one render's frames into disjoint shards, one per farm task, without Blender.

Conventions (every farm file in ``jobs/`` and the ``--shard`` flag follow them):

- **Round robin.** Shard ``index`` of ``count`` gets the frames at positions
  ``index, index + count, index + 2 * count, ...`` of the frame list, i.e. ``frames[index::count]``.
  Neighbouring frames cost about the same, so an expensive stretch of the animation (a crowd
  walking in, heavy motion blur) is spread over every shard instead of landing on one, and shard
  sizes differ by at most one frame. Every frame is in exactly one shard, and a shard depends on
  nothing but the frame list and the count: every task must be given the same frame list.
- **Numbering.** In Python a shard is a :class:`Shard` whose ``index`` counts from 0, like
  Python sequences and Kubernetes' ``JOB_COMPLETION_INDEX``. People and the command line write
  it ``I/N`` counting from 1: ``--shard 1/4`` ... ``--shard 4/4`` (``str(shard)`` gives that form).
- **Lazy.** A ``range`` (or a list of ranges) is never expanded: the shard of
  ``range(1, 10**9)`` is again a range, computed in constant time.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import NamedTuple

SHARD_FORMAT_HELP = "I/N: the I-th of N shards, counting from 1 (e.g. 2/8)"


class Shard(NamedTuple):
    """One of ``count`` disjoint parts of a frame list; ``index`` counts from 0."""

    index: int
    count: int

    def __str__(self) -> str:
        return f"{self.index + 1}/{self.count}"


def shard_frames(frames, index: int, count: int):
    """The frames of shard ``index`` (from 0) of ``count``: ``frames[index::count]``.

    ``frames`` is one of:

    - a ``range``: the result is a ``range`` too (nothing is expanded);
    - a list or tuple of ``range`` objects, taken one after the other as a single list (a spec
      like ``1-100,200-300:5``): the result is a list of non-empty ranges, one per input range at
      most, again without expanding them. The ranges must count upwards and share no frame, or
      a frame would be rendered by two shards (ValueError);
    - any other sequence of frame numbers (e.g. ``framespec.parse_frames``'s sorted list): the
      result is a list.
    """
    _check_index(index, count)
    if isinstance(frames, range):
        return frames[index::count]
    if isinstance(frames, Sequence) and frames and all(isinstance(r, range) for r in frames):
        return _shard_ranges(frames, index, count)
    return list(frames[index::count])


def _check_index(index: int, count: int) -> None:
    if count < 1:
        raise ValueError(f"the shard count must be at least 1, not {count}")
    if not 0 <= index < count:
        raise ValueError(f"shard index {index} is outside 0..{count - 1} (it counts from 0)")


def _shard_ranges(ranges: Sequence[range], index: int, count: int) -> list[range]:
    for r in ranges:
        if r.step < 1:
            raise ValueError(f"frame ranges must count upwards: {r!r}")
    for i, a in enumerate(ranges):
        for b in ranges[i + 1 :]:
            if _intersects(a, b):
                raise ValueError(
                    f"frame ranges {format_frames([a])} and {format_frames([b])} share frames: "
                    "shards of overlapping ranges would render those frames twice"
                )
    parts = []
    offset = 0  # position of r[0] in the concatenated list
    for r in ranges:
        part = r[(index - offset) % count :: count]
        if part:
            parts.append(part)
        offset += len(r)
    return parts


def _intersects(a: range, b: range) -> bool:
    """Whether two upward ranges share a number (the Chinese remainder theorem, no expansion)."""
    if not a or not b:
        return False
    low, high = max(a[0], b[0]), min(a[-1], b[-1])
    if low > high:
        return False
    gcd = math.gcd(a.step, b.step)
    if (b.start - a.start) % gcd:
        return False
    # x = a.start + a.step * k with a.step * k = b.start - a.start (mod b.step).
    modulus = b.step // gcd
    k = (b.start - a.start) // gcd * pow(a.step // gcd, -1, modulus) % modulus
    first = a.start + a.step * k
    period = a.step * modulus  # the common numbers repeat with the lcm of both steps
    if first < low:
        first += -((first - low) // period) * period
    return first <= high


def format_frames(ranges: Sequence[range]) -> str:
    """Write ranges in the command line's frame syntax (``N``, ``A-B``, ``A-B:STEP``, commas).

    ``framespec.parse_frames`` reads the result back as the same frames, so a shard's frames
    can be passed on as ``--frames`` or printed in a farm task's log.
    """
    parts = []
    for r in ranges:
        if not r:
            continue
        if len(r) == 1:
            parts.append(str(r[0]))
        elif r.step == 1:
            parts.append(f"{r[0]}-{r[-1]}")
        else:
            parts.append(f"{r[0]}-{r[-1]}:{r.step}")
    return ",".join(parts)


_SHARD_RE = re.compile(r"\s*(\d+)\s*/\s*(\d+)\s*")


def parse_shard(text: str) -> Shard:
    """Read ``I/N`` (the I-th of N shards, I counting from 1) into a :class:`Shard`.

    Raises ValueError with a message that says what is wrong: ``0/4`` (shards count from 1),
    ``5/4`` (there are 4), ``1/0`` (no shards), ``a/b`` (not I/N).
    """
    match = _SHARD_RE.fullmatch(text)
    if match is None:
        raise ValueError(f"bad shard {text!r}: write {SHARD_FORMAT_HELP}")
    number, count = int(match[1]), int(match[2])
    if count < 1:
        raise ValueError(f"bad shard {text!r}: the number of shards N must be at least 1")
    if number < 1:
        raise ValueError(f"bad shard {text!r}: shards count from 1 (1/{count} to {count}/{count})")
    if number > count:
        raise ValueError(
            f"bad shard {text!r}: there are only {count} shard(s) (1/{count} to {count}/{count})"
        )
    return Shard(number - 1, count)


# Variables the schedulers set in each task of an array / indexed job.
SLURM_TASK_ID = "SLURM_ARRAY_TASK_ID"
SLURM_TASK_COUNT = "SLURM_ARRAY_TASK_COUNT"
SLURM_TASK_MIN = "SLURM_ARRAY_TASK_MIN"
SLURM_TASK_MAX = "SLURM_ARRAY_TASK_MAX"
SLURM_TASK_STEP = "SLURM_ARRAY_TASK_STEP"
K8S_INDEX = "JOB_COMPLETION_INDEX"


def shard_from_environment(env: Mapping[str, str], count: int | None = None) -> Shard | None:
    """The shard a scheduler gave this process, from its environment; None outside one.

    - **SLURM job arrays** (``sbatch --array=...``): the task's position in the array, so any
      regular array works: ``0-3``, ``1-4``, ``5-8`` and ``0-15:4`` all give shards 1/4 to 4/4.
      The array's size comes from ``SLURM_ARRAY_TASK_COUNT``, or from ``SLURM_ARRAY_TASK_MIN``,
      ``_MAX`` and ``_STEP`` where SLURM does not set the count. Irregular arrays (``1,3,7``) are
      refused: their positions cannot be told from the variables. ``count``, when given, must
      equal the array's size: a task submitted again on its own (``--array=3``) is a one-task
      array and cannot know which shard it was, so it is refused rather than rendering every
      frame; such a task needs an explicit ``--shard I/N``.
    - **Kubernetes Indexed Jobs**: ``JOB_COMPLETION_INDEX`` (from 0) is the shard's index.
      Kubernetes does not expose the Job's ``completions``, so ``count`` is required.

    A plain (non-array) SLURM job or any other environment gives None: render every frame.
    Raises ValueError with the variables' values and what to do when they make no shard.
    """
    if count is not None and count < 1:
        raise ValueError(f"the shard count must be at least 1, not {count}")
    slurm, k8s = SLURM_TASK_ID in env, K8S_INDEX in env
    if slurm and k8s:
        raise ValueError(
            f"both {SLURM_TASK_ID} and {K8S_INDEX} are set: cannot tell which scheduler "
            "started this task; pass --shard I/N"
        )
    if k8s:
        return _kubernetes_shard(env, count)
    if slurm:
        return _slurm_shard(env, count)
    return None


def _whole(env: Mapping[str, str], name: str) -> int:
    try:
        return int(env[name])
    except ValueError:
        raise ValueError(f"{name}={env[name]!r} is not a whole number") from None


def _kubernetes_shard(env: Mapping[str, str], count: int | None) -> Shard:
    index = _whole(env, K8S_INDEX)
    if count is None:
        raise ValueError(
            f"{K8S_INDEX}={index} is set (a Kubernetes Indexed Job), but Kubernetes does not "
            "say how many shards there are: pass --shard-count with the Job's completions"
        )
    if not 0 <= index < count:
        raise ValueError(
            f"{K8S_INDEX}={index} is outside 0..{count - 1} for {count} shard(s): "
            "--shard-count must equal the Job's completions"
        )
    return Shard(index, count)


def _slurm_shard(env: Mapping[str, str], count: int | None) -> Shard:
    task = _whole(env, SLURM_TASK_ID)
    if SLURM_TASK_MIN not in env:
        raise ValueError(
            f"{SLURM_TASK_ID}={task} is set without {SLURM_TASK_MIN}: cannot tell the task's "
            "place in its array; pass --shard I/N"
        )
    first = _whole(env, SLURM_TASK_MIN)
    step = _whole(env, SLURM_TASK_STEP) if SLURM_TASK_STEP in env else 1
    last = _whole(env, SLURM_TASK_MAX) if SLURM_TASK_MAX in env else None
    if step < 1:
        raise ValueError(f"{SLURM_TASK_STEP}={step} must be at least 1")
    if SLURM_TASK_COUNT in env:
        size = _whole(env, SLURM_TASK_COUNT)
        regular = last is None or (
            (last - first) % step == 0 and (last - first) // step + 1 == size
        )
    elif last is not None:
        size = (last - first) // step + 1
        regular = (last - first) % step == 0
    else:
        raise ValueError(
            f"{SLURM_TASK_ID}={task} is set without {SLURM_TASK_COUNT} or {SLURM_TASK_MAX}: "
            "cannot tell the array's size; pass --shard I/N"
        )
    described = _describe_slurm(env)
    if not regular or size < 1:
        raise ValueError(
            f"the SLURM array ({described}) is not a regular range like 0-3 or 1-8:2, so a "
            "task's place in it is unknown: submit a range, or pass --shard I/N"
        )
    position, off_grid = divmod(task - first, step)
    if off_grid or not 0 <= position < size:
        raise ValueError(f"{SLURM_TASK_ID}={task} is not a task of its array ({described})")
    if count is not None and count != size:
        raise ValueError(
            f"the SLURM array has {size} task(s) ({described}) but --shard-count is {count}: "
            "a task submitted on its own (e.g. to render one shard again) cannot tell which "
            f"shard it is; pass --shard I/{count} (jobs/slurm/ground_truth_array.sbatch does)"
        )
    return Shard(position, size)


def _describe_slurm(env: Mapping[str, str]) -> str:
    names = (SLURM_TASK_ID, SLURM_TASK_MIN, SLURM_TASK_MAX, SLURM_TASK_STEP, SLURM_TASK_COUNT)
    return ", ".join(f"{name}={env[name]}" for name in names if name in env)
