"""``ground_truth check``: does every file of a dataset agree with dataset.json and the others?

Checks, each reported with the file it concerns (:class:`Finding`):

- ``dataset.json`` is Ground Truth's, of this format version, with a positive resolution,
  unique class and instance IDs within 1..32767, every instance's class in the class
  table, and a frame list of unique integers;
- every listed frame has its meta, depth, class and instance files, and its RGB image
  unless the dataset has none (labels-only); every other per-frame output of the
  registry (:data:`OPTIONAL_KINDS`: part, normal, flow, depth_mm, amodal, ...) present for
  one frame must be present for all; every file reads completely (PNG CRCs, EXR chunks,
  the reader's checks) at the dataset's resolution, with the channels and bit depths the
  format defines;
- meta: its frame number and size are the frame's and the dataset's; each instance's ID,
  object and class match dataset.json; its ``visible_pixels`` and ``bbox`` are the
  instance map's pixel count and box of that ID; every ID in the instance map is listed;
- the maps agree pixel by pixel: the class map is the class of the instance map's
  instance (0 where the instance is 0); depth is finite and positive wherever an
  instance is, and ``inf`` or finite elsewhere, never NaN; ``depth_mm`` is depth
  rounded to millimetres;
- ``annotations/coco_instances.json`` equals a rebuild from the frame files
  (:func:`~ground_truth.dataset.coco.coco_from_frames`).

Warnings (not problems): frame files that dataset.json does not list, unconverted raw
passes in ``.raw/``.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass

import numpy as np

from ..codecs import depth_mm, png
from ..dataset import coco, description, layout, meta, models
from ..dataset.maps import read_instance_map
from ..dataset.outputs import BY_KEY, OUTPUTS
from ..dataset.reader import read_depth, read_output_file
from ..labels.ids import MAX_ID
from ..labels.masks import bboxes_from_instance_map

# Every folder of per-frame files a dataset can hold.
FRAME_FOLDERS = tuple(output.folder for output in OUTPUTS if output.folder)

_STEM = re.compile(r"^-?\d+$")
# Per-frame outputs checked one by one below (the preview picture is for people).
_CHECKED_APART = ("rgb", "meta", "depth", "class", "instance", "instance32", "preview")
# Every other per-frame output: required on every frame once one frame has it.
OPTIONAL_KINDS = tuple(o.key for o in OUTPUTS if o.frame_files and o.key not in _CHECKED_APART)


@dataclass(frozen=True)
class Finding:
    """One problem or warning: the file it concerns and what is wrong."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


@dataclass
class CheckResult:
    """Everything a check found; ``ok`` when there is no problem."""

    root: str
    frames: int = 0
    problems: list[Finding] | None = None
    warnings: list[Finding] | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


class _Collector:
    def __init__(self):
        self.problems: list[Finding] = []
        self.warnings: list[Finding] = []

    def problem(self, path: str, message: str) -> None:
        self.problems.append(Finding(path, message))

    def warn(self, path: str, message: str) -> None:
        self.warnings.append(Finding(path, message))


def _frame_file(root: str, kind: str, frame: int) -> str:
    return layout.frame_path(root, kind, frame)


def _check_description(root: str, data: dict, out: _Collector) -> dict[int, dict]:
    """Check dataset.json's own consistency; returns {instance id: entry}."""
    path = os.path.join(root, layout.DATASET_FILE)
    resolution = data.get("resolution") or {}
    width, height = resolution.get("width"), resolution.get("height")
    if not (isinstance(width, int) and isinstance(height, int) and width > 0 and height > 0):
        out.problem(path, f"resolution must be positive integers, got {resolution!r}")
    class_ids = [c.get("id") for c in data.get("classes", [])]
    for class_id in class_ids:
        if not isinstance(class_id, int) or not 1 <= class_id <= MAX_ID:
            out.problem(path, f"class ID {class_id!r} is not an integer in 1..{MAX_ID}")
    for class_id in sorted({c for c in class_ids if class_ids.count(c) > 1}, key=str):
        out.problem(path, f"class ID {class_id} is used by more than one class")
    known = set(class_ids)
    instances: dict[int, dict] = {}
    for entry in data.get("instances", []):
        instance_id = entry.get("id")
        if not isinstance(instance_id, int) or not 1 <= instance_id <= MAX_ID:
            out.problem(path, f"instance ID {instance_id!r} is not an integer in 1..{MAX_ID}")
            continue
        if instance_id in instances:
            out.problem(path, f"instance ID {instance_id} is listed twice")
        if entry.get("class_id") not in known:
            out.problem(
                path,
                f"instance {instance_id} ({entry.get('object')!r}) has class "
                f"{entry.get('class_id')!r}, which is not in the class table",
            )
        instances[instance_id] = entry
    frames = data.get("frames", [])
    if not isinstance(frames, list) or not all(isinstance(f, int) for f in frames):
        out.problem(path, "frames must be a list of integers")
    elif len(set(frames)) != len(frames):
        out.problem(path, "frames lists a frame twice")
    return instances


