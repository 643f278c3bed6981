"""codecs.depth_mm: depth in millimetres for 16-bit PNGs."""

import numpy as np

from ground_truth.codecs import depth_mm, png

CASES = [  # (metres, stored millimetres)
    (1.0, 1000),
    (1.2344, 1234),
    (1.2346, 1235),
    (0.0015, 2),
    (0.0004, 0),  # rounds to 0 mm: no data
    (0.0, 0),
    (-2.0, 0),
    (np.inf, 0),  # background
    (-np.inf, 0),
    (np.nan, 0),
    (65.535, 65535),
    (65.5354, 65535),
    (65.5356, 0),  # beyond 65535 mm: no data, not clamped
    (1e10, 0),  # Cycles' background distance
]


def test_rounding_and_no_data_rules():
    depth = np.array([metres for metres, _ in CASES], dtype=np.float32)
    mm = depth_mm.depth_to_mm_png_array(depth)
    assert mm.dtype == np.uint16
    assert mm.tolist() == [stored for _, stored in CASES]


def test_shape_kept_and_inverse(tmp_path):
    depth = np.linspace(0.5, 70.0, 12, dtype=np.float32).reshape(3, 4)
    depth[0, 0] = np.inf
    mm = depth_mm.depth_to_mm_png_array(depth)
    assert mm.shape == (3, 4)
    back = depth_mm.depth_from_mm_png_array(mm)
    assert back.dtype == np.float32
    valid = mm > 0
    assert np.all(np.abs(back[valid] - depth[valid]) <= 0.0005 + 1e-6)
    assert np.all(np.isinf(back[~valid]))
    assert not valid[0, 0] and not valid[2, 3]  # inf and 70 m
    path = str(tmp_path / "depth.png")
    png.write_png(path, mm)
    assert np.array_equal(png.read_png(path), mm)  # 16 bits survive the PNG
