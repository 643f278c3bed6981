"""codecs.png, cross-checked against Pillow."""

import io

import numpy as np
import pytest
from PIL import Image

from ground_truth.codecs.png import FILTERS, decode_png, encode_png, read_png, write_png

RNG = np.random.default_rng(99)

SHAPES = [
    ((1, 1), np.uint8),
    ((3, 7), np.uint8),
    ((3, 7, 3), np.uint8),
    ((7, 3, 4), np.uint8),
    ((1, 1, 3), np.uint8),
    ((3, 7), np.uint16),
    ((1, 1), np.uint16),
    ((16, 33, 3), np.uint8),
]


def _random(shape, dtype):
    return RNG.integers(0, np.iinfo(dtype).max + 1, shape).astype(dtype)


def _smooth(shape, dtype):
    y, x = np.indices(shape[:2])
    base = (x * 7 + y * 3) % (np.iinfo(dtype).max + 1)
    if len(shape) == 3:
        base = np.stack([base + c * 11 for c in range(shape[2])], axis=-1)
    return (base % (np.iinfo(dtype).max + 1)).astype(dtype)


def _pillow(data):
    return np.array(Image.open(io.BytesIO(data)))


@pytest.mark.parametrize("shape,dtype", SHAPES)
@pytest.mark.parametrize("filter_name", [*FILTERS, "adaptive"])
@pytest.mark.parametrize("make", [_random, _smooth])
def test_roundtrip_and_pillow_reads_ours(shape, dtype, filter_name, make):
    array = make(shape, dtype)
    data = encode_png(array, filter=filter_name)
    ours = decode_png(data)
    assert ours.dtype == dtype and ours.shape == shape
    assert np.array_equal(ours, array)
    theirs = _pillow(data)
    assert theirs.shape == shape
    assert np.array_equal(theirs.astype(np.int64), array.astype(np.int64))


@pytest.mark.parametrize("mode,shape", [("L", (3, 7)), ("RGB", (7, 3, 3)), ("RGBA", (5, 9, 4))])
@pytest.mark.parametrize("make", [_random, _smooth])
def test_read_pillow_8bit(tmp_path, mode, shape, make):
    array = make(shape, np.uint8)
    for optimize in (False, True):
        path = tmp_path / f"p{optimize}.png"
        Image.fromarray(array, mode).save(path, optimize=optimize)
        assert np.array_equal(read_png(path), array)


def test_read_pillow_16bit_gray(tmp_path):
    array = _random((11, 6), np.uint16)
    path = tmp_path / "g16.png"
    Image.fromarray(array).save(path)  # mode I;16
    out = read_png(path)
    assert out.dtype == np.uint16
    assert np.array_equal(out, array)


def test_read_pillow_gray_alpha(tmp_path):
    array = _random((4, 5, 2), np.uint8)
    path = tmp_path / "la.png"
    Image.fromarray(array, "LA").save(path)
    assert np.array_equal(read_png(path), array)


def test_pillow_reads_16bit_file(tmp_path):
    array = _random((9, 4), np.uint16)
    path = tmp_path / "w16.png"
    write_png(path, array)
    with Image.open(path) as im:
        assert im.mode in ("I;16", "I", "I;16B")
        assert np.array_equal(np.array(im).astype(np.int64), array.astype(np.int64))


def test_all_filter_types_mixed_in_one_image():
    # The adaptive encoder picks different filters per row on mixed content.
    array = _smooth((40, 30, 3), np.uint8)
    array[10:20] = _random((10, 30, 3), np.uint8)
    array[25:30] = 128
    data = encode_png(array, filter="adaptive")
    assert np.array_equal(decode_png(data), array)
    assert np.array_equal(_pillow(data), array)


def test_larger_image_roundtrip(tmp_path):
    array = _smooth((120, 160, 3), np.uint8)
    array[50:60] = _random((10, 160, 3), np.uint8)
    path = tmp_path / "big.png"
    write_png(path, array, compression=9)
    assert np.array_equal(read_png(path), array)
    with Image.open(path) as im:
        assert np.array_equal(np.array(im), array)


