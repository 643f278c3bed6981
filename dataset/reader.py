"""Load a Ground Truth dataset into numpy arrays, without Blender.

Usage::

    from ground_truth.dataset.reader import load_dataset

    for sample in load_dataset("/path/to/dataset"):
        rgb, depth = sample["rgb"], sample["depth"]

Every dict from :func:`load_frame` has the same keys; a file that does not exist
gives ``None``:

========== ====================== ======================================================
key        type                   content
========== ====================== ======================================================
frame      int                    the frame number
rgb        uint8 HxWx3            ``rgb/NNNNNN.png``, sRGB (alpha and 16-bit reduced)
alpha      uint8 HxW or None      the RGB PNG's alpha channel, if it has one
depth      float32 HxW            ``depth/NNNNNN.exr``: planar depth in metres, inf =
                                  background
depth_mm   uint16 HxW             ``depth_mm/NNNNNN.png``: millimetres, 0 = no data
class      uint16 HxW             ``class/NNNNNN.png``: class IDs, 0 = background
instance   uint16 HxW             ``instance/NNNNNN.png``: instance IDs, 0 = background
part       uint16 HxW             ``part/NNNNNN.png``: part IDs, 0 = none or background
normal     float32 HxWx3          ``normal/NNNNNN.exr``: unit normals (x, y, z) in the OpenCV
                                  camera frame, 0 = background
flow       float32 HxWx2          ``flow/NNNNNN.exr``: forward flow to the next frame in
                                  pixels (x right, y down)
flow_valid bool HxW               where the forward flow is valid
flow_back  float32 HxWx2          backward flow to the previous frame
flow_back_valid bool HxW          where the backward flow is valid
meta       dict                   ``meta/NNNNNN.json`` (schema in :mod:`.meta`)
amodal     dict                   ``amodal/NNNNNN.json``: ``{instance ID: HxW bool}``, each
                                  instance's amodal mask (schema in :mod:`.amodal`)
preview    uint8 HxWx3            ``preview/NNNNNN.png`` (only when asked for in ``keys``)
========== ====================== ======================================================

``load_frame(folder, frame, keys=("depth", "instance"))`` reads only those entries.
The COCO file is read by :func:`load_coco`.

Depth EXRs are read with the ``OpenEXR`` Python package when it is installed
(``pip install OpenEXR``); without it the package's own numpy reader
(:func:`.exr.read_exr`) is used. Both give the same float32 values.
"""

from __future__ import annotations

import json
import os
import struct
import zlib
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np

from ..codecs import exr, png
from ..errors import DatasetError
from . import amodal, description, layout, maps, records
from .outputs import BY_KEY, OUTPUTS, Output

(DEPTH_CHANNEL,) = BY_KEY["depth"].channels
EXR_BACKENDS = ("auto", "openexr", "builtin")


def read_dataset(folder: str | os.PathLike[str]) -> dict:
    """Return the parsed ``dataset.json`` of ``folder``.

    Raises :class:`~ground_truth.errors.DatasetError` naming the file when it is missing,
    damaged or not a Ground Truth file.
    """
    data = description.read(os.fspath(folder), strict=True)
    if data is None:
        raise DatasetError(f"no Ground Truth {layout.DATASET_FILE} in {os.fspath(folder)}")
    return data


# What reading a damaged file can raise in the codecs, besides OSError.
_DAMAGE = (
    ValueError,
    KeyError,
    IndexError,
    TypeError,
    struct.error,
    zlib.error,
    RecursionError,
    EOFError,
)


def _reading(path: str):
    """Turn any failure while reading ``path`` into a :class:`DatasetError` naming it."""
    return _Reading(path)


class _Reading:
    def __init__(self, path):
        self.path = path

    def __enter__(self):
        return self

    def __exit__(self, kind, error, traceback):
        if error is None or isinstance(error, DatasetError):
            return False
        if isinstance(error, (OSError, *_DAMAGE)):
            raise DatasetError(f"{self.path}: {error}") from error
        return False


def _pick_channel(channels: dict[str, np.ndarray], path: str) -> np.ndarray:
    """The depth channel: ``Y``, else the only channel; anything else raises."""
    if DEPTH_CHANNEL in channels:
        return channels[DEPTH_CHANNEL]
    if len(channels) == 1:
        return next(iter(channels.values()))
    raise ValueError(f"{path} has no {DEPTH_CHANNEL!r} channel (channels: {sorted(channels)})")


