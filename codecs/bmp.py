"""Reader for the uncompressed 24-bit BMP files Blender writes (the preview's image copy)."""

from __future__ import annotations

import os
import struct

import numpy as np


def read_bmp(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an uncompressed 24- or 32-bit BMP into a uint8 HxWx3 RGB array, top row first.

    Raises ValueError for other BMP variants (compressed, palette).
    """
    with open(path, "rb") as file:
        data = file.read()
    if data[:2] != b"BM" or len(data) < 54:
        raise ValueError(f"{os.fspath(path)!r} is not a BMP file")
    offset = struct.unpack_from("<I", data, 10)[0]
    width, height, _planes, bits, compression = struct.unpack_from("<iiHHI", data, 18)
    if compression not in (0, 3) or bits not in (24, 32):
        raise ValueError(f"unsupported BMP ({bits} bits, compression {compression})")
    channels = bits // 8
    row_bytes = (width * channels + 3) & ~3
    rows = np.frombuffer(data, dtype=np.uint8, count=row_bytes * abs(height), offset=offset)
    pixels = rows.reshape(abs(height), row_bytes)[:, : width * channels]
    pixels = pixels.reshape(abs(height), width, channels)
    if height > 0:  # stored bottom-up
        pixels = pixels[::-1]
    # BGR(A) -> RGB, a channel at a time (three times faster than making a view with a
    # negative channel step contiguous).
    rgb = np.empty((abs(height), width, 3), dtype=np.uint8)
    for channel in range(3):
        rgb[:, :, channel] = pixels[:, :, 2 - channel]
    return rgb
