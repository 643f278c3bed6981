"""Minimal OpenEXR reader and writer for single-part scanline images (numpy only).

Reading supports the compressions NONE, RLE, ZIPS and ZIP and the pixel types HALF,
FLOAT and UINT; tiled, deep and multi-part files and other compressions raise
:class:`ValueError`. Channel names are returned exactly as stored (Blender's multilayer
files use names such as ``"ViewLayer.Depth.Z"``).

Writing produces FLOAT (32-bit) channels with compression NONE, ZIPS or ZIP.

File layout reference: https://openexr.com/en/latest/OpenEXRFileLayout.html
"""

from __future__ import annotations

import os
import struct
import zlib
from typing import Any

import numpy as np

from .atomic import atomic_open

MAGIC = 20000630
_TILED_FLAG = 0x200
_LONG_NAMES_FLAG = 0x400
_NON_IMAGE_FLAG = 0x800
_MULTIPART_FLAG = 0x1000

COMPRESSION_NAMES = (
    "NONE",
    "RLE",
    "ZIPS",
    "ZIP",
    "PIZ",
    "PXR24",
    "B44",
    "B44A",
    "DWAA",
    "DWAB",
    "HTJ2K256",
    "HTJ2K32",
)
_LINES_PER_BLOCK = {"NONE": 1, "RLE": 1, "ZIPS": 1, "ZIP": 16}
_READABLE = frozenset(_LINES_PER_BLOCK)
_WRITABLE = frozenset({"NONE", "ZIPS", "ZIP"})

PIXEL_TYPE_NAMES = ("UINT", "HALF", "FLOAT")
_PIXEL_DTYPES = {"UINT": np.dtype("<u4"), "HALF": np.dtype("<f2"), "FLOAT": np.dtype("<f4")}
_OUT_DTYPES = {"UINT": np.uint32, "HALF": np.float32, "FLOAT": np.float32}
LINE_ORDER_NAMES = ("INCREASING_Y", "DECREASING_Y", "RANDOM_Y")


# ---------------------------------------------------------------------------
# Header parsing
# ---------------------------------------------------------------------------


def _read_cstr(data: bytes, pos: int) -> tuple[str, int]:
    """Return the NUL-terminated string starting at ``pos`` and the position after it."""
    end = data.index(b"\0", pos)
    return data[pos:end].decode("utf-8", errors="replace"), end + 1


def _parse_chlist(value: bytes) -> list[dict[str, Any]]:
    """Parse a ``chlist`` attribute value into a list of channel descriptions."""
    channels = []
    pos = 0
    while pos < len(value) and value[pos] != 0:
        name, pos = _read_cstr(value, pos)
        ptype, plinear, xs, ys = struct.unpack_from("<iB3xii", value, pos)
        pos += 16
        if not 0 <= ptype < len(PIXEL_TYPE_NAMES):
            raise ValueError(f"EXR channel {name!r} has unknown pixel type {ptype}")
        channels.append(
            {
                "name": name,
                "type": PIXEL_TYPE_NAMES[ptype],
                "pLinear": bool(plinear),
                "xSampling": xs,
                "ySampling": ys,
            }
        )
    return channels


def _parse_attribute(type_name: str, value: bytes) -> Any:
    """Decode the attribute types this module understands; return others as raw bytes."""
    if type_name == "chlist":
        return _parse_chlist(value)
    if type_name == "compression":
        code = value[0]
        return COMPRESSION_NAMES[code] if code < len(COMPRESSION_NAMES) else f"UNKNOWN({code})"
    if type_name == "lineOrder":
        code = value[0]
        return LINE_ORDER_NAMES[code] if code < len(LINE_ORDER_NAMES) else f"UNKNOWN({code})"
    if type_name == "box2i":
        return struct.unpack("<4i", value)
    if type_name == "box2f":
        return struct.unpack("<4f", value)
    if type_name == "v2i":
        return struct.unpack("<2i", value)
    if type_name == "v2f":
        return struct.unpack("<2f", value)
    if type_name == "v3f":
        return struct.unpack("<3f", value)
    if type_name == "int":
        return struct.unpack("<i", value)[0]
    if type_name == "float":
        return struct.unpack("<f", value)[0]
    if type_name == "double":
        return struct.unpack("<d", value)[0]
    if type_name == "string":
        return value.decode("utf-8", errors="replace")
    if type_name == "m44f":
        return struct.unpack("<16f", value)
    return value


