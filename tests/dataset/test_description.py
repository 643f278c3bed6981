"""dataset.description: the colour notation of dataset.json (``#rrggbb``)."""

import pytest

from ground_truth.dataset.description import hex_color, parse_hex
from ground_truth.preview.colors import class_color


def test_hex_roundtrip():
    assert hex_color((1.0, 0.0, 0.5)) == "#ff0080"
    assert hex_color((2.0, -1.0, 0.0)) == "#ff0000"
    assert parse_hex("#ff0080") == pytest.approx((1.0, 0.0, 128 / 255))
    assert parse_hex("FFF") == (1.0, 1.0, 1.0)
    for i in range(1, 20):
        assert hex_color(parse_hex(hex_color(class_color(i)))) == hex_color(class_color(i))
    for bad in ("", "#12345", "#gggggg", "12345678"):
        with pytest.raises(ValueError):
            parse_hex(bad)
