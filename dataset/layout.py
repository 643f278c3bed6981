"""Where everything of a dataset lies: folders, file names, suffixes, layers, channels.

A dataset folder holds ``dataset.json``, one file per frame and output in the output's
folder (declared with the output in :mod:`.outputs`: ``depth/000003.exr``), the COCO
file, and, while frames are being made, the compositor's raw passes in ``.raw/``. Frame
files are named by the frame number zero-padded to :data:`FRAME_DIGITS` digits.

The compositor writes, per frame, into a raw folder: ``.raw/<host>-<pid>/`` for each
process rendering with Ground Truth (so that processes never write over each other's
passes), ``.raw/`` itself for a farm rendering the saved compositor setup:

- ``NNNNNN.exr``: one layer :data:`RAW_LAYER` with three channels, X = Depth,
  Y = Object Index, Z = Material Index when the part map is asked for and
  :data:`NO_MATERIAL_INDEX` in every pixel otherwise (one layer: Blender 5.0 fails to
  write multi-part EXRs when the pixel aspect is not 1);
- ``NNNNNN<suffix>.exr``: a pass an output needs in a file of its own
  (:class:`.outputs.RawPass`: the normals' ``_normal``, the flow's ``_vector``);
- ``NNNNNN.bmp``: an uncompressed copy of the image (8-bit, the scene's view transform
  applied), encoded into the RGB PNG and read for the preview picture on the writer
  thread, while the next frame renders.
"""

from __future__ import annotations

import os

from .outputs import BY_KEY

FRAME_DIGITS = 6

DATASET_FILE = "dataset.json"
RAW_DIR = ".raw"

RAW_LAYER = "Raw"
RAW_CHANNELS = ("X", "Y", "Z")  # Depth, Object Index, Material Index
# The raw layer's Z without the Material Index pass (Cycles' indices are never negative).
NO_MATERIAL_INDEX = -1.0
IMAGE_COPY_EXTENSION = ".bmp"


def frame_stem(frame: int) -> str:
    """Return the file stem for ``frame``: ``3 -> "000003"``.

    Negative frames keep the sign within the same width: ``-3 -> "-00003"``. Frames
    with more digits than :data:`FRAME_DIGITS` are not truncated.
    """
    return f"{int(frame):0{FRAME_DIGITS}d}"


def frame_path(root: str | os.PathLike[str], key: str, frame: int) -> str:
    """Return ``root/<folder>/<stem><extension>`` of the output ``key`` for ``frame``.

    Outputs without per-frame files (and unknown keys) raise :class:`ValueError`.
    """
    output = BY_KEY.get(key)
    if output is None or output.folder is None:
        files = sorted(k for k, o in BY_KEY.items() if o.folder)
        raise ValueError(f"{key!r} has no per-frame files; outputs that do: {files}")
    return os.path.join(os.fspath(root), output.folder, frame_stem(frame) + output.extension)


def frame_relative_path(key: str, frame: int) -> str:
    """``frame_path`` relative to the dataset folder, with ``/`` (as COCO names files)."""
    output = BY_KEY[key]
    return f"{output.folder}/{frame_stem(frame)}{output.extension}"


def dataset_file_path(root: str | os.PathLike[str], key: str) -> str:
    """Where a dataset-wide output (one file, e.g. COCO) lies under ``root``."""
    return os.path.join(os.fspath(root), *BY_KEY[key].file.split("/"))


def dataset_json_path(root: str | os.PathLike[str]) -> str:
    """``root/dataset.json``."""
    return os.path.join(os.fspath(root), DATASET_FILE)


def raw_folder(root: str | os.PathLike[str], owner: str | None = None) -> str:
    """The raw folder of the process ``owner`` (``<host>-<pid>``), or the farm's ``.raw``."""
    folder = os.path.join(os.fspath(root), RAW_DIR)
    return folder if owner is None else os.path.join(folder, owner)


def raw_path(raw_dir: str | os.PathLike[str], frame: int, suffix: str = "") -> str:
    """The compositor's raw EXR of ``frame`` in ``raw_dir`` (``suffix``: a pass's own file)."""
    return os.path.join(os.fspath(raw_dir), frame_stem(frame) + suffix + ".exr")


def image_copy_path(raw_dir: str | os.PathLike[str], frame: int) -> str:
    """The compositor's uncompressed copy of the image of ``frame`` (RGB and preview)."""
    return os.path.join(os.fspath(raw_dir), frame_stem(frame) + IMAGE_COPY_EXTENSION)


def raw_frame_files(raw_dir: str | os.PathLike[str], frame: int) -> list[str]:
    """Every raw file the compositor may write for ``frame`` (existing or not)."""
    suffixes = ["", *(o.raw.suffix for o in BY_KEY.values() if o.raw)]
    return [raw_path(raw_dir, frame, s) for s in suffixes] + [image_copy_path(raw_dir, frame)]
