"""Frame lists from the command line: ``1-100:2``, ``5``, ``1,3,10-20``."""

from __future__ import annotations


def parse_frames(spec: str) -> list[int]:
    """Parse a frame specification into a sorted list of unique frames.

    Comma-separated parts; each is ``N``, ``A-B`` (inclusive) or ``A-B:STEP``.
    Raises ValueError with a message naming the bad part.
    """
    frames: set[int] = set()
    parts = [part.strip() for part in spec.split(",")]
    if not spec.strip() or not all(parts):
        raise ValueError(f"empty frame range in {spec!r}")
    for part in parts:
        try:
            frames.update(_parse_part(part))
        except ValueError:
            raise ValueError(
                f"bad frame range {part!r}: use N, A-B or A-B:STEP (e.g. 1-100:2)"
            ) from None
    return sorted(frames)


def _parse_part(part: str) -> range:
    body, _, step_text = part.partition(":")
    step = int(step_text) if step_text else 1
    if "-" in body[1:]:
        start_text, end_text = body.split("-", 1) if body[0] != "-" else ("", "")
        start, end = int(start_text), int(end_text)
    else:
        if step_text:
            raise ValueError(part)
        start = end = int(body)
    if start < 0 or end < start or step < 1:
        raise ValueError(part)
    return range(start, end + 1, step)