def _read_exr_openexr(path: str) -> dict[str, np.ndarray]:
    """Read all channels of an EXR with the OpenEXR package (3.x API, else 1.x API)."""
    import OpenEXR  # optional dependency of the reader only

    if hasattr(OpenEXR, "File"):
        with OpenEXR.File(path, separate_channels=True) as file:
            return {name: np.asarray(c.pixels) for name, c in file.channels().items()}
    import Imath  # the 1.x bindings ship Imath alongside OpenEXR

    file = OpenEXR.InputFile(path)
    try:
        header = file.header()
        window = header["dataWindow"]
        width = window.max.x - window.min.x + 1
        height = window.max.y - window.min.y + 1
        float_type = Imath.PixelType(Imath.PixelType.FLOAT)
        return {
            name: np.frombuffer(file.channel(name, float_type), dtype=np.float32).reshape(
                height, width
            )
            for name in header["channels"]
        }
    finally:
        file.close()


def _read_channels(path: str, backend: str, data: bytes | None = None) -> dict[str, np.ndarray]:
    """All channels of an EXR with the chosen backend (see :func:`read_depth`).

    ``data``, the file's bytes when the caller has read them, saves reading it again.
    """
    if backend not in EXR_BACKENDS:
        raise ValueError(f"unknown EXR backend {backend!r}; expected one of {EXR_BACKENDS}")
    if backend in ("auto", "openexr"):
        try:
            return _read_exr_openexr(path)
        except ImportError:
            if backend == "openexr":
                raise
    return exr.read_exr(path) if data is None else exr.decode_exr(data)


def read_vectors(
    path: str | os.PathLike[str],
    names: tuple[str, ...],
    backend: str = "auto",
    data: bytes | None = None,
) -> np.ndarray:
    """Read the channels ``names`` of an EXR stacked as float32 HxWxN."""
    path = os.fspath(path)
    with _reading(path):
        channels = _read_channels(path, backend, data)
    missing = [n for n in names if n not in channels]
    if missing:
        raise ValueError(f"{path} has no channel(s) {missing} (channels: {sorted(channels)})")
    return np.stack([np.asarray(channels[n], dtype=np.float32) for n in names], axis=-1)


def read_depth(
    path: str | os.PathLike[str], backend: str = "auto", data: bytes | None = None
) -> np.ndarray:
    """Read a depth EXR as float32 HxW metres.

    ``backend``: ``"openexr"`` (the OpenEXR package; ImportError if missing),
    ``"builtin"`` (:func:`.exr.read_exr`) or ``"auto"`` (OpenEXR when importable).
    A damaged file raises :class:`~ground_truth.errors.DatasetError` naming it.
    """
    path = os.fspath(path)
    with _reading(path):
        channels = _read_channels(path, backend, data)
        return np.ascontiguousarray(_pick_channel(channels, path), dtype=np.float32)