def _read_png(path: str, out: _Collector) -> np.ndarray | None:
    try:
        return png.read_png(path)
    except (OSError, ValueError) as error:
        out.problem(path, f"cannot be read ({error})")
        return None


def _check_size(path: str, shape: tuple[int, ...], size: tuple[int, int], out: _Collector) -> bool:
    height, width = shape[:2]
    if (width, height) != size:
        out.problem(path, f"is {width}x{height}, dataset.json says {size[0]}x{size[1]}")
        return False
    return True


def _check_id_map(path: str, image: np.ndarray | None, size, out: _Collector) -> bool:
    if image is None:
        return False
    if image.ndim != 2 or image.dtype not in (np.uint16, np.uint32):
        out.problem(path, "must be a single-channel 16-bit PNG (or 32-bit EXR)")
        return False
    return _check_size(path, image.shape, size, out)


def _check_meta(root, frame, frame_meta, size, instances, classes, out) -> dict[int, dict]:
    """Check a frame's meta against dataset.json; returns {instance id: first entry}."""
    path = meta.meta_path(root, frame)
    if frame_meta.get("frame") != frame:
        out.problem(path, f"says frame {frame_meta.get('frame')!r}, not {frame}")
    if (frame_meta.get("width"), frame_meta.get("height")) != size:
        out.problem(
            path,
            f"says {frame_meta.get('width')}x{frame_meta.get('height')}, "
            f"dataset.json says {size[0]}x{size[1]}",
        )
    k_matrix = np.asarray(frame_meta.get("camera", {}).get("K", []), dtype=np.float64)
    if k_matrix.shape != (3, 3) or not np.all(np.isfinite(k_matrix)):
        out.problem(path, "camera K must be a finite 3x3 matrix")
    entries: dict[int, dict] = {}
    for entry in frame_meta.get("instances", []):
        instance_id = entry.get("id")
        listed = instances.get(instance_id)
        if listed is None:
            out.problem(path, f"instance {instance_id!r} is not in dataset.json's instances")
        elif entry.get("class_id") != listed.get("class_id"):
            out.problem(
                path,
                f"instance {instance_id} has class {entry.get('class_id')!r}, "
                f"dataset.json says {listed.get('class_id')!r}",
            )
        if entry.get("class_id") not in classes:
            out.problem(
                path,
                f"instance {instance_id} has class {entry.get('class_id')!r}, "
                "not in the class table",
            )
        model = entry.get("model")
        if model is not None:
            try:
                found = os.path.isfile(models.model_path(root, model))
            except ValueError as error:
                out.problem(path, f"instance {instance_id}: {error}")
            else:
                if not found:
                    out.problem(
                        path, f"instance {instance_id} names model {model}, which is missing"
                    )
        if isinstance(instance_id, int):
            entries.setdefault(instance_id, entry)
    return entries


