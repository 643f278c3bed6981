"""Side-by-side preview images: RGB | depth | class | instance, with titles and legends.

Optional outputs (part labels, normals, flow) add their own panels after the instance
panel (:class:`Panel`, made by :func:`part_panel` and its siblings).

The preview is a uint8 RGB image for people to glance at; it is not ground truth.
Each panel has a title strip above it and a legend strip below it. Text is drawn with
the built-in bitmap font (:mod:`.font`), at scale 2 for images at least 400 pixels
tall, else scale 1. Text that does not fit a panel is clipped at the panel's edges.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .colors import (
    class_color,
    depth_colormap,
    depth_image,
    depth_range,
    instance_color,
    label_image,
    to_uint8,
)
from .font import GLYPH_HEIGHT, LINE_HEIGHT, draw_text, text_size

BACKGROUND = (24, 24, 24)
TEXT_COLOR = (235, 235, 235)
DIM_TEXT_COLOR = (160, 160, 160)
# The flow panel's colours are fully saturated at the longest vector, at least this long.
MIN_FLOW_SCALE = 1.0


class Panel(NamedTuple):
    """An extra preview panel: a title, a uint8 HxWx3 picture and one line of legend."""

    title: str
    image: np.ndarray
    legend: str


def part_panel(part: np.ndarray) -> Panel:
    """The part map's panel: each part ID in its own colour (instance palette), 0 black."""
    present = _present_ids(part)
    colors = {i: instance_color(i) for i in present}
    count = len(present)
    return Panel("Part", label_image(part, colors), f"{count} part" + ("" if count == 1 else "s"))


def normal_panel(normal: np.ndarray) -> Panel:
    """Normals (OpenCV camera frame) as colours: R = x, G = -y, B = -z mapped from -1..1
    to 0..255, so a surface facing the camera is lavender blue; the background black."""
    normal = np.asarray(normal, dtype=np.float32)
    shown = normal * np.array([1.0, -1.0, -1.0], np.float32)
    image = np.clip((shown + 1.0) * 127.5 + 0.5, 0, 255).astype(np.uint8)
    image[~normal.any(axis=-1)] = 0
    return Panel("Normal", image, "camera frame")


def flow_panel(flow: np.ndarray, valid: np.ndarray) -> Panel:
    """Forward flow (HxWx2 pixels) as colours: the hue is the direction, the saturation
    the length relative to the longest valid vector, or to ``MIN_FLOW_SCALE`` pixels when
    all are shorter (a still scene's rounding noise stays white); invalid pixels black."""
    flow = np.asarray(flow, dtype=np.float32)
    valid = np.asarray(valid, dtype=bool)
    length = np.hypot(flow[..., 0], flow[..., 1])
    longest = float(length[valid].max()) if valid.any() else 0.0
    hue = (np.arctan2(-flow[..., 1], -flow[..., 0]) / (2 * np.pi) + 0.5) % 1.0
    saturation = length / max(longest, MIN_FLOW_SCALE)
    image = _hsv_to_rgb(hue, np.clip(saturation, 0.0, 1.0))
    image[~valid] = 0
    return Panel("Flow", image, f"max {longest:.1f} px")


def _hsv_to_rgb(hue: np.ndarray, saturation: np.ndarray) -> np.ndarray:
    """uint8 colours of full value for hue and saturation arrays in 0..1."""
    sector = hue * 6.0
    index = np.floor(sector).astype(np.int64) % 6
    fraction = sector - np.floor(sector)
    full = np.ones_like(hue)
    low = 1.0 - saturation
    falling = 1.0 - saturation * fraction
    rising = 1.0 - saturation * (1.0 - fraction)
    channels = [
        (full, falling, low, low, rising, full),
        (rising, full, full, falling, low, low),
        (low, low, rising, full, full, falling),
    ]
    rgb = np.stack([np.choose(index, c) for c in channels], axis=-1)
    return (rgb * 255.0 + 0.5).astype(np.uint8)


def text_scale(height: int) -> int:
    """Return the font scale for panels ``height`` pixels tall (2 from 400 px, else 1)."""
    return 2 if height >= 400 else 1


def format_depth(value: float) -> str:
    """Format a distance in metres with 2, 1 or 0 decimals depending on its size."""
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _present_ids(ids: np.ndarray) -> list[int]:
    """Return the sorted non-zero IDs present in an integer image."""
    flat = ids.reshape(-1)
    if flat.size == 0:
        return []
    if flat.min() >= 0 and flat.max() < (1 << 20):
        present = np.flatnonzero(np.bincount(flat))
    else:
        present = np.unique(flat)
    return [int(i) for i in present if i != 0]


def _class_legend(
    present: list[int],
    class_names: dict[int, str],
    width: int,
    scale: int,
) -> list[list[tuple[int, int, str]]]:
    """Lay out class legend entries into lines: each entry is (x, class id, label)."""
    pad = 2 * scale
    swatch = GLYPH_HEIGHT * scale
    spacing = 3 * LINE_HEIGHT * scale // 4
    lines: list[list[tuple[int, int, str]]] = [[]]
    x = pad
    for cid in present:
        label = f"{cid} {class_names.get(cid, '')}".rstrip()
        entry_width = swatch + 2 * scale + text_size(label, scale)[0]
        if lines[-1] and x + entry_width > width - pad:
            lines.append([])
            x = pad
        lines[-1].append((x, cid, label))
        x += entry_width + spacing
    return lines if lines[0] else []