def _rgb_and_alpha(image: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """Split a PNG image into uint8 HxWx3 RGB and an optional uint8 HxW alpha."""
    if image.dtype == np.uint16:
        image = ((image.astype(np.uint32) + 128) // 257).astype(np.uint8)
    if image.ndim == 2:
        image = image[:, :, None]
    channels = image.shape[2]
    alpha = image[:, :, channels - 1].copy() if channels in (2, 4) else None
    color = image[:, :, :1] if channels in (1, 2) else image[:, :, :3]
    rgb = np.ascontiguousarray(np.broadcast_to(color, (*image.shape[:2], 3)))
    return rgb, alpha


def _read_rgb(path: str, backend: str, data: bytes) -> dict[str, Any]:
    rgb, alpha = _rgb_and_alpha(png.decode_png(data))
    return {"rgb": rgb, "alpha": alpha}


def _read_flow(path: str, backend: str, data: bytes) -> dict[str, Any]:
    flow = read_vectors(path, BY_KEY["flow"].channels, backend, data)
    return {
        "flow": np.ascontiguousarray(flow[..., 0:2]),
        "flow_valid": flow[..., 2] > 0,
        "flow_back": np.ascontiguousarray(flow[..., 3:5]),
        "flow_back_valid": flow[..., 5] > 0,
    }


def _read_amodal(path: str, backend: str, data: bytes) -> dict[str, Any]:
    try:
        document = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise DatasetError(f"{path} is not valid JSON ({error})") from error
    return {"amodal": amodal.masks(document)}


# Outputs whose file gives more than one array, or arrays packed in JSON. Every other
# output is read by its file type (:func:`_read_output`): one reader key per output.
_SPECIAL_READERS: dict[str, Callable[[str, str, bytes], dict[str, Any]]] = {
    "rgb": _read_rgb,
    "flow": _read_flow,
    "amodal": _read_amodal,
    "instance32": lambda path, backend, data: {"instance": maps.read_instance_map(path, data)},
}


def _read_output(output: Output, path: str, backend: str, data: bytes) -> dict[str, Any]:
    """The arrays of one output's file (``data``: its bytes), by its file type.

    JSON gives a dict; a PNG its integers (uint16 for label maps), or uint8 RGB; an EXR
    its one channel as HxW float32, or its channels stacked as HxWxN.
    """
    special = _SPECIAL_READERS.get(output.key)
    if special is not None:
        return special(path, backend, data)
    (key,) = output.reader_keys
    if output.extension == ".json":
        value = json.loads(data.decode("utf-8"))
        if not isinstance(value, dict):
            raise ValueError("not a JSON object")
        return {key: value}
    if output.extension == ".exr":
        if len(output.channels) == 1:
            return {key: read_depth(path, backend, data)}
        return {key: read_vectors(path, output.channels, backend, data)}
    image = png.decode_png(data)
    if image.ndim == 3:
        return {key: image[..., :3]}
    return {key: image.astype(np.uint16)}


def read_output_file(key: str, path: str, exr_backend: str = "builtin") -> dict[str, Any]:
    """The arrays of output ``key``'s file at ``path``, as :func:`load_frame` gives them.

    Raises :class:`~ground_truth.errors.DatasetError` naming the file when it is missing
    or damaged.
    """
    with _reading(path):
        with open(path, "rb") as file:
            data = file.read()
        return _read_output(BY_KEY[key], path, exr_backend, data)


# What load_frame reads unless told otherwise (the preview picture is for people).
DEFAULT_KEYS = tuple(
    dict.fromkeys(
        key for output in OUTPUTS if output.key != "preview" for key in output.reader_keys
    )
)


def load_frame(
    folder: str | os.PathLike[str],
    frame: int,
    exr_backend: str = "auto",
    keys: Iterable[str] | None = None,
    verify: bool = True,
) -> dict[str, Any]:
    """Load one frame of the dataset in ``folder`` into a dict of numpy arrays.

    Keys, dtypes and missing-file behaviour are in the module docstring: every key
    asked for (``keys``, default :data:`DEFAULT_KEYS`) is present, ``None`` when its
    file does not exist. ``exr_backend`` is passed to :func:`read_depth`. With
    ``verify`` each file is checked against the size and CRC-32 its frame's record
    (``.frames/NNNNNN.json``) keeps, so a damaged file fails instead of giving wrong
    values. Any damaged file raises :class:`~ground_truth.errors.DatasetError` naming it.
    """
    root = os.fspath(folder)
    frame = int(frame)
    wanted = DEFAULT_KEYS if keys is None else tuple(keys)
    sample: dict[str, Any] = {"frame": frame, **dict.fromkeys(wanted)}
    record = records.read_record(root, frame) if verify else None
    stamps = record.get("files", {}) if record else {}
    for output in OUTPUTS:
        if not output.frame_files or not set(output.reader_keys) & set(wanted):
            continue
        path = layout.frame_path(root, output.key, frame)
        if os.path.isfile(path):
            with _reading(path):
                with open(path, "rb") as file:
                    data = file.read()
                if output.key in stamps:
                    records.check_stamp(data, stamps[output.key], path)
                values = _read_output(output, path, exr_backend, data)
            sample.update((k, v) for k, v in values.items() if k in wanted)
    return sample


def load_coco(folder: str | os.PathLike[str]) -> dict | None:
    """The dataset's COCO instances document, or None when it was not written."""
    path = layout.dataset_file_path(folder, "coco")
    if not os.path.isfile(path):
        return None
    with _reading(path), open(path, encoding="utf-8") as file:
        document = json.load(file)
    if not isinstance(document, dict) or not isinstance(document.get("images"), list):
        raise DatasetError(f"{path} is not a COCO document")
    return document


def frame_readable(root: str, frame: int, keys: Iterable[str]) -> bool:
    """True when the files of outputs ``keys`` for ``frame`` exist and read back.

    EXRs are decoded whole (a truncated file fails); PNGs must have a readable header.
    """
    for key in keys:
        path = layout.frame_path(root, key, frame)
        try:
            if path.endswith(".exr"):
                exr.read_exr(path)
            elif path.endswith(".png"):
                png.png_size(path)
            elif not os.path.isfile(path):
                return False
        except (OSError, ValueError):
            return False
    return True


def load_dataset(
    folder: str | os.PathLike[str], exr_backend: str = "auto"
) -> Iterator[dict[str, Any]]:
    """Yield :func:`load_frame` for every frame listed in ``dataset.json``, in order.

    Raises :class:`FileNotFoundError` (on the first ``next``) without a ``dataset.json``.
    """
    data = read_dataset(folder)
    for frame in data.get("frames", []):
        yield load_frame(folder, frame, exr_backend)