def _check_maps(root, frame, entries, klass, instance, depth, out) -> None:
    """The class, instance and depth maps against each other and the meta."""
    meta_path = meta.meta_path(root, frame)
    instance_path = layout.frame_path(root, "instance", frame)
    boxes = bboxes_from_instance_map(instance)
    for instance_id in sorted(set(boxes) - set(entries)):
        out.problem(instance_path, f"holds instance {instance_id}, which {meta_path} does not list")
    for instance_id, entry in sorted(entries.items()):
        bbox, pixels = boxes.get(instance_id, (None, 0))
        if entry.get("visible_pixels") != pixels or entry.get("bbox") != bbox:
            out.problem(
                meta_path,
                f"instance {instance_id}: visible_pixels {entry.get('visible_pixels')!r} and "
                f"bbox {entry.get('bbox')!r}, but {instance_path} has {pixels} pixel(s) in "
                f"box {bbox}",
            )
    if klass is not None:
        lookup = np.zeros(int(instance.max()) + 1, dtype=np.int64)
        for instance_id, entry in entries.items():
            if 0 < instance_id < lookup.size and isinstance(entry.get("class_id"), int):
                lookup[instance_id] = entry["class_id"]
        wrong = klass.astype(np.int64) != lookup[instance]
        if wrong.any():
            rows, cols = np.nonzero(wrong)
            out.problem(
                layout.frame_path(root, "class", frame),
                f"{rows.size} pixel(s) disagree with the instance map's classes, first at "
                f"row {rows[0]}, column {cols[0]}: class {int(klass[rows[0], cols[0]])}, "
                f"instance {int(instance[rows[0], cols[0]])} has class "
                f"{int(lookup[instance[rows[0], cols[0]]])}",
            )
    if depth is not None:
        depth_path = layout.frame_path(root, "depth", frame)
        if np.isnan(depth).any():
            out.problem(depth_path, f"holds {int(np.isnan(depth).sum())} NaN value(s)")
        bad = (instance > 0) & ~(np.isfinite(depth) & (depth > 0))
        if bad.any():
            rows, cols = np.nonzero(bad)
            out.problem(
                depth_path,
                f"{rows.size} labelled pixel(s) have no finite positive depth, first at row "
                f"{rows[0]}, column {cols[0]}",
            )
        if (np.isfinite(depth) & (depth <= 0)).any():
            out.problem(depth_path, "holds depths of 0 or below")


def _check_optional(root, frame, kind, size, depth, out) -> None:
    path = _frame_file(root, kind, frame)
    output = BY_KEY[kind]
    try:
        if output.extension == ".png":
            arrays = {kind: png.read_png(path)}  # as stored: the reader widens the dtype
        else:
            arrays = read_output_file(kind, path)
    except (OSError, ValueError) as error:
        out.problem(path, f"cannot be read ({error})")
        return
    for value in arrays.values():
        values = value.values() if isinstance(value, dict) else [value]
        shapes = {v.shape for v in values if isinstance(v, np.ndarray) and v.ndim >= 2}
        if not all(_check_size(path, shape, size, out) for shape in shapes):
            return
    array = arrays.get(kind)
    label_png = output.extension == ".png" and output.conventions.get("dtype") == "uint16"
    if label_png and (array.ndim != 2 or array.dtype != np.uint16):
        out.problem(path, "must be a single-channel 16-bit PNG")
        return
    if kind == "depth_mm" and depth is not None:
        expected = depth_mm.depth_to_mm_png_array(depth)
        if not np.array_equal(array, expected):
            count = int((array != expected).sum())
            out.problem(path, f"{count} pixel(s) are not the depth rounded to millimetres")


def _strays(root: str, listed: set[int], out: _Collector) -> None:
    for kind in FRAME_FOLDERS:
        folder = os.path.join(root, kind)
        if not os.path.isdir(folder):
            continue
        for name in sorted(os.listdir(folder)):
            stem = os.path.splitext(name)[0]
            if _STEM.match(stem) and int(stem) not in listed:
                out.warn(os.path.join(folder, name), "is not a frame listed in dataset.json")
    raw = os.path.join(root, layout.RAW_DIR)
    if os.path.isdir(raw) and any(n.endswith(".exr") for n in os.listdir(raw)):
        out.warn(raw, "holds raw passes not yet converted; run `ground_truth finalize`")


def _check_coco(root: str, out: _Collector) -> None:
    path = coco.coco_path(root)
    if not os.path.isfile(path):
        out.problem(path, "is missing")
        return
    try:
        with open(path, encoding="utf-8") as file:
            stored = json.load(file)
    except (OSError, ValueError) as error:
        out.problem(path, f"cannot be read ({error})")
        return
    try:
        rebuilt = coco.coco_from_frames(root)
    except (OSError, ValueError) as error:
        out.problem(path, f"cannot be rebuilt from the frame files ({error})")
        return
    if stored == rebuilt:
        return
    differences = []
    for key in ("categories", "images", "annotations", "info", "licenses"):
        if stored.get(key) != rebuilt.get(key):
            differences.append(key)
    stored_images = {i.get("id") for i in stored.get("images", [])}
    rebuilt_images = {i["id"] for i in rebuilt["images"]}
    detail = ""
    if stored_images != rebuilt_images:
        detail = (
            f"; images missing: {sorted(rebuilt_images - stored_images)[:10]}, "
            f"extra: {sorted(stored_images - rebuilt_images, key=str)[:10]}"
        )
    else:
        by_image: dict = {}
        for source, document in (("stored", stored), ("rebuilt", rebuilt)):
            for annotation in document.get("annotations", []):
                annotation = {k: v for k, v in annotation.items() if k != "id"}
                by_image.setdefault(annotation.get("image_id"), {}).setdefault(source, []).append(
                    annotation
                )
        stale = [i for i, pair in by_image.items() if pair.get("stored") != pair.get("rebuilt")]
        if stale:
            detail = f"; annotations differ for image(s) {sorted(stale, key=str)[:10]}"
    out.problem(
        path,
        f"differs from a rebuild from the frame files ({', '.join(differences)}){detail}; "
        "`ground_truth finalize` rewrites it",
    )


