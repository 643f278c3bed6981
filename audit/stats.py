"""``ground_truth stats``: what a dataset holds, as text and as one picture.

- *Instances per class*: visible instances summed over frames (an object seen in 10
  frames counts 10), and how many distinct instance IDs of the class are ever seen;
- *pixel share per class*: the share of all pixels of all frames with that class in the
  class maps (background and unlabelled pixels are class 0);
- *box sizes*: visible instances by the square root of their box area in pixels, in
  powers of two (COCO's small / medium / large limits are 32 and 96);
- *visibility*: visible instances by visible fraction (meta ``visible_fraction``, when
  the dataset was rendered with it) in tenths; 1.0 counts in the last bin.

Counts come from the frames' meta (instances with at least one pixel) and class maps;
nothing is written into the dataset. :func:`draw_stats` draws the four as bar charts in
one uint8 RGB picture, with the preview's bitmap font.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field

import numpy as np

from ..codecs import png
from ..dataset import description, layout, meta
from ..errors import GroundTruthError
from ..preview import colors
from ..preview.font import LINE_HEIGHT, draw_text, text_size

SIZE_EDGES = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096)
VISIBILITY_BINS = 10


@dataclass
class ClassStats:
    """Counts for one class (ID 0: background and unlabelled pixels)."""

    id: int
    name: str
    color: tuple[float, float, float]
    instances: int = 0
    distinct: set[int] = field(default_factory=set)
    pixels: int = 0


@dataclass
class Stats:
    """A dataset's statistics (see the module docstring)."""

    root: str
    frames: int
    width: int
    height: int
    classes: list[ClassStats]
    box_sizes: list[float]
    visible_fractions: list[float]

    @property
    def total_pixels(self) -> int:
        return self.frames * self.width * self.height

    def size_histogram(self) -> tuple[np.ndarray, np.ndarray]:
        """Counts of box sizes (sqrt of area) per power-of-two bin, and the bin edges."""
        edges = np.array(SIZE_EDGES, dtype=np.float64)
        sizes = np.asarray(self.box_sizes, dtype=np.float64)
        counts = np.histogram(np.clip(sizes, edges[0], edges[-1] - 1e-9), bins=edges)[0]
        last = int(np.max(np.flatnonzero(counts), initial=0)) + 1
        return counts[: max(last, 1)], edges[: max(last, 1) + 1]

    def visibility_histogram(self) -> np.ndarray:
        """Counts of visible fractions per tenth (1.0 in the last bin)."""
        fractions = np.clip(np.asarray(self.visible_fractions, dtype=np.float64), 0.0, 1.0)
        bins = np.minimum((fractions * VISIBILITY_BINS).astype(np.int64), VISIBILITY_BINS - 1)
        return np.bincount(bins, minlength=VISIBILITY_BINS)


def compute_stats(root: str | os.PathLike[str]) -> Stats:
    """Statistics of the dataset in ``root``; :class:`GroundTruthError` if it can't be read."""
    root = os.path.abspath(os.fspath(root))
    try:
        data = description.read(root, strict=True)
    except description.ForeignDatasetError as error:
        raise GroundTruthError(str(error)) from None
    if data is None:
        raise GroundTruthError(f"{root} has no {layout.DATASET_FILE}: not a Ground Truth dataset")
    width = int(data["resolution"]["width"])
    height = int(data["resolution"]["height"])
    by_id = {0: ClassStats(0, "background / unlabelled", (0.25, 0.25, 0.25))}
    for c in sorted(data.get("classes", []), key=lambda c: c["id"]):
        by_id[int(c["id"])] = ClassStats(int(c["id"]), str(c["name"]), tuple(c["color"][:3]))
    frames = sorted(set(data.get("frames", [])))
    sizes: list[float] = []
    fractions: list[float] = []
    for frame in frames:
        try:
            frame_meta = meta.read_meta(root, frame)
        except ValueError as error:
            raise GroundTruthError(
                f"{meta.meta_path(root, frame)} cannot be read ({error})"
            ) from None
        if frame_meta is None:
            raise GroundTruthError(
                f"{meta.meta_path(root, frame)} is missing; run `ground_truth check`"
            )
        seen = set()
        for entry in frame_meta.get("instances", []):
            if entry["id"] in seen or not entry.get("visible_pixels") or not entry.get("bbox"):
                continue
            seen.add(entry["id"])
            stats = by_id.get(int(entry["class_id"]))
            if stats is None:
                continue
            stats.instances += 1
            stats.distinct.add(int(entry["id"]))
            sizes.append(math.sqrt(entry["bbox"][2] * entry["bbox"][3]))
            if entry.get("visible_fraction") is not None:
                fractions.append(float(entry["visible_fraction"]))
        path = layout.frame_path(root, "class", frame)
        try:
            class_map = png.read_png(path)
        except (OSError, ValueError) as error:
            raise GroundTruthError(f"{path} cannot be read ({error})") from None
        counts = np.bincount(class_map.ravel())
        for class_id in np.flatnonzero(counts).tolist():
            stats = by_id.get(class_id)
            if stats is None:
                stats = by_id[class_id] = ClassStats(
                    class_id, "(not in the class table)", (1, 0, 0)
                )
            stats.pixels += int(counts[class_id])
    return Stats(root, len(frames), width, height, list(by_id.values()), sizes, fractions)


