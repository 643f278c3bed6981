"""preview.font and preview.picture: the bitmap font and the preview picture."""

import numpy as np
import pytest

from ground_truth.preview.colors import class_color, instance_color, to_uint8
from ground_truth.preview.font import draw_text, text_mask, text_size
from ground_truth.preview.picture import (
    Panel,
    compose_preview,
    flow_panel,
    normal_panel,
    part_panel,
    text_scale,
)


def test_text_size_and_mask():
    assert text_size("", 1) == (0, 0)
    assert text_size("A", 1) == (5, 7)
    assert text_size("AB", 2) == (22, 14)
    assert text_size("AB\nC", 1) == (11, 15)
    mask = text_mask("Hi 1.5\u2013m", 1)
    assert mask.shape == (7, text_size("Hi 1.5\u2013m")[0])
    assert mask.any()
    assert not text_mask(" ", 1).any()


def test_every_printable_glyph_has_ink():
    for code in range(33, 127):
        assert text_mask(chr(code)).any(), chr(code)
    # Unknown characters fall back to "?".
    assert np.array_equal(text_mask("\u4e2d"), text_mask("?"))


def test_draw_text_in_place_and_clipped():
    img = np.zeros((20, 30, 3), np.uint8)
    draw_text(img, 2, 3, "Car", (10, 200, 30))
    ink = (img == [10, 200, 30]).all(axis=2)
    assert ink.any()
    assert not ink[:3].any() and not ink[:, :2].any()
    before = img.copy()
    draw_text(img, -100, -100, "far away")
    assert np.array_equal(img, before)
    draw_text(img, 25, 15, "clipped text", scale=3)  # must not raise
    draw_text(img, -3, -2, "neg")
    gray = np.zeros((5, 5), np.uint8)
    draw_text(gray, 0, 0, "#", (200, 0, 0))
    assert gray.max() == 200