def check_dataset(root: str | os.PathLike[str]) -> CheckResult:
    """Check the dataset in ``root`` (see the module docstring); never changes a file."""
    root = os.path.abspath(os.fspath(root))
    out = _Collector()
    result = CheckResult(root=root, problems=out.problems, warnings=out.warnings)
    path = os.path.join(root, layout.DATASET_FILE)
    if not os.path.isdir(root):
        out.problem(root, "is not a folder")
        return result
    try:
        data = description.read(root, strict=True)
    except description.ForeignDatasetError as error:
        out.problem(path, str(error).replace(f"{path} ", "", 1))
        return result
    if data is None:
        out.problem(path, "is missing: not a Ground Truth dataset")
        return result
    instances = _check_description(root, data, out)
    resolution = data.get("resolution") or {}
    size = (resolution.get("width"), resolution.get("height"))
    classes = {c.get("id") for c in data.get("classes", [])}
    frames = [f for f in data.get("frames", []) if isinstance(f, int)]
    result.frames = len(frames)
    present = {
        kind: any(os.path.isfile(_frame_file(root, kind, f)) for f in frames)
        for kind in ("rgb", "instance", "instance32", *OPTIONAL_KINDS)
    }
    for frame in sorted(set(frames)):
        _check_frame(root, frame, size, instances, classes, present, out)
    _strays(root, set(frames), out)
    _check_coco(root, out)
    return result


def _check_frame(root, frame, size, instances, classes, present, out) -> None:
    # The instance map as a 16-bit PNG, a 32-bit EXR, or both (instance32).
    id_maps = [k for k in ("instance", "instance32") if present[k]] or ["instance"]
    required = ["meta", "depth", "class", *id_maps]
    if present["rgb"]:
        required.insert(0, "rgb")
    required += [kind for kind in OPTIONAL_KINDS if present[kind]]
    missing = {kind for kind in required if not os.path.isfile(_frame_file(root, kind, frame))}
    for kind in sorted(missing):
        why = " (other frames have one)" if kind in OPTIONAL_KINDS or kind == "rgb" else ""
        out.problem(_frame_file(root, kind, frame), f"is missing{why}")
    if "rgb" not in missing and present["rgb"]:
        path = layout.frame_path(root, "rgb", frame)
        image = _read_png(path, out)
        if image is not None:
            _check_size(path, image.shape, size, out)
    entries: dict[int, dict] | None = None
    if "meta" not in missing:
        path = meta.meta_path(root, frame)
        try:
            with open(path, encoding="utf-8") as file:
                frame_meta = json.load(file)
        except (OSError, ValueError) as error:
            out.problem(path, f"cannot be read ({error})")
        else:
            entries = _check_meta(root, frame, frame_meta, size, instances, classes, out)
    maps = {}
    for kind in ("class", *id_maps):
        if kind in missing:
            continue
        path = layout.frame_path(root, kind, frame)
        if kind == "class":
            image = _read_png(path, out)
        else:
            try:
                image = read_instance_map(path)
            except (OSError, ValueError) as error:
                out.problem(path, f"cannot be read ({error})")
                image = None
        if not _check_id_map(path, image, size, out):
            continue
        if kind in maps and not np.array_equal(maps[kind], image):
            out.problem(path, "holds other IDs than instance/NNNNNN.png")
        maps.setdefault("instance" if kind == "instance32" else kind, image)
    depth = None
    if "depth" not in missing:
        path = layout.frame_path(root, "depth", frame)
        try:
            depth = read_depth(path)
        except (OSError, ValueError) as error:
            out.problem(path, f"cannot be read ({error})")
        else:
            if not _check_size(path, depth.shape, size, out):
                depth = None
    if "instance" in maps and entries is not None:
        _check_maps(root, frame, entries, maps.get("class"), maps["instance"], depth, out)
    for kind in OPTIONAL_KINDS:
        if present[kind] and kind not in missing:
            _check_optional(root, frame, kind, size, depth, out)
