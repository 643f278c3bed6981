"""PNG writer and reader built on zlib and numpy (no Pillow).

Writing supports 8-bit gray, RGB and RGBA and 16-bit gray. Reading supports
non-interlaced 8- and 16-bit gray, gray+alpha, RGB and RGBA images with any of the five
PNG row filters (as written by libpng's adaptive filtering, e.g. by Blender).

All filtering is vectorised with numpy: encoding computes every filter for the whole
image at once; decoding reconstructs rows that use only None/Sub/Up row by row and
images with Average/Paeth rows along anti-diagonals (each pixel depends only on its
left, upper and upper-left neighbours, so one anti-diagonal is decoded in one step).
"""

from __future__ import annotations

import os
import struct
import zlib

import numpy as np

from .atomic import atomic_write_bytes

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
FILTERS = ("none", "sub", "up", "average", "paeth")
_CHANNELS_BY_COLOR_TYPE = {0: 1, 2: 3, 4: 2, 6: 4}
_COLOR_TYPE_BY_CHANNELS = {1: 0, 3: 2, 4: 6}
_IDAT_CHUNK = 1 << 20


def _chunk(kind: bytes, data: bytes) -> bytes:
    """Encode one PNG chunk (length, type, data, CRC)."""
    crc = zlib.crc32(data, zlib.crc32(kind)) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def _paeth(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Paeth predictor for int16 arrays ``a`` (left), ``b`` (up), ``c`` (upper-left)."""
    pa = np.abs(b - c)
    pb = np.abs(a - c)
    pc = np.abs(a + b - 2 * c)
    return np.where((pa <= pb) & (pa <= pc), a, np.where(pb <= pc, b, c))


def _filter_rows(rows: np.ndarray, bpp: int, method: str) -> np.ndarray:
    """Return ``rows`` (H x rowbytes uint8) filtered, with the filter byte prepended.

    ``method`` is one of :data:`FILTERS` or ``"adaptive"`` (per row, the filter with the
    smallest sum of absolute signed residuals, libpng's heuristic).
    """
    if method != "adaptive" and method not in FILTERS:
        raise ValueError(f"unknown PNG filter {method!r}; use one of {FILTERS} or 'adaptive'")
    x = rows
    if method in ("none", "up"):  # written straight into the result, rows read once
        out = np.empty((x.shape[0], x.shape[1] + 1), dtype=np.uint8)
        out[:, 0] = FILTERS.index(method)
        if method == "none" or x.shape[0] == 0:
            out[:, 1:] = x
        else:
            out[0, 1:] = x[0]
            np.subtract(x[1:], x[:-1], out=out[1:, 1:])
        return out
    up = np.zeros_like(x)
    up[1:] = x[:-1]
    left = np.zeros_like(x)
    left[:, bpp:] = x[:, :-bpp]

    def residual(kind: str) -> np.ndarray:
        # uint8 arithmetic wraps modulo 256, exactly as PNG filters are defined.
        if kind == "none":
            return x
        if kind == "sub":
            return x - left
        if kind == "up":
            return x - up
        if kind == "average":
            return x - ((left >> 1) + (up >> 1) + (left & up & 1))
        upleft = np.zeros_like(x)
        upleft[1:, bpp:] = x[:-1, :-bpp]
        pred = _paeth(left.astype(np.int16), up.astype(np.int16), upleft.astype(np.int16))
        return x - pred.astype(np.uint8)

    out = np.empty((rows.shape[0], rows.shape[1] + 1), dtype=np.uint8)
    if method == "adaptive":
        best_score = None
        for index, kind in enumerate(FILTERS):
            res = residual(kind)
            # |signed residual| = min(v, 256 - v) for the byte v.
            score = np.minimum(res, np.negative(res)).sum(axis=1, dtype=np.uint32)
            if best_score is None:
                best_score = score
                out[:, 0] = 0
                out[:, 1:] = res
                continue
            better = score < best_score
            best_score = np.where(better, score, best_score)
            out[better, 0] = index
            out[better, 1:] = res[better]
    else:
        out[:, 0] = FILTERS.index(method)
        out[:, 1:] = residual(method)
    return out


# zlib's strategies by name: "rle" looks for repeats of the byte before only, which is
# as small as level 6 and as fast as level 1 on label maps (flat regions, "up"-filtered).
STRATEGIES = {"default": zlib.Z_DEFAULT_STRATEGY, "rle": zlib.Z_RLE}


def encode_png(
    array: np.ndarray, compression: int = 6, filter: str = "adaptive", strategy: str = "default"
) -> bytes:
    """Return the PNG file bytes for ``array`` (see :func:`write_png` for the formats)."""
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown zlib strategy {strategy!r}; use one of {tuple(STRATEGIES)}")
    arr = np.asarray(array)
    if arr.dtype == np.uint8 and arr.ndim == 2:
        color_type, depth, channels = 0, 8, 1
    elif arr.dtype == np.uint8 and arr.ndim == 3 and arr.shape[2] in (3, 4):
        channels = arr.shape[2]
        color_type, depth = _COLOR_TYPE_BY_CHANNELS[channels], 8
    elif arr.dtype == np.uint16 and arr.ndim == 2:
        color_type, depth, channels = 0, 16, 1
    else:
        raise ValueError(
            "write_png supports uint8 HxW, HxWx3, HxWx4 and uint16 HxW arrays, "
            f"got {arr.dtype} with shape {arr.shape}"
        )
    height, width = arr.shape[:2]
    if height == 0 or width == 0:
        raise ValueError("cannot write an empty PNG image")
    if depth == 16:
        arr = arr.astype(">u2")
    bpp = channels * depth // 8
    rows = np.ascontiguousarray(arr).view(np.uint8).reshape(height, width * bpp)
    filtered = _filter_rows(rows, bpp, filter)
    packer = zlib.compressobj(compression, zlib.DEFLATED, zlib.MAX_WBITS, 8, STRATEGIES[strategy])
    data = packer.compress(filtered) + packer.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, depth, color_type, 0, 0, 0)
    parts = [PNG_SIGNATURE, _chunk(b"IHDR", ihdr)]
    for start in range(0, len(data), _IDAT_CHUNK):
        parts.append(_chunk(b"IDAT", data[start : start + _IDAT_CHUNK]))
    parts.append(_chunk(b"IEND", b""))
    return b"".join(parts)


def write_png(
    path: str | os.PathLike[str],
    array: np.ndarray,
    compression: int = 6,
    filter: str = "adaptive",
    strategy: str = "default",
) -> None:
    """Write ``array`` to ``path`` as a PNG file, atomically.

    Accepted arrays: uint8 HxW (8-bit gray), uint8 HxWx3 (8-bit RGB), uint8 HxWx4
    (8-bit RGBA), uint16 HxW (16-bit gray). Anything else raises :class:`ValueError`.
    ``compression`` is the zlib level (0-9); ``filter`` is ``"adaptive"`` (default,
    chosen per row) or one of ``"none"``, ``"sub"``, ``"up"``, ``"average"``, ``"paeth"``;
    ``strategy`` is zlib's (see :data:`STRATEGIES`).
    """
    atomic_write_bytes(path, encode_png(array, compression, filter, strategy))


def _unfilter_simple(filtered: np.ndarray, types: np.ndarray, bpp: int) -> np.ndarray:
    """Reconstruct rows whose filter types are all None, Sub or Up (row-wise numpy)."""
    height, rowbytes = filtered.shape
    out = np.empty_like(filtered)
    prior = np.zeros(rowbytes, dtype=np.uint8)
    for y in range(height):
        row = filtered[y]
        kind = types[y]
        if kind == 1:
            # Sub: running sum over pixels, per byte position (uint8 wraps mod 256).
            row = np.cumsum(row.reshape(-1, bpp), axis=0, dtype=np.uint8).reshape(-1)
        elif kind == 2:
            row = row + prior
        out[y] = row
        prior = out[y]
    return out


def _unfilter_wavefront(filtered: np.ndarray, types: np.ndarray, bpp: int) -> np.ndarray:
    """Reconstruct rows with any filter types by stepping along anti-diagonals of pixels."""
    height, rowbytes = filtered.shape
    width = rowbytes // bpp
    stride = width + 1
    # Padded reconstruction buffer: one zero row above and one zero column on the left.
    recon = np.zeros(((height + 1) * stride, bpp), dtype=np.int16)
    src = filtered.reshape(height, width, bpp).astype(np.int16)
    all_y = np.arange(height)
    for k in range(height + width - 1):
        y0 = max(0, k - width + 1)
        y1 = min(height - 1, k)
        ys = all_y[y0 : y1 + 1]
        xs = k - ys
        p = (ys + 1) * stride + xs + 1
        a = recon[p - 1]
        b = recon[p - stride]
        c = recon[p - stride - 1]
        t = types[ys][:, None]
        pred = np.where(
            t == 1,
            a,
            np.where(
                t == 2, b, np.where(t == 3, (a + b) >> 1, np.where(t == 4, _paeth(a, b, c), 0))
            ),
        )
        recon[p] = (src[ys, xs] + pred) & 0xFF
    recon = recon.reshape(height + 1, stride, bpp)[1:, 1:]
    return recon.astype(np.uint8).reshape(height, rowbytes)


def decode_png(data: bytes) -> np.ndarray:
    """Decode PNG file bytes into an array (see :func:`read_png`)."""
    if not data.startswith(PNG_SIGNATURE):
        raise ValueError("not a PNG file (bad signature)")
    pos = len(PNG_SIGNATURE)
    header = None
    idat: list[bytes] = []
    while True:
        if pos + 8 > len(data):
            raise ValueError("truncated PNG file")
        length, kind = struct.unpack_from(">I4s", data, pos)
        body = data[pos + 8 : pos + 8 + length]
        crc_bytes = data[pos + 8 + length : pos + 12 + length]
        if len(body) != length or len(crc_bytes) != 4:
            raise ValueError("truncated PNG file")
        if zlib.crc32(body, zlib.crc32(kind)) & 0xFFFFFFFF != struct.unpack(">I", crc_bytes)[0]:
            raise ValueError(f"PNG chunk {kind!r} has a bad CRC")
        pos += 12 + length
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
    if header is None:
        raise ValueError("PNG file has no IHDR chunk")
    width, height, depth, color_type, _comp, _filt, interlace = header
    if color_type == 3:
        raise ValueError("palette PNG images are not supported")
    if color_type not in _CHANNELS_BY_COLOR_TYPE:
        raise ValueError(f"unsupported PNG colour type {color_type}")
    if depth not in (8, 16):
        raise ValueError(f"unsupported PNG bit depth {depth} (8 and 16 are supported)")
    if interlace:
        raise ValueError("interlaced PNG images are not supported")
    channels = _CHANNELS_BY_COLOR_TYPE[color_type]
    bpp = channels * depth // 8
    rowbytes = width * bpp
    try:
        raw = zlib.decompress(b"".join(idat))
    except zlib.error as exc:
        raise ValueError(f"corrupt PNG image data: {exc}") from exc
    if len(raw) < height * (rowbytes + 1):
        raise ValueError("PNG image data is too short")
    rows = np.frombuffer(raw, dtype=np.uint8, count=height * (rowbytes + 1))
    rows = rows.reshape(height, rowbytes + 1)
    types = rows[:, 0]
    if types.size and types.max() > 4:
        raise ValueError(f"invalid PNG filter type {int(types.max())}")
    filtered = rows[:, 1:]
    if np.all(types <= 2):
        pixels = _unfilter_simple(filtered, types, bpp)
    else:
        pixels = _unfilter_wavefront(filtered, types, bpp)
    out = pixels.view(">u2").astype(np.uint16) if depth == 16 else pixels
    if channels == 1:
        return out.reshape(height, width)
    return out.reshape(height, width, channels)


def verify_png(path: str | os.PathLike[str]) -> tuple[int, int]:
    """Return (width, height) of a PNG file whose every chunk is whole and intact.

    Walks the chunks and checks their CRCs (no decompression): a truncated file, a
    flipped bit or a missing end marker raises :class:`ValueError`.
    """
    with open(path, "rb") as file:
        data = file.read()
    name = os.fspath(path)
    if not data.startswith(PNG_SIGNATURE):
        raise ValueError(f"{name} is not a PNG file")
    pos, size = len(PNG_SIGNATURE), None
    while True:
        if pos + 12 > len(data):
            raise ValueError(f"{name} is truncated")
        length, kind = struct.unpack_from(">I4s", data, pos)
        end = pos + 12 + length
        if end > len(data):
            raise ValueError(f"{name} is truncated")
        crc = struct.unpack_from(">I", data, end - 4)[0]
        if zlib.crc32(data[pos + 4 : end - 4]) & 0xFFFFFFFF != crc:
            raise ValueError(f"{name} is damaged (chunk {kind!r} has a bad CRC)")
        if size is None:
            if kind != b"IHDR":
                raise ValueError(f"{name} has no IHDR chunk first")
            size = struct.unpack_from(">II", data, pos + 8)
        pos = end
        if kind == b"IEND":
            return size


def png_size(path: str | os.PathLike[str]) -> tuple[int, int]:
    """Return (width, height) of a PNG file whose header and end marker are intact.

    Cheap completeness check for resuming: reads the signature, the IHDR chunk and
    the last 12 bytes (the IEND chunk) only. Raises ValueError otherwise.
    """
    with open(path, "rb") as file:
        head = file.read(24)
        file.seek(0, os.SEEK_END)
        if file.tell() < 57:
            raise ValueError(f"{os.fspath(path)!r} is too short to be a PNG")
        file.seek(-12, os.SEEK_END)
        tail = file.read(12)
    if head[:8] != PNG_SIGNATURE or head[12:16] != b"IHDR":
        raise ValueError(f"{os.fspath(path)!r} is not a PNG file")
    if tail[4:8] != b"IEND":
        raise ValueError(f"{os.fspath(path)!r} is truncated (no IEND chunk)")
    width, height = struct.unpack(">II", head[16:24])
    return width, height


def read_png(path: str | os.PathLike[str]) -> np.ndarray:
    """Read a non-interlaced 8- or 16-bit PNG file.

    Returns uint8 or uint16 arrays: HxW for gray, HxWx2 for gray+alpha, HxWx3 for RGB,
    HxWx4 for RGBA. Palette, interlaced and 1/2/4-bit images raise :class:`ValueError`.
    """
    with open(path, "rb") as f:
        return decode_png(f.read())
