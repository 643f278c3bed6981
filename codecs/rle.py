"""COCO's run-length encoding (RLE) of binary masks, compressed form included.

COCO's run-length encoding scans the mask in column-major (Fortran) order and stores
alternating run lengths starting with a run of zeros (possibly of length 0):
``counts = [zeros, ones, zeros, ones, ...]``; the last run is whichever run reaches
the end of the mask (no empty run is appended). The *compressed* form used in JSON
stores ``counts`` as an ASCII string exactly as pycocotools' ``rleToString`` does:
each count (from the fourth on, minus the count two places before it) is written as a
signed number in 5-bit groups, least significant first, each group as
``chr(48 + group)`` with bit 0x20 set when more groups follow.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np

# Largest number of 5-bit groups a count delta can need (covers signed 35-bit values).
_MAX_GROUPS = 7


def counts_to_string(counts: Iterable[int] | np.ndarray) -> str:
    """Encode uncompressed RLE ``counts`` as pycocotools' compressed string.

    Vectorised port of pycocotools' ``rleToString``.
    """
    counts = np.asarray(counts, dtype=np.int64).reshape(-1)
    return _encode(counts, np.arange(counts.size))[0].decode("ascii")


def _encode(counts: np.ndarray, place: np.ndarray) -> tuple[bytes, np.ndarray]:
    """pycocotools' characters of ``counts``, one mask's or several masks' one after
    another; ``place`` is each count's position in its own mask's list (the delta from
    the count two places before applies from the fourth on). Returns the characters
    and how many each count took."""
    x = counts.copy()
    later = place >= 3
    x[later] -= counts[np.flatnonzero(later) - 2]
    # Number of 5-bit groups: the smallest m with -2**(5m-1) <= x < 2**(5m-1).
    groups = np.ones(x.shape, dtype=np.int64)
    for m in range(1, _MAX_GROUPS):
        limit = 1 << (5 * m - 1)
        groups += (x < -limit) | (x >= limit)
    shifts = 5 * np.arange(_MAX_GROUPS, dtype=np.int64)
    chunks = (x[:, None] >> shifts) & 0x1F
    position = np.arange(_MAX_GROUPS)[None, :]
    chunks |= np.where(position < groups[:, None] - 1, 0x20, 0)
    chunks += 48
    return chunks[position < groups[:, None]].astype(np.uint8).tobytes(), groups


def string_to_counts(text: str) -> list[int]:
    """Decode pycocotools' compressed RLE string into uncompressed counts (``rleFrString``)."""
    data = text.encode("ascii")
    counts: list[int] = []
    pos = 0
    while pos < len(data):
        value = 0
        shift = 0
        while True:
            c = data[pos] - 48
            pos += 1
            value |= (c & 0x1F) << shift
            shift += 5
            if not c & 0x20:
                if c & 0x10:
                    value |= -1 << shift
                break
        if len(counts) > 2:
            value += counts[-2]
        counts.append(value)
    return counts


def _runs_to_counts(starts: np.ndarray, lengths: np.ndarray, total: int) -> np.ndarray:
    """Counts for a mask whose true runs (column-major) start at ``starts`` with ``lengths``.

    Runs must be sorted and separated by at least one false pixel.
    """
    if starts.size == 0:
        return np.array([total], dtype=np.int64)
    ends = starts + lengths
    gaps = starts - np.concatenate(([0], ends[:-1]))
    counts = np.empty(2 * starts.size, dtype=np.int64)
    counts[0::2] = gaps
    counts[1::2] = lengths
    tail = total - int(ends[-1])
    return np.append(counts, tail) if tail > 0 else counts