def format_stats(stats: Stats) -> str:
    """The statistics as plain text tables."""
    total = max(stats.total_pixels, 1)
    lines = [
        f"Dataset {stats.root}: {stats.frames} frame(s) of {stats.width}x{stats.height}",
        "",
        f"{'class':>5}  {'name':24s} {'instances':>9} {'distinct':>8} {'pixel share':>11}",
    ]
    for c in stats.classes:
        instances = "" if c.id == 0 else str(c.instances)
        distinct = "" if c.id == 0 else str(len(c.distinct))
        lines.append(
            f"{c.id:>5}  {c.name[:24]:24s} {instances:>9} {distinct:>8} "
            f"{100 * c.pixels / total:10.2f}%"
        )
    counts, edges = stats.size_histogram()
    lines += ["", "Box size (sqrt of box area, pixels):"]
    for count, low, high in zip(counts, edges[:-1], edges[1:], strict=True):
        lines.append(f"  {int(low):>5}-{int(high) - 1:<5} {int(count):>7}")
    small = sum(1 for s in stats.box_sizes if s < 32)
    medium = sum(1 for s in stats.box_sizes if 32 <= s < 96)
    lines.append(
        f"  COCO sizes: {small} small, {medium} medium, "
        f"{len(stats.box_sizes) - small - medium} large"
    )
    lines += ["", "Visible fraction:"]
    if stats.visible_fractions:
        for index, count in enumerate(stats.visibility_histogram()):
            low = index / VISIBILITY_BINS
            high = (index + 1) / VISIBILITY_BINS
            closing = "]" if index == VISIBILITY_BINS - 1 else ")"
            lines.append(f"  [{low:.1f}, {high:.1f}{closing} {int(count):>7}")
    else:
        lines.append("  no visible_fraction in the meta (render with --visible-fraction)")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------
# The picture
# ---------------------------------------------------------------------------

_BACKGROUND = (24, 24, 24)
_TEXT = (235, 235, 235)
_DIM = (150, 150, 150)
_BAR = (110, 170, 235)
_PANEL_W, _PANEL_H = 420, 260