# The types the OpenEXR standard gives the attributes this reader relies on.
_STANDARD_TYPES = {
    "channels": "chlist",
    "compression": "compression",
    "dataWindow": "box2i",
    "displayWindow": "box2i",
    "lineOrder": "lineOrder",
    "chunkCount": "int",
}


def _parse_attributes(data: bytes, pos: int) -> tuple[dict[str, Any], int]:
    """Parse one header's attributes from ``pos``; return (header, position after its null)."""
    header: dict[str, Any] = {}
    try:
        while data[pos] != 0:
            name, pos = _read_cstr(data, pos)
            type_name, pos = _read_cstr(data, pos)
            (size,) = struct.unpack_from("<i", data, pos)
            pos += 4
            value = data[pos : pos + size]
            if len(value) != size:
                raise ValueError("truncated OpenEXR header")
            pos += size
            expected = _STANDARD_TYPES.get(name)
            if expected is not None and type_name != expected:
                raise ValueError(
                    f"OpenEXR attribute {name!r} has type {type_name!r}, not {expected!r}"
                )
            header[name] = _parse_attribute(type_name, value)
    except (IndexError, struct.error) as exc:
        raise ValueError("truncated or corrupt OpenEXR header") from exc
    for required in ("channels", "compression", "dataWindow"):
        if required not in header:
            raise ValueError(f"OpenEXR header lacks the required attribute {required!r}")
    xmin, ymin, xmax, ymax = header["dataWindow"]
    if xmax < xmin or ymax < ymin:
        raise ValueError(f"OpenEXR data window {header['dataWindow']} is empty")
    return header, pos + 1


def _parse_headers(data: bytes) -> tuple[list[dict[str, Any]], int, bool]:
    """Parse magic, version and every part's header.

    Returns (headers, offset-tables position, multipart). Multi-part files (Blender
    5.0 writes its multilayer EXRs that way) have one header per part and an empty
    header at the end.
    """
    if len(data) < 8:
        raise ValueError("not an OpenEXR file (too short)")
    magic, version = struct.unpack_from("<ii", data, 0)
    if magic != MAGIC:
        raise ValueError("not an OpenEXR file (bad magic number)")
    if version & _NON_IMAGE_FLAG:
        raise ValueError("deep OpenEXR files are not supported")
    if version & _TILED_FLAG:
        raise ValueError("tiled OpenEXR files are not supported (scanline images only)")
    multipart = bool(version & _MULTIPART_FLAG)
    headers = []
    pos = 8
    while True:
        header, pos = _parse_attributes(data, pos)
        header["version"] = version & 0xFF
        headers.append(header)
        if not multipart:
            break
        if pos >= len(data):
            raise ValueError("truncated OpenEXR header")
        if data[pos] == 0:
            pos += 1
            break
    return headers, pos, multipart


def _parse_header(data: bytes) -> tuple[dict[str, Any], int]:
    """Parse the first part's header; return (header, offset-table position)."""
    headers, pos, _multipart = _parse_headers(data)
    return headers[0], pos


