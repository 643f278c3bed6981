"""Turn one frame's raw passes into the dataset's files (no Blender needed).

The compositor writes the raw passes of each frame into ``.raw/`` (see
:mod:`ground_truth.dataset.layout`). :func:`convert_frame` reads them, makes the label
arrays (:mod:`.passes`) and hands them to the converter of every requested output
that has per-frame files (:data:`CONVERTERS`, keyed like :mod:`ground_truth.dataset.outputs`).
Meta and COCO need the frame's camera and instances as well and are written by the
render's dataset writer. This is also what a farm's raw output is finalized with.
"""

from __future__ import annotations

import concurrent.futures
import errno
import os
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field

import numpy as np

from ..codecs import bmp, depth_mm, exr, png
from ..dataset import layout
from ..dataset.outputs import BY_KEY
from ..preview import colors, picture
from .passes import (
    FrameLabels,
    camera_normals,
    flow_from_vector,
    labels_from_raw,
    layer_arrays,
    raw_passes,
    relabel,
)

# Preview panels are at most this wide: larger frames are shown at 1/2, 1/3, ...
PREVIEW_WIDTH = 480


@dataclass
class FrameContext:
    """What a converter gets: the dataset folder, the frame and its labels."""

    root: str
    raw_dir: str
    frame: int
    labels: FrameLabels
    world_to_camera_cv: np.ndarray | None
    class_colors: Mapping[int, tuple[float, float, float]]
    class_names: Mapping[int, str]
    _image: np.ndarray | None = field(default=None, repr=False)

    def image(self) -> np.ndarray | None:
        """The frame's image (HxWx3 uint8) from the compositor's uncompressed copy, or
        None where there is none (labels-only renders)."""
        if self._image is None:
            path = layout.image_copy_path(self.raw_dir, self.frame)
            if not os.path.isfile(path):
                return None
            try:
                self._image = bmp.read_bmp(path)
            except ValueError as error:
                raise ValueError(f"{path}: {error}") from error
        return self._image

    def path(self, key: str) -> str:
        """Where the output ``key`` of this frame goes (its folder is created)."""
        path = layout.frame_path(self.root, key, self.frame)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        return path

    def raw(self, key: str) -> dict[str, np.ndarray]:
        """The channels of the raw EXR the compositor wrote for output ``key``'s pass."""
        return read_raw(layout.raw_path(self.raw_dir, self.frame, BY_KEY[key].raw.suffix))


def read_raw(path: str) -> dict[str, np.ndarray]:
    """The channels of a raw EXR; a damaged one raises :class:`ValueError` naming it."""
    try:
        return exr.read_exr(path)
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from error


def _image_copy(ctx: FrameContext) -> np.ndarray:
    image = ctx.image()
    if image is None:
        path = layout.image_copy_path(ctx.raw_dir, ctx.frame)
        raise FileNotFoundError(errno.ENOENT, "Blender did not write the image copy", path)
    return image


def _rgb(ctx: FrameContext) -> None:
    # zlib level 1, as Blender's own PNGs at its default 15 % compression.
    png.write_png(ctx.path("rgb"), _image_copy(ctx), compression=1, filter="up")


def _write_label_map(path: str, ids: np.ndarray) -> None:
    # Flat regions: "up" makes most rows zeros, and zlib's run-length strategy at level 1
    # packs them about as small as level 6 does, three times faster.
    png.write_png(path, ids, compression=1, filter="up", strategy="rle")


def _depth(ctx: FrameContext) -> None:
    (channel,) = BY_KEY["depth"].channels
    exr.write_exr(ctx.path("depth"), {channel: ctx.labels.depth}, zlib_level=1)


def _depth_mm(ctx: FrameContext) -> None:
    png.write_png(ctx.path("depth_mm"), depth_mm.depth_to_mm_png_array(ctx.labels.depth))


def _class(ctx: FrameContext) -> None:
    _write_label_map(ctx.path("class"), ctx.labels.klass)


def _instance(ctx: FrameContext) -> None:
    _write_label_map(ctx.path("instance"), ctx.labels.instance)


def _instance32(ctx: FrameContext) -> None:
    (channel,) = BY_KEY["instance32"].channels
    ids = ctx.labels.instance.astype(np.uint32)
    exr.write_exr(ctx.path("instance32"), {channel: ids}, zlib_level=1)


def _part(ctx: FrameContext) -> None:
    _write_label_map(ctx.path("part"), ctx.labels.part)


def _normal(ctx: FrameContext) -> None:
    if ctx.world_to_camera_cv is None:
        raise ValueError("Normals in the camera frame need the camera's world_to_camera_cv")
    world = np.stack(layer_arrays(ctx.raw("normal"), BY_KEY["normal"].raw.layer, 3), axis=-1)
    labels = ctx.labels
    labels.normal = camera_normals(world, ctx.world_to_camera_cv, labels.background)
    channels = dict(zip(BY_KEY["normal"].channels, np.moveaxis(labels.normal, -1, 0), strict=True))
    exr.write_exr(ctx.path("normal"), channels, compression="NONE")