def _inputs(height, width):
    rng = np.random.default_rng(7)
    rgb = rng.integers(0, 256, (height, width, 3)).astype(np.uint8)
    y, x = np.indices((height, width))
    depth = (1.0 + x / max(width, 1) * 4.0 + y / max(height, 1)).astype(np.float32)
    depth[: max(height // 5, 1)] = np.inf
    class_map = (x * 3 // width + 1).astype(np.uint16)
    class_map[: max(height // 5, 1)] = 0
    instance_map = (x * 6 // width + 1).astype(np.uint16) * (class_map > 0)
    return rgb, depth, class_map, instance_map


NAMES = {1: "car", 2: "pedestrian", 3: "traffic light"}
COLORS = {1: (1.0, 0.0, 0.0), 2: (0.0, 1.0, 0.0)}


@pytest.mark.parametrize("shape", [(48, 64), (480, 640), (6, 8), (1, 1), (100, 30)])
def test_compose_preview_layout(shape):
    height, width = shape
    rgb, depth, class_map, instance_map = _inputs(height, width)
    out = compose_preview(rgb, depth, class_map, instance_map, COLORS, NAMES)
    scale = text_scale(height)
    gap = 4 * scale
    title = 7 * scale + 4 * scale
    assert out.dtype == np.uint8 and out.ndim == 3 and out.shape[2] == 3
    assert out.shape[1] == 4 * width + 3 * gap
    assert out.shape[0] > title + height
    # RGB panel is the input.
    assert np.array_equal(out[title : title + height, :width], rgb)
    # Class panel shows the class colours (class 3 has no explicit colour).
    panel = out[title : title + height, 2 * (width + gap) : 2 * (width + gap) + width]
    expected = {0: (0, 0, 0), 1: (255, 0, 0), 2: (0, 255, 0), 3: to_uint8(class_color(3))}
    for cid, rgb_expected in expected.items():
        if (class_map == cid).any():
            assert (panel[class_map == cid] == rgb_expected).all()
    # Instance panel uses class_color for instance IDs.
    panel = out[title : title + height, 3 * (width + gap) : 3 * (width + gap) + width]
    for iid in np.unique(instance_map):
        assert (panel[instance_map == iid] == to_uint8(class_color(int(iid)))).all()
    # Depth panel: background black, valid pixels coloured.
    panel = out[title : title + height, width + gap : 2 * width + gap]
    assert panel[~np.isfinite(depth)].sum() == 0
    if np.isfinite(depth).any():
        assert panel[np.isfinite(depth)].sum() > 0


def test_compose_preview_has_titles_and_legend():
    rgb, depth, class_map, instance_map = _inputs(60, 200)
    out = compose_preview(rgb, depth, class_map, instance_map, COLORS, NAMES)
    title_strip = out[:11, :200]
    assert (title_strip > 200).any()  # "RGB" text drawn
    legend = out[11 + 60 :, 2 * 204 : 2 * 204 + 200]
    assert ((legend == (255, 0, 0)).all(axis=2)).any()  # class 1 swatch


def test_compose_preview_instance_colors_and_rgba():
    rgb, depth, class_map, instance_map = _inputs(20, 20)
    rgba = np.concatenate([rgb, np.full((20, 20, 1), 255, np.uint8)], axis=2)
    out = compose_preview(rgba, depth, class_map, instance_map, {}, {}, {1: (0.0, 0.0, 1.0)})
    panel = out[11 : 11 + 20, 3 * 24 : 3 * 24 + 20]
    assert (panel[instance_map == 1] == (0, 0, 255)).all()
    assert np.array_equal(out[11:31, :20], rgb)


def test_compose_preview_no_labels_no_depth():
    rgb = np.zeros((10, 12, 3), np.uint8)
    depth = np.full((10, 12), np.nan, np.float32)
    zeros = np.zeros((10, 12), np.uint16)
    out = compose_preview(rgb, depth, zeros, zeros, {}, {})
    assert out.shape[1] == 4 * 12 + 12


def test_compose_preview_shape_mismatch():
    rgb, depth, class_map, instance_map = _inputs(10, 12)
    with pytest.raises(ValueError):
        compose_preview(rgb, depth[:5], class_map, instance_map, {}, {})


def test_compose_preview_full_size():
    rgb, depth, class_map, instance_map = _inputs(480, 640)
    compose_preview(rgb, depth, class_map, instance_map, COLORS, NAMES)


def test_extra_panels_follow_the_instance_panel_with_their_legend():
    rgb, depth, class_map, instance_map = _inputs(20, 30)
    part = np.zeros((20, 30), np.uint16)
    part[5:10, 3:9] = 2
    part[12:, 20:] = 7
    extra = part_panel(part)
    assert extra.title == "Part" and extra.legend == "2 parts"
    assert (extra.image[part == 0] == 0).all()
    assert (extra.image[part == 7] == to_uint8(instance_color(7))).all()
    flat = Panel("Flat", np.full((20, 30, 3), 9, np.uint8), "flat")
    out = compose_preview(rgb, depth, class_map, instance_map, {}, {}, extra_panels=[extra, flat])
    assert out.shape[1] == 6 * 30 + 5 * 4
    assert np.array_equal(out[11:31, 4 * 34 : 4 * 34 + 30], extra.image)
    assert (out[11:31, 5 * 34 : 5 * 34 + 30] == 9).all()
    assert (out[31:, 5 * 34 : 5 * 34 + 30] > 200).any()  # the legend's text
    with pytest.raises(ValueError, match="Flat"):
        compose_preview(
            rgb, depth, class_map, instance_map, {}, {}, extra_panels=[flat._replace(image=rgb[:5])]
        )


def test_normal_panel_colours_facing_normals_lavender_and_the_background_black():
    normal = np.zeros((2, 3, 3), np.float32)
    normal[0, 0] = (0, 0, -1)
    normal[0, 1] = (1, 0, 0)
    normal[1, 2] = (0, -1, 0)  # pointing up in the image
    panel = normal_panel(normal)
    assert panel.title == "Normal"
    assert panel.image[0, 0].tolist() == [128, 128, 255]
    assert panel.image[0, 1].tolist() == [255, 128, 128]
    assert panel.image[1, 2].tolist() == [128, 255, 128]
    assert panel.image[1, 0].tolist() == [0, 0, 0]


def test_flow_panel_hue_is_direction_and_invalid_pixels_are_black():
    flow = np.zeros((1, 4, 2), np.float32)
    flow[0, 0] = (4.0, 0.0)  # right: longest
    flow[0, 1] = (-2.0, 0.0)  # left, half as long
    flow[0, 2] = (0.0, 0.0)  # still: white
    valid = np.array([[True, True, True, False]])
    panel = flow_panel(flow, valid)
    assert panel.title == "Flow" and panel.legend == "max 4.0 px"
    right, left, still, invalid = panel.image[0].tolist()
    assert still == [255, 255, 255] and invalid == [0, 0, 0]
    assert right != left and min(right) == 0  # fully saturated
    assert min(left) == 128  # half saturated
    empty = flow_panel(flow, np.zeros((1, 4), bool))
    assert empty.legend == "max 0.0 px" and (empty.image == 0).all()
    # Sub-pixel rounding noise of a still scene stays (nearly) white.
    still = flow_panel(flow * 1e-5, valid)
    assert still.legend == "max 0.0 px" and still.image[0, :3].min() >= 254
    half = flow_panel(flow / 8.0, valid)  # longest 0.5 px: half saturated against 1 px
    assert min(half.image[0, 0].tolist()) == 128