def _column_major_segments(image: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split an HxW image scanned column-major into runs of equal values.

    Returns (values, starts, lengths) of the runs in scan order.
    """
    flat = np.ascontiguousarray(image.T).reshape(-1)
    if flat.size == 0:
        empty = np.zeros(0, dtype=np.int64)
        return flat[:0], empty, empty
    starts = np.flatnonzero(np.concatenate(([True], flat[1:] != flat[:-1])))
    lengths = np.diff(starts, append=flat.size)
    return flat[starts], starts, lengths


def rle_encode(mask: np.ndarray) -> dict:
    """Encode an HxW boolean mask as COCO compressed RLE ``{"size": [h, w], "counts": str}``.

    Equal to ``pycocotools.mask.encode(np.asfortranarray(mask.astype(np.uint8)))`` with
    ``counts`` decoded to ``str``.
    """
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise ValueError(f"rle_encode needs an HxW mask, got shape {mask.shape}")
    height, width = mask.shape
    values, starts, lengths = _column_major_segments(mask.astype(bool))
    keep = values.astype(bool)
    counts = _runs_to_counts(starts[keep], lengths[keep], height * width)
    if height * width == 0:
        counts = np.array([0], dtype=np.int64)
    return {"size": [int(height), int(width)], "counts": counts_to_string(counts)}


def rle_encode_instances(instance_map: np.ndarray, background: int = 0) -> dict[int, dict]:
    """Encode every ID of an HxW integer map as COCO RLE: ``{id: {"size", "counts"}}``.

    ``background`` pixels get no entry. The map is transposed once and split into runs
    once; the counts of every ID are then made and encoded together. Keys ascend.
    """
    image = np.asarray(instance_map)
    if image.ndim != 2:
        raise ValueError(f"expected an HxW instance map, got shape {image.shape}")
    height, width = image.shape
    total = height * width
    values, starts, lengths = _column_major_segments(image)
    keep = values != background
    values, starts, lengths = values[keep], starts[keep], lengths[keep]
    if not values.size:
        return {}
    order = np.argsort(values, kind="stable")
    values, starts, lengths = values[order], starts[order], lengths[order]
    # Every ID's counts at once, one ID after another: [gap, run, gap, run, ..., tail];
    # ``first`` is the index of each ID's first run.
    first = np.flatnonzero(np.concatenate(([True], values[1:] != values[:-1])))
    runs = np.diff(first, append=values.size)
    ends = starts + lengths
    gaps = starts - np.concatenate(([0], ends[:-1]))
    gaps[first] = starts[first]
    tails = total - ends[first + runs - 1]
    sizes = 2 * runs + (tails > 0)
    offsets = np.concatenate(([0], np.cumsum(sizes)[:-1]))
    counts = np.empty(int(sizes.sum()), dtype=np.int64)
    slots = np.repeat(offsets, runs) + 2 * (np.arange(values.size) - np.repeat(first, runs))
    counts[slots] = gaps
    counts[slots + 1] = lengths
    has_tail = tails > 0
    counts[offsets[has_tail] + sizes[has_tail] - 1] = tails[has_tail]
    place = np.arange(counts.size) - np.repeat(offsets, sizes)
    text, characters = _encode(counts, place)
    text = text.decode("ascii")
    ends = np.cumsum(np.add.reduceat(characters, offsets)).tolist()
    size = [int(height), int(width)]
    return {
        ident: {"size": list(size), "counts": text[a:b]}
        for ident, a, b in zip(values[first].tolist(), [0, *ends[:-1]], ends, strict=True)
    }


def rle_decode(rle: Mapping) -> np.ndarray:
    """Decode COCO RLE (compressed string or uncompressed list ``counts``) to an HxW bool mask."""
    height, width = (int(v) for v in rle["size"])
    counts = rle["counts"]
    if isinstance(counts, bytes):
        counts = counts.decode("ascii")
    if isinstance(counts, str):
        counts = string_to_counts(counts)
    counts = np.asarray(counts, dtype=np.int64)
    if int(counts.sum()) != height * width:
        raise ValueError(f"RLE counts sum to {int(counts.sum())}, expected {height * width}")
    values = np.arange(counts.size) % 2 == 1
    flat = np.repeat(values, counts)
    return flat.reshape(width, height).T.copy()