@pytest.mark.parametrize(
    "array",
    [
        np.zeros((2, 2), np.float32),
        np.zeros((2, 2, 2), np.uint8),
        np.zeros((2, 2, 3), np.uint16),
        np.zeros((2,), np.uint8),
        np.zeros((0, 3), np.uint8),
    ],
)
def test_write_rejects(tmp_path, array):
    with pytest.raises(ValueError):
        write_png(tmp_path / "x.png", array)
    assert list(tmp_path.iterdir()) == []


def test_read_rejects_palette_and_interlaced(tmp_path):
    path = tmp_path / "p.png"
    Image.fromarray(_random((4, 4), np.uint8), "L").convert("P").save(path)
    with pytest.raises(ValueError, match="palette"):
        read_png(path)
    Image.fromarray(_random((4, 4, 3), np.uint8), "RGB").save(path, interlace=1)
    with Image.open(path) as im:
        interlaced = im.info.get("interlace")
    if interlaced:
        with pytest.raises(ValueError, match="interlaced"):
            read_png(path)


def test_read_rejects_garbage(tmp_path):
    path = tmp_path / "g.png"
    path.write_bytes(b"nope")
    with pytest.raises(ValueError):
        read_png(path)
    data = bytearray(encode_png(np.zeros((2, 2), np.uint8)))
    data[-5] ^= 0xFF  # corrupt the IEND CRC
    with pytest.raises(ValueError, match="CRC"):
        decode_png(bytes(data))


def test_write_is_atomic(tmp_path):
    path = tmp_path / "a.png"
    write_png(path, np.full((2, 2), 7, np.uint8))
    with pytest.raises(ValueError):
        write_png(path, np.zeros((2, 2), np.int32))
    assert np.array_equal(read_png(path), np.full((2, 2), 7, np.uint8))
    assert [p.name for p in tmp_path.iterdir()] == ["a.png"]


@pytest.mark.parametrize("channels,color_type", [(3, 2), (4, 6), (2, 4)])
def test_read_16bit_color_types(channels, color_type):
    # The writer has no 16-bit colour mode; build such a file from the encoder's parts.
    import struct
    import zlib

    from ground_truth.codecs import png

    array = _random((5, 6, channels), np.uint16)
    rows = array.astype(">u2").view(np.uint8).reshape(5, 6 * channels * 2)
    for method in (*FILTERS, "adaptive"):
        body = zlib.compress(png._filter_rows(rows, channels * 2, method).tobytes())
        ihdr = struct.pack(">IIBBBBB", 6, 5, 16, color_type, 0, 0, 0)
        data = b"".join(
            [
                png.PNG_SIGNATURE,
                png._chunk(b"IHDR", ihdr),
                png._chunk(b"IDAT", body[:7]),  # image data split over two chunks
                png._chunk(b"IDAT", body[7:]),
                png._chunk(b"IEND", b""),
            ]
        )
        out = decode_png(data)
        assert out.dtype == np.uint16
        assert np.array_equal(out, array)


def test_run_length_strategy_packs_label_maps_small_and_reads_back():
    """Label maps (flat regions) written the way the writer writes them: zlib level 1,
    its run-length strategy, the Up filter; as small as level 6 within a tenth."""
    y, x = np.indices((120, 160))
    labels = ((x // 40 + (y // 30) * 4) * 257 + ((x - 80) ** 2 + (y - 60) ** 2 < 900)).astype(
        np.uint16
    )
    fast = encode_png(labels, compression=1, filter="up", strategy="rle")
    assert np.array_equal(decode_png(fast), labels)
    assert np.array_equal(_pillow(fast), labels)
    assert len(fast) <= 1.1 * len(encode_png(labels, compression=6, filter="up"))


def test_unknown_strategy_is_refused():
    with pytest.raises(ValueError, match="strategy"):
        encode_png(np.zeros((2, 2), np.uint8), strategy="huffman")