def _flow(ctx: FrameContext) -> None:
    vector = np.stack(layer_arrays(ctx.raw("flow"), BY_KEY["flow"].raw.layer, 4), axis=-1)
    ctx.labels.flow = flow_from_vector(vector, ctx.labels.background)
    exr.write_exr(ctx.path("flow"), ctx.labels.flow, compression="NONE")


def _preview(ctx: FrameContext) -> None:
    image = preview_picture(ctx, ctx.labels)
    png.write_png(ctx.path("preview"), image, compression=1, filter="up")


# The converter of every output whose per-frame files Ground Truth makes from the raw
# passes, run in the order of the output declarations (the preview, last, shows what
# the others made), except those of :data:`BESIDE`, which run beside them.
CONVERTERS: Mapping[str, Callable[[FrameContext], None]] = {
    "rgb": _rgb,
    "depth": _depth,
    "class": _class,
    "instance": _instance,
    "instance32": _instance32,
    "part": _part,
    "normal": _normal,
    "flow": _flow,
    "depth_mm": _depth_mm,
    "preview": _preview,
}


# The outputs whose files are compressed on threads of their own while the other files
# are written (zlib lets go of Python's lock): a frame's two largest jobs, so that where
# cores are free (a render on the GPU, or between Cycles' busy stretches) a frame takes
# about the time of the longest instead of the sum.
BESIDE = ("rgb", "depth")


def convert_frame(
    root: str,
    frame: int,
    outputs: Collection[str],
    *,
    raw_dir: str,
    unit_scale: float,
    lookup: np.ndarray,
    class_colors: Mapping[int, tuple[float, float, float]],
    class_names: Mapping[int, str],
    world_to_camera_cv: np.ndarray | None = None,
    refine: Callable[[FrameLabels], np.ndarray] | None = None,
    remove_raw: bool = True,
) -> FrameLabels:
    """Convert frame ``frame``'s raw passes in ``raw_dir`` into the files of ``outputs``
    in the dataset folder ``root``.

    ``lookup`` maps instance IDs to classes (:func:`.passes.class_lookup`); ``refine``
    gives the instance map from the frame's labels (copies told apart, :mod:`.copies`).
    Normals need the camera's ``world_to_camera_cv`` at that frame. Returns the frame's
    labels.
    """
    labels = _frame_labels(raw_dir, frame, outputs, unit_scale, lookup, refine)
    context = FrameContext(
        root, raw_dir, frame, labels, world_to_camera_cv, class_colors, class_names
    )
    with concurrent.futures.ThreadPoolExecutor(len(BESIDE), thread_name_prefix="gt-") as pool:
        if "rgb" in outputs:
            _image_copy(context)  # read first: a missing copy fails the frame at once
        beside = [pool.submit(CONVERTERS[key], context) for key in BESIDE if key in outputs]
        for key, converter in CONVERTERS.items():
            if key in outputs and key not in BESIDE:
                converter(context)
        for job in beside:
            job.result()
    if remove_raw:
        for path in layout.raw_frame_files(raw_dir, frame):
            if os.path.exists(path):
                os.remove(path)
    return labels


def _frame_labels(raw_dir, frame, outputs, unit_scale, lookup, refine):
    """The labels of frame ``frame`` from its raw passes (see :func:`convert_frame`)."""
    raw_path = layout.raw_path(raw_dir, frame)
    passes = raw_passes(read_raw(raw_path))
    if "part" in outputs and "material" not in passes:
        raise ValueError(
            f"{raw_path} has no Material Index pass: tick Part, set up the compositor "
            "again (Set Up Compositor) and render again for part maps"
        )
    labels = labels_from_raw(
        passes["depth"],
        passes["index"],
        unit_scale,
        lookup,
        passes["material"] if "part" in outputs else None,
    )
    if refine is not None:
        labels = relabel(labels, refine(labels), lookup)
    return labels


def preview_picture(ctx, labels):
    """The preview picture of a frame, each panel at most ``PREVIEW_WIDTH`` pixels wide.

    The image comes from the compositor's uncompressed copy (fast to read), else
    from the RGB PNG, else is black (labels-only renders).
    """
    height, width = labels.depth.shape
    step = max(1, -(-width // PREVIEW_WIDTH))
    rgb = ctx.image()
    rgb_path = layout.frame_path(ctx.root, "rgb", ctx.frame)
    if rgb is None and os.path.exists(rgb_path):
        rgb = png.read_png(rgb_path)[..., :3]
    elif rgb is None:
        rgb = np.zeros((height, width, 3), dtype=np.uint8)
    every = (slice(None, None, step), slice(None, None, step))
    instance = labels.instance[every]
    instance_colors = {i: colors.instance_color(i) for i in labels.instance_pixels}
    extra = []
    if labels.part is not None:
        extra.append(picture.part_panel(labels.part[every]))
    if labels.normal is not None:
        extra.append(picture.normal_panel(labels.normal[every]))
    if labels.flow is not None:
        flow = labels.flow
        forward = np.stack([flow["forward.X"][every], flow["forward.Y"][every]], axis=-1)
        extra.append(picture.flow_panel(forward, flow["forward.valid"][every] > 0))
    return picture.compose_preview(
        rgb[every],
        labels.depth[every],
        labels.klass[every],
        instance,
        ctx.class_colors,
        ctx.class_names,
        instance_colors,
        extra_panels=extra,
    )