def compose_preview(
    rgb: np.ndarray,
    depth: np.ndarray,
    class_map: np.ndarray,
    instance_map: np.ndarray,
    class_colors: dict[int, tuple[float, float, float]],
    class_names: dict[int, str],
    instance_colors: dict[int, tuple[float, float, float]] | None = None,
    extra_panels: list[Panel] | tuple[Panel, ...] = (),
) -> np.ndarray:
    """Compose the preview image (four panels + ``extra_panels``); return uint8 HxWx3.

    ``rgb`` is uint8 HxWx3 (an alpha channel is dropped), ``depth`` float HxW in metres
    (inf, nan, <= 0 and Cycles' 1e10 background are shown black), ``class_map`` and
    ``instance_map`` integer HxW ID images. Class colours come from ``class_colors``
    (floats 0..1, falling back to :func:`class_color`), instance colours from
    ``instance_colors`` or :func:`class_color`. Panels are placed left to right with a
    gap of ``4 * scale`` pixels; panel images start ``title_height`` pixels from the top,
    where the title height is ``GLYPH_HEIGHT * scale + 4 * scale``. Each extra panel's
    image must be uint8 HxWx3 of the same size.
    """
    rgb = np.asarray(rgb)
    if rgb.ndim == 2:
        rgb = np.repeat(rgb[:, :, None], 3, axis=2)
    if rgb.ndim != 3 or rgb.shape[2] not in (3, 4) or rgb.dtype != np.uint8:
        raise ValueError(f"rgb must be uint8 HxWx3, got {rgb.dtype} {rgb.shape}")
    height, width = rgb.shape[:2]
    for name, arr in (("depth", depth), ("class_map", class_map), ("instance_map", instance_map)):
        if np.shape(arr) != (height, width):
            raise ValueError(f"{name} has shape {np.shape(arr)}, expected {(height, width)}")
    for extra in extra_panels:
        if np.shape(extra.image) != (height, width, 3):
            raise ValueError(
                f"panel {extra.title!r} has shape {np.shape(extra.image)}, "
                f"expected {(height, width, 3)}"
            )
    class_map = np.asarray(class_map)
    instance_map = np.asarray(instance_map)

    scale = text_scale(height)
    pad = 2 * scale
    gap = 4 * scale
    line = LINE_HEIGHT * scale
    title_height = GLYPH_HEIGHT * scale + 2 * pad

    # Panel contents.
    drange = depth_range(depth, percentile=0.0)
    if drange is None:
        depth_panel = np.zeros((height, width, 3), dtype=np.uint8)
        depth_title = "Depth (none)"
    else:
        near, far = drange
        depth_panel = depth_image(depth, near, far)
        depth_title = f"Depth {format_depth(near)}\u2013{format_depth(far)} m"
    colors = dict(class_colors)
    class_panel = label_image(class_map, colors)
    instance_panel = label_image(instance_map, instance_colors)

    classes = _present_ids(class_map)
    class_lines = _class_legend(classes, class_names, width, scale)
    n_instances = len(_present_ids(instance_map))
    instance_text = f"{n_instances} instance" + ("" if n_instances == 1 else "s")

    depth_legend_height = 5 * scale + scale + line
    legend_height = 2 * pad + max(line, depth_legend_height, len(class_lines) * line)
    total_height = title_height + height + legend_height
    count = 4 + len(extra_panels)
    total_width = count * width + (count - 1) * gap
    canvas = np.empty((total_height, total_width, 3), dtype=np.uint8)
    canvas[:] = BACKGROUND

    titles = ("RGB", depth_title, "Class", "Instance", *(p.title for p in extra_panels))
    panels = (rgb[:, :, :3], depth_panel, class_panel, instance_panel)
    panels += tuple(p.image for p in extra_panels)
    legend_top = title_height + height + pad
    columns = []
    for index, (title, panel) in enumerate(zip(titles, panels, strict=True)):
        x0 = index * (width + gap)
        column = canvas[:, x0 : x0 + width]
        columns.append(column)
        column[title_height : title_height + height] = panel
        draw_text(column, pad, pad, title, TEXT_COLOR, scale)

    # Depth legend: colour bar from near (left) to far (right), values below it.
    depth_column = columns[1]
    if drange is None:
        draw_text(depth_column, pad, legend_top, "no valid depth", DIM_TEXT_COLOR, scale)
    else:
        bar_width = max(width - 2 * pad, 1)
        bar = depth_colormap(np.linspace(1.0, 0.0, bar_width))
        depth_column[legend_top : legend_top + 5 * scale, pad : pad + bar_width] = bar[None]
        text_top = legend_top + 6 * scale
        near_text = f"{format_depth(drange[0])} m"
        far_text = f"{format_depth(drange[1])} m"
        draw_text(depth_column, pad, text_top, near_text, TEXT_COLOR, scale)
        far_x = width - pad - text_size(far_text, scale)[0]
        if far_x > pad + text_size(near_text, scale)[0] + 2 * scale:
            draw_text(depth_column, far_x, text_top, far_text, TEXT_COLOR, scale)

    # Class legend: swatch + "id name" per class present, wrapped to the panel width.
    class_column = columns[2]
    if not class_lines:
        draw_text(class_column, pad, legend_top, "no labels", DIM_TEXT_COLOR, scale)
    swatch = GLYPH_HEIGHT * scale
    for row, entries in enumerate(class_lines):
        y = legend_top + row * line
        for x, cid, label in entries:
            class_column[y : y + swatch, x : x + swatch] = to_uint8(
                colors.get(cid, class_color(cid))
            )
            draw_text(class_column, x + swatch + 2 * scale, y, label, TEXT_COLOR, scale)

    draw_text(columns[3], pad, legend_top, instance_text, TEXT_COLOR, scale)
    for column, extra in zip(columns[4:], extra_panels, strict=True):
        draw_text(column, pad, legend_top, extra.legend, TEXT_COLOR, scale)
    return canvas