def _bar_chart(
    title: str, labels: list[str], values: list[float], bar_colors, value_text
) -> np.ndarray:
    """One panel: a title, vertical bars with their value above and label below."""
    panel = np.zeros((_PANEL_H, _PANEL_W, 3), dtype=np.uint8)
    panel[:] = _BACKGROUND
    draw_text(panel, 8, 6, title, _TEXT, scale=2)
    top, bottom = 6 + 2 * LINE_HEIGHT + 14, _PANEL_H - 2 * LINE_HEIGHT - 6
    left, right = 10, _PANEL_W - 10
    panel[bottom, left:right] = _DIM
    if not values:
        draw_text(panel, left, (top + bottom) // 2, "(nothing to count)", _DIM)
        return panel
    peak = max(max(values), 1e-12)
    slot = (right - left) / len(values)
    width = max(1, int(slot * 0.7))
    for index, (label, value) in enumerate(zip(labels, values, strict=True)):
        x0 = int(left + index * slot + (slot - width) / 2)
        height = round((bottom - top) * value / peak)
        panel[bottom - height : bottom, x0 : x0 + width] = bar_colors[index]
        text = value_text(value)
        tw = text_size(text)[0]
        draw_text(panel, x0 + (width - tw) // 2, bottom - height - LINE_HEIGHT - 1, text, _TEXT)
        short = label[: max(1, int(slot // 6))]
        lw = text_size(short)[0]
        row = bottom + 4 + (LINE_HEIGHT if len(values) > 8 and index % 2 else 0)
        draw_text(panel, int(left + index * slot + (slot - lw) / 2), row, short, _DIM)
    return panel


def draw_stats(stats: Stats) -> np.ndarray:
    """The four charts of :func:`format_stats` in one uint8 HxWx3 picture (2 x 2 panels)."""
    things = [c for c in stats.classes if c.id != 0]
    class_colors = [colors.to_uint8(c.color) for c in things]
    total = max(stats.total_pixels, 1)
    share = _bar_chart(
        "Pixel share per class",
        [c.name for c in stats.classes],
        [100 * c.pixels / total for c in stats.classes],
        [colors.to_uint8(c.color) for c in stats.classes],
        lambda v: f"{v:.1f}%",
    )
    instances = _bar_chart(
        "Instances per class",
        [c.name for c in things],
        [c.instances for c in things],
        class_colors,
        lambda v: f"{int(v)}",
    )
    counts, edges = stats.size_histogram()
    sizes = _bar_chart(
        "Box size (px, sqrt of area)",
        [f"{int(low)}" for low in edges[:-1]] if stats.box_sizes else [],
        [int(c) for c in counts] if stats.box_sizes else [],
        [_BAR] * len(counts),
        lambda v: f"{int(v)}",
    )
    histogram = stats.visibility_histogram()
    visibility = _bar_chart(
        "Visible fraction" if stats.visible_fractions else "Visible fraction: not in meta",
        [f".{i}" for i in range(VISIBILITY_BINS)] if stats.visible_fractions else [],
        [int(c) for c in histogram] if stats.visible_fractions else [],
        [_BAR] * VISIBILITY_BINS,
        lambda v: f"{int(v)}",
    )
    gap = np.zeros((_PANEL_H, 4, 3), dtype=np.uint8)
    rows = [
        np.concatenate([instances, gap, share], axis=1),
        np.concatenate([sizes, gap, visibility], axis=1),
    ]
    divider = np.zeros((4, rows[0].shape[1], 3), dtype=np.uint8)
    header = np.zeros((2 * LINE_HEIGHT + 8, rows[0].shape[1], 3), dtype=np.uint8)
    header[:] = _BACKGROUND
    draw_text(
        header,
        8,
        4,
        f"{os.path.basename(stats.root)}: {stats.frames} frames, {stats.width}x{stats.height}",
        _TEXT,
        scale=2,
    )
    return np.concatenate([header, rows[0], divider, rows[1]], axis=0)


def write_picture(path: str, stats: Stats) -> str:
    """Draw the statistics and write them to ``path`` as PNG; returns the path."""
    png.write_png(path, draw_stats(stats))
    return path


def stats_json(stats: Stats) -> str:
    """The statistics as JSON (for scripts)."""
    counts, edges = stats.size_histogram()
    document = {
        "frames": stats.frames,
        "classes": [
            {
                "id": c.id,
                "name": c.name,
                "instances": c.instances,
                "distinct": len(c.distinct),
                "pixels": c.pixels,
            }
            for c in stats.classes
        ],
        "box_size_edges": edges.tolist(),
        "box_size_counts": counts.tolist(),
        "visibility_counts": stats.visibility_histogram().tolist()
        if stats.visible_fractions
        else None,
    }
    return json.dumps(document, indent=2)