def exr_header(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Return the parsed header of the scanline EXR file at ``path``.

    Keys are the attribute names; notable values: ``"channels"`` (list of dicts with
    ``name``, ``type`` ("HALF"/"FLOAT"/"UINT"), ``pLinear``, ``xSampling``,
    ``ySampling``), ``"dataWindow"`` (xMin, yMin, xMax, yMax), ``"compression"`` (name
    such as ``"ZIP"``), ``"lineOrder"`` (name). ``"version"`` is the file format
    version. Attribute types not decoded here are returned as raw bytes.
    """
    with open(path, "rb") as f:
        data = f.read(1 << 16)
        while True:
            try:
                return _parse_header(data)[0]
            except ValueError as exc:
                more = f.read(1 << 20)
                if not more or "truncated" not in str(exc):
                    raise
                data += more


# ---------------------------------------------------------------------------
# Compression helpers
# ---------------------------------------------------------------------------


def _undo_predictor_and_interleave(buf: np.ndarray) -> bytes:
    """Invert the byte predictor and the two-halves reordering used by ZIP and RLE."""
    if buf.size == 0:
        return b""
    d = buf.copy()
    d[1:] -= np.uint8(128)
    t = np.cumsum(d, dtype=np.uint8)
    out = np.empty_like(t)
    half = (t.size + 1) // 2
    out[0::2] = t[:half]
    out[1::2] = t[half:]
    return out.tobytes()


def _apply_interleave_and_predictor(raw: bytes) -> bytes:
    """Reorder bytes into even/odd halves and apply the delta predictor (ZIP encoding)."""
    src = np.frombuffer(raw, dtype=np.uint8)
    if src.size == 0:
        return b""
    t = np.concatenate([src[0::2], src[1::2]])
    d = np.empty_like(t)
    d[0] = t[0]
    d[1:] = t[1:] - t[:-1] + np.uint8(128)
    return d.tobytes()


def _predicted_blocks(lines: np.ndarray, lines_per_block: int) -> np.ndarray:
    """:func:`_apply_interleave_and_predictor` of each block of ``lines_per_block`` rows
    of ``lines`` (uint8, a whole number of blocks), one block per row of the result."""
    blocks = lines.reshape(-1, lines_per_block * lines.shape[1])
    if blocks.shape[1] == 0:
        return blocks
    half = (blocks.shape[1] + 1) // 2
    reordered = np.empty_like(blocks)
    if blocks.shape[1] % 2 == 0:
        # Byte pairs as little-endian 16-bit numbers: the even bytes are their low
        # halves, the odd bytes their high halves (a narrowing copy, not a strided one).
        pairs = np.ascontiguousarray(blocks).view("<u2")
        np.copyto(reordered[:, :half], pairs, casting="unsafe")
        np.copyto(reordered[:, half:], pairs >> 8, casting="unsafe")
    else:
        reordered[:, :half] = blocks[:, 0::2]
        reordered[:, half:] = blocks[:, 1::2]
    out = np.empty_like(reordered)
    out[:, 0] = reordered[:, 0]
    np.subtract(reordered[:, 1:], reordered[:, :-1], out=out[:, 1:])
    out[:, 1:] += np.uint8(128)
    return out


def _rle_decode(data: bytes, expected: int) -> np.ndarray:
    """Decode OpenEXR run-length data (signed count byte, then a run or literals)."""
    parts: list[bytes] = []
    pos = 0
    n = len(data)
    while pos < n:
        count = data[pos]
        pos += 1
        if count >= 128:  # negative: literal bytes follow
            length = 256 - count
            parts.append(data[pos : pos + length])
            pos += length
        else:
            if pos >= n:
                raise ValueError("corrupt RLE data in OpenEXR file")
            parts.append(data[pos : pos + 1] * (count + 1))
            pos += 1
    out = b"".join(parts)
    if len(out) != expected:
        raise ValueError("corrupt RLE data in OpenEXR file (wrong decoded size)")
    return np.frombuffer(out, dtype=np.uint8)


def _decompress(compression: str, data: bytes, expected: int) -> bytes:
    """Return the uncompressed bytes of one chunk."""
    if compression == "NONE" or len(data) >= expected:
        # Writers store a chunk raw when compressing would not make it smaller.
        return data
    if compression in ("ZIP", "ZIPS"):
        try:
            raw = zlib.decompress(data)
        except zlib.error as exc:
            raise ValueError(f"corrupt ZIP data in OpenEXR file: {exc}") from exc
        if len(raw) != expected:
            raise ValueError("corrupt ZIP data in OpenEXR file (wrong decoded size)")
        return _undo_predictor_and_interleave(np.frombuffer(raw, dtype=np.uint8))
    if compression == "RLE":
        return _undo_predictor_and_interleave(_rle_decode(data, expected))
    raise ValueError(f"unsupported OpenEXR compression {compression}")


# ---------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------


def read_exr(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """Read a scanline EXR file into ``{channel name: HxW array}``.

    H and W are the dataWindow's size. HALF and FLOAT channels become float32 arrays,
    UINT channels uint32 arrays. The channels of every part of a multi-part file are
    returned together (they must not repeat a name). Supported compressions: NONE,
    RLE, ZIPS, ZIP; others, tiled and deep files raise :class:`ValueError`. Channels
    with subsampling other than 1 are rejected too.
    """
    with open(path, "rb") as f:
        return decode_exr(f.read())


def decode_exr(data: bytes) -> dict[str, np.ndarray]:
    """Decode the bytes of a scanline EXR file (see :func:`read_exr`)."""
    headers, pos, multipart = _parse_headers(data)
    tables = []
    for header in headers:
        n_blocks = _block_count(header, multipart)
        if len(data) < pos + 8 * n_blocks:
            raise ValueError("truncated OpenEXR file (offset table)")
        tables.append(np.frombuffer(data, dtype="<u8", count=n_blocks, offset=pos))
        pos += 8 * n_blocks
    _check_chunk_layout(data, headers, tables, pos, multipart)
    result: dict[str, np.ndarray] = {}
    for header, offsets in zip(headers, tables, strict=True):
        for name, values in _read_part(data, header, offsets, multipart).items():
            if name in result:
                raise ValueError(f"OpenEXR channel {name!r} appears in two parts")
            result[name] = values
    return result


# The most an OpenEXR chunk can grow when decompressed (zlib's limit is about 1032:1).
_MAX_EXPANSION = 1100


def _check_chunk_layout(data, headers, tables, table_end, multipart):
    """Refuse files whose header does not describe their chunks.

    The chunks follow the offset tables directly and end with the file; every chunk
    lies inside the file; and the image's pixel bytes could come out of the data. A
    damaged size or data window (a flipped bit) then fails here instead of giving a
    cropped image or asking for gigabytes.
    """
    offsets = np.concatenate(tables) if tables else np.zeros(0, "<u8")
    if offsets.size == 0:
        return
    if int(offsets.min()) != table_end or int(offsets.max()) >= len(data):
        raise ValueError("corrupt OpenEXR file (the chunk offsets do not fit the file)")
    prefix = 4 if multipart else 0
    last = int(offsets.max()) + prefix
    if last + 8 > len(data):
        raise ValueError("truncated OpenEXR file (chunk offset past the end)")
    (size,) = struct.unpack_from("<i", data, last + 4)
    if last + 8 + size != len(data):
        raise ValueError("corrupt or truncated OpenEXR file (its last chunk does not end it)")
    for header in headers:
        xmin, ymin, xmax, ymax = header["dataWindow"]
        sizes = sum(_PIXEL_DTYPES[ch["type"]].itemsize for ch in header["channels"])
        pixel_bytes = max(xmax - xmin + 1, 0) * max(ymax - ymin + 1, 0) * sizes
        if pixel_bytes > _MAX_EXPANSION * len(data):
            raise ValueError(
                f"corrupt OpenEXR header (a {xmax - xmin + 1}x{ymax - ymin + 1} image cannot "
                f"come out of {len(data)} bytes)"
            )


def _block_count(header: dict[str, Any], multipart: bool) -> int:
    compression = header["compression"]
    if compression not in _READABLE:
        raise ValueError(
            f"unsupported OpenEXR compression {compression} (supported: NONE, RLE, ZIPS, ZIP)"
        )
    if header.get("type", "scanlineimage") != "scanlineimage":
        raise ValueError(f"unsupported OpenEXR part type {header['type']!r}")
    _xmin, ymin, _xmax, ymax = header["dataWindow"]
    height = max(ymax - ymin + 1, 0)
    lines_per_block = _LINES_PER_BLOCK[compression]
    computed = (height + lines_per_block - 1) // lines_per_block
    if multipart and isinstance(header.get("chunkCount"), int):
        return header["chunkCount"]
    return computed


def _read_part(
    data: bytes, header: dict[str, Any], offsets: np.ndarray, multipart: bool
) -> dict[str, np.ndarray]:
    """Decode one part's chunks into its channels."""
    compression = header["compression"]
    xmin, ymin, xmax, ymax = header["dataWindow"]
    width, height = xmax - xmin + 1, ymax - ymin + 1
    channels = header["channels"]
    if width <= 0 or height <= 0:
        return {ch["name"]: np.zeros((0, 0), _OUT_DTYPES[ch["type"]]) for ch in channels}
    for ch in channels:
        if ch["xSampling"] != 1 or ch["ySampling"] != 1:
            raise ValueError(f"subsampled OpenEXR channel {ch['name']!r} is not supported")

    sizes = [_PIXEL_DTYPES[ch["type"]].itemsize for ch in channels]
    line_bytes = width * sum(sizes)
    lines_per_block = _LINES_PER_BLOCK[compression]
    prefix = 4 if multipart else 0  # multi-part chunks start with their part number
    pixels = None
    if compression == "NONE":
        pixels = _uncompressed_lines(data, offsets, ymin, height, line_bytes, prefix)
    if pixels is None:
        pixels = _decode_chunks(
            data, offsets, compression, ymin, height, line_bytes, lines_per_block, prefix
        )

    result: dict[str, np.ndarray] = {}
    start = 0
    for ch, size in zip(channels, sizes, strict=True):
        stop = start + width * size
        block = pixels[:, start:stop].copy()  # contiguous, writable, not a view of the file
        values = block.view(_PIXEL_DTYPES[ch["type"]]).reshape(height, width)
        result[ch["name"]] = values.astype(_OUT_DTYPES[ch["type"]], copy=False)
        start = stop
    return result


def _uncompressed_lines(
    data: bytes, offsets: np.ndarray, ymin: int, height: int, line_bytes: int, prefix: int
) -> np.ndarray | None:
    """All scanlines of an uncompressed part at once, when its one-line chunks are stored
    in order and back to back (as writers store them); None otherwise."""
    stride = prefix + 8 + line_bytes
    if len(offsets) != height or height == 0:
        return None
    first = int(offsets[0])
    if first + stride * height > len(data):
        return None
    if not np.array_equal(offsets, first + stride * np.arange(height, dtype=np.uint64)):
        return None
    block = np.frombuffer(data, dtype=np.uint8, count=stride * height, offset=first)
    block = block.reshape(height, stride)
    heads = np.ascontiguousarray(block[:, prefix : prefix + 8]).view("<i4")
    expected_y = np.arange(ymin, ymin + height, dtype=np.int32)
    if not (np.array_equal(heads[:, 0], expected_y) and np.all(heads[:, 1] == line_bytes)):
        return None
    return block[:, prefix + 8 :]


def _decode_chunks(
    data: bytes,
    offsets: np.ndarray,
    compression: str,
    ymin: int,
    height: int,
    line_bytes: int,
    lines_per_block: int,
    prefix: int,
) -> np.ndarray:
    """Scanlines chunk by chunk (any supported compression, any chunk order)."""
    pixels = np.zeros((height, line_bytes), dtype=np.uint8)
    filled = np.zeros(height, dtype=bool)
    for offset in offsets.tolist():
        start = offset + prefix
        if start + 8 > len(data):
            raise ValueError("truncated OpenEXR file (chunk offset past the end)")
        y, size = struct.unpack_from("<ii", data, start)
        row = y - ymin
        if not 0 <= row < height or size < 0:
            raise ValueError(f"corrupt OpenEXR chunk (y={y}, size={size})")
        n_lines = min(lines_per_block, height - row)
        chunk = data[start + 8 : start + 8 + size]
        if len(chunk) != size:
            raise ValueError("truncated OpenEXR file (chunk data)")
        expected = n_lines * line_bytes
        raw = _decompress(compression, chunk, expected)
        if len(raw) != expected:
            raise ValueError("corrupt OpenEXR chunk (wrong uncompressed size)")
        pixels[row : row + n_lines] = np.frombuffer(raw, dtype=np.uint8).reshape(
            n_lines, line_bytes
        )
        filled[row : row + n_lines] = True
    if not filled.all():
        raise ValueError(f"corrupt OpenEXR file (no data for line {int(np.argmin(filled)) + ymin})")
    return pixels


# ---------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------


def _attribute(name: str, type_name: str, value: bytes) -> bytes:
    """Encode one header attribute."""
    return (
        name.encode("utf-8")
        + b"\0"
        + type_name.encode("ascii")
        + b"\0"
        + struct.pack("<i", len(value))
        + value
    )


def write_exr(
    path: str | os.PathLike[str],
    channels: dict[str, np.ndarray],
    compression: str = "ZIP",
    zlib_level: int = 6,
) -> None:
    """Write ``channels`` (name -> HxW array, all the same shape) as a scanline EXR.

    Unsigned integer arrays (uint8 to uint32) become UINT channels, everything else FLOAT
    (converted to float32; inf and nan are kept). Channels are stored sorted
    by name (byte order of the UTF-8 names), as the file format requires.
    ``compression`` is ``"NONE"``, ``"ZIPS"`` (1 line per block) or ``"ZIP"`` (16
    lines per block). The file is written atomically.
    """
    compression = compression.upper()
    if compression not in _WRITABLE:
        raise ValueError(f"write_exr supports compression NONE, ZIPS or ZIP, not {compression}")
    if not channels:
        raise ValueError("write_exr needs at least one channel")
    names = sorted(channels, key=lambda n: n.encode("utf-8"))
    arrays = []
    for name in names:
        if not name or "\0" in name or len(name.encode("utf-8")) > 255:
            raise ValueError(f"invalid EXR channel name {name!r}")
        arr = np.asarray(channels[name])
        if arr.ndim != 2:
            raise ValueError(f"channel {name!r} must be a 2-D array, got shape {arr.shape}")
        arrays.append(arr)
    height, width = arrays[0].shape
    if any(a.shape != (height, width) for a in arrays):
        raise ValueError("all EXR channels must have the same shape")
    if height == 0 or width == 0:
        raise ValueError("cannot write an empty EXR image")

    # One scanline holds each channel's row in turn, as little-endian float32.
    line_bytes = len(names) * width * 4

    long_names = any(len(n.encode("utf-8")) > 31 for n in names)
    kinds = [0 if a.dtype.kind == "u" and a.dtype.itemsize <= 4 else 2 for a in arrays]
    chlist = b"".join(
        n.encode("utf-8") + b"\0" + struct.pack("<iB3xii", kind, 0, 1, 1)
        for n, kind in zip(names, kinds, strict=True)
    )
    window = struct.pack("<4i", 0, 0, width - 1, height - 1)
    header = b"".join(
        [
            struct.pack("<ii", MAGIC, 2 | (_LONG_NAMES_FLAG if long_names else 0)),
            _attribute("channels", "chlist", chlist + b"\0"),
            _attribute("compression", "compression", bytes([COMPRESSION_NAMES.index(compression)])),
            _attribute("dataWindow", "box2i", window),
            _attribute("displayWindow", "box2i", window),
            _attribute("lineOrder", "lineOrder", b"\0"),
            _attribute("pixelAspectRatio", "float", struct.pack("<f", 1.0)),
            _attribute("screenWindowCenter", "v2f", struct.pack("<2f", 0.0, 0.0)),
            _attribute("screenWindowWidth", "float", struct.pack("<f", 1.0)),
            b"\0",
        ]
    )

    if compression == "NONE":
        # One line per chunk: the chunks are the lines, each after its (y, size) head.
        chunks = np.empty((height, 8 + line_bytes), dtype=np.uint8)
        heads = chunks[:, :8].view("<i4")
        heads[:, 0] = np.arange(height)
        heads[:, 1] = line_bytes
        _fill_lines(chunks[:, 8:], arrays, kinds)
        sizes = np.full(height, 8 + line_bytes, dtype=np.uint64)
        body = [chunks]
    else:
        flat = np.empty((height, line_bytes), dtype=np.uint8)
        _fill_lines(flat, arrays, kinds)
        lines_per_block = _LINES_PER_BLOCK[compression]
        # Whole blocks are predicted in one pass (few, large numpy calls: the writer
        # thread then seldom takes Python's lock back from the render); a short last
        # block on its own.
        whole = height // lines_per_block * lines_per_block
        blocks = [*_predicted_blocks(flat[:whole], lines_per_block)]
        if whole < height:
            blocks.append(_apply_interleave_and_predictor(flat[whole:].tobytes()))
        body = []
        for index, predicted in enumerate(blocks):
            y = index * lines_per_block
            packed = zlib.compress(predicted, zlib_level)
            stored = flat[y : y + lines_per_block]
            raw = packed if len(packed) < len(predicted) else stored.tobytes()
            body.append(struct.pack("<ii", y, len(raw)) + raw)
        sizes = np.array([len(chunk) for chunk in body], dtype=np.uint64)

    first_chunk = len(header) + 8 * len(sizes)
    offsets = np.zeros(len(sizes), dtype=np.uint64)
    np.cumsum(sizes[:-1], out=offsets[1:])
    offsets += np.uint64(first_chunk)
    with atomic_open(path, "wb") as f:
        f.write(header)
        f.write(offsets.astype("<u8").tobytes())
        for chunk in body:
            f.write(chunk)


def _fill_lines(lines: np.ndarray, arrays: list[np.ndarray], kinds: list[int]) -> None:
    """Write ``arrays`` (C channels of HxW) into ``lines`` (H rows of C*W 4-byte values:
    float32 for FLOAT channels, uint32 for UINT ones, as ``kinds`` says)."""
    height, width = arrays[0].shape
    floats = lines.view("<f4").reshape(height, len(arrays), width)
    integers = lines.view("<u4").reshape(height, len(arrays), width)
    for index, (array, kind) in enumerate(zip(arrays, kinds, strict=True)):
        (integers if kind == 0 else floats)[:, index, :] = array
