"""The BMP reader, checked against Pillow's writer."""

import numpy as np
import pytest
from PIL import Image

from ground_truth.codecs.bmp import read_bmp


@pytest.mark.parametrize(("height", "width"), [(1, 1), (6, 8), (5, 7), (3, 13)])
def test_reads_what_pillow_writes(tmp_path, height, width):
    rgb = np.random.default_rng(width).integers(0, 256, (height, width, 3), dtype=np.uint8)
    path = tmp_path / "image.bmp"
    Image.fromarray(rgb).save(path)
    np.testing.assert_array_equal(read_bmp(path), rgb)


def test_rejects_other_files(tmp_path):
    path = tmp_path / "x.bmp"
    path.write_bytes(b"PNG" + b"\0" * 60)
    with pytest.raises(ValueError, match="not a BMP"):
        read_bmp(path)


def test_reads_32_bit_files_as_rgb(tmp_path):
    rgba = np.random.default_rng(4).integers(0, 256, (5, 6, 4), dtype=np.uint8)
    path = tmp_path / "image.bmp"
    Image.fromarray(rgba, "RGBA").save(path)
    image = read_bmp(path)
    assert image.shape == (5, 6, 3) and image.flags.c_contiguous
    np.testing.assert_array_equal(image, rgba[:, :, :3])
