"""codecs.exr, cross-checked against the OpenEXR package."""

import struct

import numpy as np
import OpenEXR
import pytest

from ground_truth.codecs.exr import exr_header, read_exr, write_exr

RNG = np.random.default_rng(1234)


def _special(shape):
    a = RNG.normal(0, 100, shape).astype(np.float32)
    specials = [np.inf, -np.inf, np.nan, 0.0, -0.0, 1e10, 1e-40]
    n = min(a.size, len(specials))
    a.flat[:n] = specials[:n]
    return a


def _assert_same(a, b):
    assert a.shape == b.shape
    assert a.dtype == b.dtype
    assert np.array_equal(a, b, equal_nan=True)


def _read_openexr(path):
    f = OpenEXR.File(str(path), separate_channels=True)
    return {name: ch.pixels for name, ch in f.channels().items()}, f.header()


def _write_openexr(path, channels, compression, **header):
    header = {"compression": compression, "type": OpenEXR.scanlineimage, **header}
    # OpenEXR.File replaces the dict's arrays by Channel objects: give it a copy.
    OpenEXR.File(header, dict(channels)).write(str(path))


@pytest.mark.parametrize("compression", ["NONE", "ZIPS", "ZIP"])
@pytest.mark.parametrize("names", [("Y",), ("R", "G", "B")])
@pytest.mark.parametrize("shape", [(5, 7), (7, 5), (1, 1), (37, 23)])
def test_write_read_back_and_openexr(tmp_path, compression, names, shape):
    channels = {n: _special(shape) for n in names}
    path = tmp_path / "out.exr"
    write_exr(path, channels, compression)
    ours = read_exr(path)
    assert sorted(ours) == sorted(names)
    theirs, header = _read_openexr(path)
    assert sorted(theirs) == sorted(names)
    for n in names:
        _assert_same(ours[n], channels[n])
        _assert_same(theirs[n], channels[n])
    assert exr_header(path)["compression"] == compression
    expected = getattr(OpenEXR, {"NONE": "NO"}.get(compression, compression) + "_COMPRESSION")
    assert header["compression"] == expected


_OPENEXR_COMPRESSIONS = {
    "NONE": OpenEXR.NO_COMPRESSION,
    "RLE": OpenEXR.RLE_COMPRESSION,
    "ZIPS": OpenEXR.ZIPS_COMPRESSION,
    "ZIP": OpenEXR.ZIP_COMPRESSION,
}


@pytest.mark.parametrize("compression", list(_OPENEXR_COMPRESSIONS))
@pytest.mark.parametrize("shape", [(5, 7), (7, 5), (40, 33)])
def test_read_files_written_by_openexr(tmp_path, compression, shape):
    channels = {
        "ViewLayer.Depth.Z": _special(shape),
        "View Layer.IndexOB.X": RNG.integers(0, 50, shape).astype(np.float32),
        "R": RNG.random(shape).astype(np.float32),
        "G": np.zeros(shape, np.float32),
        "B": np.full(shape, np.nan, np.float32),
        "half": RNG.normal(0, 10, shape).astype(np.float16),
        "uint": RNG.integers(0, 2**32, shape, dtype=np.uint32),
    }
    path = tmp_path / "in.exr"
    _write_openexr(path, channels, _OPENEXR_COMPRESSIONS[compression])
    ours = read_exr(path)
    assert set(ours) == set(channels)
    for name, arr in channels.items():
        if arr.dtype == np.float16:
            _assert_same(ours[name], arr.astype(np.float32))
        else:
            _assert_same(ours[name], arr)
    header = exr_header(path)
    assert header["compression"] == compression
    assert header["dataWindow"] == (0, 0, shape[1] - 1, shape[0] - 1)
    types = {ch["name"]: ch["type"] for ch in header["channels"]}
    assert types["half"] == "HALF" and types["uint"] == "UINT" and types["R"] == "FLOAT"


def test_constant_and_smooth_data_gets_compressed(tmp_path):
    shape = (64, 48)
    y, x = np.indices(shape)
    channels = {"Z": (1 + x + y).astype(np.float32), "C": np.ones(shape, np.float32)}
    for name in ("NONE", "ZIP"):
        write_exr(tmp_path / f"{name}.exr", channels, name)
    assert (tmp_path / "ZIP.exr").stat().st_size < (tmp_path / "NONE.exr").stat().st_size / 2
    assert np.array_equal(read_exr(tmp_path / "ZIP.exr")["Z"], channels["Z"])


@pytest.mark.parametrize("compression", ["NONE", "ZIP"])
def test_decreasing_line_order(tmp_path, compression):
    data = np.arange(40 * 3, dtype=np.float32).reshape(40, 3)
    path = tmp_path / "dec.exr"
    _write_openexr(
        path, {"Y": data}, _OPENEXR_COMPRESSIONS[compression], lineOrder=OpenEXR.DECREASING_Y
    )
    assert exr_header(path)["lineOrder"] == "DECREASING_Y"
    _assert_same(read_exr(path)["Y"], data)


@pytest.mark.parametrize("compression", ["NONE", "ZIP"])
def test_data_window_offset(tmp_path, compression):
    data = np.arange(35, dtype=np.float32).reshape(5, 7)
    path = tmp_path / "dw.exr"
    window = (np.array([3, -2], dtype=np.int32), np.array([9, 2], dtype=np.int32))
    _write_openexr(path, {"Y": data}, _OPENEXR_COMPRESSIONS[compression], dataWindow=window)
    assert exr_header(path)["dataWindow"] == (3, -2, 9, 2)
    _assert_same(read_exr(path)["Y"], data)


