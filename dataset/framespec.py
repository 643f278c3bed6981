"""Frame lists from the command line: ``1-100:2``, ``5``, ``1,3,10-20``."""

from __future__ import annotations

# Blender's last frame (MAXFRAME): no scene can render beyond it.
MAX_FRAME = 1048574


def parse_frames(spec: str) -> list[int]:
    """Parse a frame specification into a sorted list of unique frames.

    Comma-separated parts; each is ``N``, ``A-B`` (inclusive) or ``A-B:STEP``, with
    frames from 0 to :data:`MAX_FRAME`. Raises ValueError with a message naming the bad
    part; a range is checked before any of its frames is listed.
    """
    frames: set[int] = set()
    parts = [part.strip() for part in spec.split(",")]
    if not spec.strip() or not all(parts):
        raise ValueError(f"empty frame range in {spec!r}")
    for part in parts:
        frames.update(_parse_part(part))
    return sorted(frames)


def _parse_part(part: str) -> range:
    usage = f"bad frame range {part!r}: use N, A-B or A-B:STEP (e.g. 1-100:2)"
    body, _, step_text = part.partition(":")
    try:
        step = int(step_text) if step_text else 1
        if "-" in body[1:]:
            start_text, end_text = body.split("-", 1) if body[0] != "-" else ("", "")
            start, end = int(start_text), int(end_text)
        else:
            if step_text:
                raise ValueError(part)
            start = end = int(body)
    except ValueError:
        raise ValueError(usage) from None
    if start < 0 or end < start or step < 1:
        raise ValueError(usage)
    if end > MAX_FRAME:
        raise ValueError(f"frame range {part!r} goes beyond Blender's last frame, {MAX_FRAME}")
    return range(start, end + 1, step)
