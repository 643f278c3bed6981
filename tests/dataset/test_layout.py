"""Tests for core.naming."""

import os

import pytest

from ground_truth.dataset.layout import (
    CLASS_DIR,
    DEPTH_DIR,
    FRAME_DIGITS,
    PREVIEW_DIR,
    RAW_DIR,
    RGB_DIR,
    frame_path,
    frame_stem,
    unique_name,
)


def test_frame_stem():
    assert FRAME_DIGITS == 6
    assert frame_stem(3) == "000003"
    assert frame_stem(0) == "000000"
    assert frame_stem(1234567) == "1234567"
    assert frame_stem(-3) == "-00003"


def test_frame_path():
    assert frame_path("/out", RGB_DIR, 3) == os.path.join("/out", "rgb", "000003.png")
    assert frame_path("/out", DEPTH_DIR, 12).endswith(os.path.join("depth", "000012.exr"))
    assert frame_path("/out", CLASS_DIR, 1).endswith(".png")
    assert frame_path("/out", PREVIEW_DIR, 1).endswith(".png")
    assert RAW_DIR == ".raw"
    with pytest.raises(ValueError):
        frame_path("/out", "normals", 1)


def test_unique_name():
    assert unique_name("Car", []) == "Car"
    assert unique_name("Car", ["Car"]) == "Car.001"
    assert unique_name("Car", ["Car", "Car.001"]) == "Car.002"
    assert unique_name("Car", ["Car", "Car.002"]) == "Car.001"
    assert unique_name("Car.001", ["Car", "Car.001"]) == "Car.002"
    assert unique_name("V1.5", ["V1.5"]) == "V1.5.001"