def test_uncompressed_chunks_in_any_order_and_truncation(tmp_path):
    # Uncompressed lines are read in one go when stored in order; any other order is
    # read chunk by chunk, and a cut-off file is an error either way.
    data = {"R": _special((6, 5)), "G": RNG.random((6, 5)).astype(np.float32)}
    path = tmp_path / "none.exr"
    write_exr(path, data, "NONE")
    blob = path.read_bytes()
    header_end = len(blob) - 6 * 8 - 6 * (8 + 2 * 5 * 4)
    table = np.frombuffer(blob, "<u8", count=6, offset=header_end)
    chunks = [blob[int(o) : int(o) + 48] for o in table]
    reordered = chunks[::-1]
    first = header_end + 6 * 8
    offsets = first + 48 * np.arange(6, dtype=np.uint64)[::-1]
    swapped = blob[:header_end] + offsets.astype("<u8").tobytes() + b"".join(reordered)
    (tmp_path / "swapped.exr").write_bytes(swapped)
    for name in ("none.exr", "swapped.exr"):
        channels = read_exr(tmp_path / name)
        for channel, values in data.items():
            _assert_same(channels[channel], values)
    (tmp_path / "cut.exr").write_bytes(blob[:-10])
    with pytest.raises(ValueError, match="truncated"):
        read_exr(tmp_path / "cut.exr")


def test_channels_sorted_and_long_names(tmp_path):
    long_name = "A very long view layer name.Depth.Z"
    channels = {"b": np.zeros((2, 3)), "a": np.ones((2, 3)), long_name: np.full((2, 3), 2.0)}
    path = tmp_path / "s.exr"
    write_exr(path, channels)
    header = exr_header(path)
    assert [c["name"] for c in header["channels"]] == [long_name, "a", "b"]
    theirs, _ = _read_openexr(path)
    assert np.array_equal(theirs[long_name], np.full((2, 3), 2.0, np.float32))
    assert read_exr(path)["a"].dtype == np.float32


def test_unsupported_compression_named(tmp_path):
    path = tmp_path / "piz.exr"
    _write_openexr(path, {"Y": np.ones((4, 4), np.float32)}, OpenEXR.PIZ_COMPRESSION)
    with pytest.raises(ValueError, match="PIZ"):
        read_exr(path)


def test_tiled_rejected(tmp_path):
    tiles = OpenEXR.TileDescription()
    tiles.xSize = 4
    tiles.ySize = 4
    tiles.mode = OpenEXR.ONE_LEVEL
    path = tmp_path / "tiled.exr"
    header = {"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.tiledimage, "tiles": tiles}
    OpenEXR.File(header, {"Y": np.ones((5, 7), np.float32)}).write(str(path))
    with pytest.raises(ValueError, match="tiled"):
        read_exr(path)


def test_multipart_channels_are_read_from_every_part(tmp_path):
    # Blender 5.0 writes multilayer EXRs as one part per layer.
    values = {
        "Depth.V": np.arange(12, dtype=np.float32).reshape(3, 4),
        "Index.V": np.full((3, 4), 7.0, np.float32),
    }
    parts = [
        OpenEXR.Part(
            {"type": OpenEXR.scanlineimage, "compression": compression},
            {name: values[name]},
            name.split(".")[0],
        )
        for name, compression in (
            ("Depth.V", OpenEXR.NO_COMPRESSION),
            ("Index.V", OpenEXR.ZIP_COMPRESSION),
        )
    ]
    path = tmp_path / "mp.exr"
    OpenEXR.File(parts).write(str(path))
    channels = read_exr(path)
    assert sorted(channels) == ["Depth.V", "Index.V"]
    for name, expected in values.items():
        np.testing.assert_array_equal(channels[name], expected)


def test_deep_flag_rejected(tmp_path):
    path = tmp_path / "deep.exr"
    path.write_bytes(struct.pack("<ii", 20000630, 2 | 0x800) + b"\0")
    with pytest.raises(ValueError, match="deep"):
        read_exr(path)


def test_not_exr(tmp_path):
    path = tmp_path / "x.exr"
    path.write_bytes(b"not an exr file at all")
    with pytest.raises(ValueError, match="OpenEXR"):
        read_exr(path)


def test_write_validation(tmp_path):
    with pytest.raises(ValueError):
        write_exr(tmp_path / "a.exr", {})
    with pytest.raises(ValueError):
        write_exr(tmp_path / "a.exr", {"a": np.zeros((2, 2)), "b": np.zeros((2, 3))})
    with pytest.raises(ValueError):
        write_exr(tmp_path / "a.exr", {"a": np.zeros((2, 2, 3))})
    with pytest.raises(ValueError, match="PIZ"):
        write_exr(tmp_path / "a.exr", {"a": np.zeros((2, 2))}, "PIZ")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("compression", ["NONE", "ZIP"])
def test_unsigned_integer_channels_are_written_as_uint(tmp_path, compression):
    # A 32-bit instance map beside a float channel: exact IDs above 2**24 too.
    ids = RNG.integers(0, 2**32, size=(19, 23), dtype=np.uint64).astype(np.uint32)
    ids[0, 0] = 2**32 - 1
    depth = RNG.random((19, 23)).astype(np.float32)
    path = tmp_path / "ids.exr"
    write_exr(path, {"id": ids, "Y": depth}, compression=compression)
    channels = read_exr(path)
    assert channels["id"].dtype == np.uint32
    np.testing.assert_array_equal(channels["id"], ids)
    np.testing.assert_array_equal(channels["Y"], depth)
    types = {c["name"]: c["type"] for c in exr_header(path)["channels"]}
    assert types == {"id": "UINT", "Y": "FLOAT"}
    theirs, _header = _read_openexr(path)
    np.testing.assert_array_equal(theirs["id"], ids)
