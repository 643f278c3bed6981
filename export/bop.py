"""BOP: 6D object poses, masks and models in the format of the BOP benchmark.

Layout (BOP-scenewise, as the BOP toolkit's ``dataset_params`` names the files of a split
without a split type; ``SPLIT`` is the ``split`` option, default ``train``)::

    camera.json                            fx, fy, cx, cy, width, height, depth_scale
    models/models_info.json                per obj_id: diameter, min_x/y/z, size_x/y/z (mm)
    models/obj_000001.ply                  each object's model in millimetres
    ground-truth-bop.json                  obj_id -> class, model, objects; gt -> instance ID
    SPLIT/000000/scene_camera.json         per image: cam_K, cam_R_w2c, cam_t_w2c, depth_scale
    SPLIT/000000/scene_gt.json             per image: [{cam_R_m2c, cam_t_m2c, obj_id}]
    SPLIT/000000/scene_gt_info.json        per image: [{bbox_obj, bbox_visib, px_count_all,
                                           px_count_valid, px_count_visib, visib_fract}]
    SPLIT/000000/rgb/000000.png            the RGB images, image IDs 0, 1, ... in frame order
    SPLIT/000000/depth/000000.png          uint16: depth in mm = value x depth_scale, 0 = none
    SPLIT/000000/mask/000000_000000.png    uint8 0/255: the whole silhouette of gt 0
    SPLIT/000000/mask_visib/000000_000000.png   uint8 0/255: its visible pixels

The dataset is one scene (``000000``); ``ground-truth-export.json`` maps each image ID to
its frame. RGB images stay PNG (BOP's ``*_pbr`` splits hold JPEGs; the toolkit expects
``.png`` for a split without a type, hence the default ``train``).

What each file holds
--------------------
- Objects: one **obj_id** per distinct (class, model) pair of the exported instances,
  numbered from 1 in order of class ID, then the first name (sorted) of the objects
  showing it, then the model key: the same dataset always gives the same numbers.
  ``ground-truth-bop.json`` lists each obj_id's class, model key, source objects and
  ``offset_mm``, and each image's frame and the instance ID of each of its gts.
  Models are the dataset's (``models`` output) in millimetres, moved so that the centre
  of their 3D bounding box is the origin (BOP's model frame); the pose accounts for the
  move. Binary PLY with float32 vertices, area-weighted vertex normals and triangles.
  ``models_info.json``: ``diameter`` = the largest distance between two vertices
  (exact), ``min_*``/``size_*`` the bounding box, all in mm.
- Annotated instances (``scene_gt`` entries, ``gt_id`` = their index, by instance ID):
  every instance of a thing class with a model whose silhouette reaches into the image
  (it has an amodal mask), hidden or not; stuff classes are left out.
- Camera: ``cam_K`` is the meta's ``K`` with ``cx``, ``cy`` less 0.5: the centre of pixel
  (row r, column c) is at (c, r), OpenCV's convention, as BlenderProc writes BOP data.
  ``cam_R_w2c``, ``cam_t_w2c`` (mm) from the meta's ``world_to_camera_cv``.
  ``camera.json`` is written when every frame shares one ``K`` (else a warning).
- Poses: ``cam_R_m2c``, ``cam_t_m2c`` (mm): the meta's ``model_pose_camera_cv`` (rigid),
  after the model's move to its box centre.
- Depth: the dataset's planar depth EXR in mm divided by ``depth_scale`` and rounded; 0
  where there is no surface. ``depth_scale`` is one value for the export: the smallest
  of 0.1, 0.2, 0.5, 1, 2, 5, 10, ... mm that keeps the largest finite depth of every
  exported frame within 65535.
- Masks: ``mask/`` is the instance's amodal mask, ``mask_visib/`` its pixels in the
  instance map (exact, where BOP's ``calc_gt_masks.py`` estimates them from depth with a
  tolerance).
- ``scene_gt_info`` as BOP's ``calc_gt_info.py`` computes it, on the same canvas of three
  image widths and heights: ``px_count_all`` counts the whole silhouette, also beyond the
  image border up to one image width and height (the amodal mask inside the image, the
  model's silhouette at pixel centres outside it); ``px_count_visib`` the visible pixels;
  ``px_count_valid`` the silhouette's pixels in the image with a depth value;
  ``visib_fract`` = px_count_visib / px_count_all (so a truncated object's is below 1);
  ``bbox_obj`` the box of the whole silhouette (not clipped to the image, may start at a
  negative x or y) and ``bbox_visib`` that of the visible pixels, both as BOP writes them:
  ``[x, y, w, h]`` with ``w`` = last column - first column (one less than the pixels
  spanned), and ``[-1, -1, -1, -1]`` for both when no pixel is visible.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping

import numpy as np

from ..codecs import ply, png
from ..dataset import amodal as amodal_file
from ..dataset import layout
from ..dataset import models as model_files
from ..dataset.reader import read_depth
from ..errors import GroundTruthError
from ..geometry import raster
from . import common

DEFAULT_SPLIT = "train"
SCENE_ID = 0
MAPPING_FILE = "ground-truth-bop.json"
MAX_DEPTH_VALUE = 65535
NO_BOX = [-1, -1, -1, -1]
# Rows of the canvas rasterised at a time (bounds memory on huge silhouettes).
_CANVAS_ROWS = 512
# Depth and mask PNGs: the Up filter at zlib level 3 writes them 5 to 10 times faster than
# the adaptive filter at level 6 (benchmarks/export_speed.py); a 640x480 depth image grows by
# about 15 %, a mask from about 1.3 to 3.3 KB.
_PNG_OPTIONS = {"compression": 3, "filter": "up"}
_SPLIT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
# What a BOP export needs of a dataset: the output, the files or fields, the flag.
_NEEDED = (
    ("rgb", "RGB images", "--rgb (and not --labels-only)"),
    ("depth", "depth", "--depth"),
    ("instance", "instance maps", "--instance"),
    ("meta", "meta", "--meta"),
    ("amodal", "Amodal Masks", "--amodal"),
    ("models", "Object Models", "--models"),
)


def check_split(name: str) -> str:
    """The split folder name, or :class:`common.ExportArgumentError` for another kind of name."""
    if not _SPLIT_NAME.match(name or ""):
        raise common.ExportArgumentError(
            f"the BOP split must be a folder name of letters, digits, - and _ "
            f"(train, val, test, train_synt), got {name!r}"
        )
    return name


def image_name(im_id: int) -> str:
    """BOP's image file stem: ``{im_id:06d}``."""
    return f"{int(im_id):06d}"


def mask_name(im_id: int, gt_id: int) -> str:
    """BOP's mask file name: ``{im_id:06d}_{gt_id:06d}.png``."""
    return f"{int(im_id):06d}_{int(gt_id):06d}.png"


def depth_scale_for(max_depth_m: float) -> float:
    """The smallest of 0.1, 0.2, 0.5, 1, 2, 5, ... mm per unit that keeps ``max_depth_m``
    (metres) within a uint16 PNG (:data:`MAX_DEPTH_VALUE`); 0.1 without any depth."""
    if not np.isfinite(max_depth_m) or max_depth_m <= 0:
        return 0.1
    millimetres = float(max_depth_m) * 1000.0
    for exponent in range(-1, 12):
        for mantissa in (1, 2, 5):
            scale = round(mantissa * 10.0**exponent, 6)
            if np.floor(millimetres / scale + 0.5) <= MAX_DEPTH_VALUE:
                return scale
    raise GroundTruthError(f"a depth of {max_depth_m} m is too large for a BOP depth image")


def encode_depth(depth_m: np.ndarray, depth_scale: float) -> np.ndarray:
    """Planar depth in metres as BOP's uint16 depth image: ``round(mm / depth_scale)``.

    0 (no data) where the depth is not finite (background), not positive, rounds to 0,
    or would not fit (never, with :func:`depth_scale_for` of the largest depth).
    """
    depth = np.asarray(depth_m, dtype=np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        value = np.floor(depth * (1000.0 / float(depth_scale)) + 0.5)
        valid = np.isfinite(value) & (value >= 1) & (value <= MAX_DEPTH_VALUE)
    return np.where(valid, value, 0).astype(np.uint16)


def bop_box(columns: np.ndarray, rows: np.ndarray) -> list[int]:
    """BOP's box of pixels (``misc.calc_2d_bbox``): ``[x, y, last x - x, last y - y]``;
    :data:`NO_BOX` without pixels."""
    if not len(columns):
        return list(NO_BOX)
    x0, y0 = int(np.min(columns)), int(np.min(rows))
    return [x0, y0, int(np.max(columns)) - x0, int(np.max(rows)) - y0]


def diameter(points: np.ndarray) -> float:
    """The largest distance between two of ``points`` (Nx3), exactly.

    Only points that can take part in a longer pair than the best one found from the
    bounding box's centre are compared pairwise, in blocks.
    """
    pts = np.unique(np.asarray(points, dtype=np.float64).reshape(-1, 3), axis=0)
    if len(pts) < 2:
        return 0.0
    centre = 0.5 * (pts.min(axis=0) + pts.max(axis=0))
    radius = np.linalg.norm(pts - centre, axis=1)
    far = pts[int(np.argmax(radius))]
    best = float(np.linalg.norm(pts - far, axis=1).max())
    # A pair longer than best needs radius_i + radius_j > best: both among these.
    candidates = pts[radius + radius.max() > best]
    squared = (candidates * candidates).sum(axis=1)
    best_squared = best * best
    for start in range(0, len(candidates), 1024):
        block = candidates[start : start + 1024]
        gram = squared[start : start + 1024, None] + squared[None, :] - 2.0 * block @ candidates.T
        row, column = np.unravel_index(int(np.argmax(gram)), gram.shape)
        if gram[row, column] > best_squared:
            exact = block[row] - candidates[column]
            best_squared = max(best_squared, float(exact @ exact))
    return float(np.sqrt(best_squared))


def model_info(vertices_mm: np.ndarray) -> dict[str, float]:
    """``models_info.json``'s entry of a model (vertices in mm), as BOP's
    ``calc_model_info.py`` computes it."""
    pts = np.asarray(vertices_mm, dtype=np.float64).reshape(-1, 3)
    low, high = pts.min(axis=0), pts.max(axis=0)
    size = high - low
    return {
        "diameter": diameter(pts),
        "min_x": float(low[0]),
        "min_y": float(low[1]),
        "min_z": float(low[2]),
        "size_x": float(size[0]),
        "size_y": float(size[1]),
        "size_z": float(size[2]),
    }


def vertex_normals(vertices: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """Unit vertex normals: the area-weighted sum of the triangles' normals (0 for a
    vertex of no triangle with an area)."""
    pts = np.asarray(vertices, dtype=np.float64).reshape(-1, 3)
    tris = np.asarray(triangles, dtype=np.int64).reshape(-1, 3)
    face = np.cross(pts[tris[:, 1]] - pts[tris[:, 0]], pts[tris[:, 2]] - pts[tris[:, 0]])
    normals = np.zeros_like(pts)
    for corner in range(3):
        np.add.at(normals, tris[:, corner], face)
    length = np.linalg.norm(normals, axis=1, keepdims=True)
    return np.divide(normals, length, out=np.zeros_like(normals), where=length > 0)


def object_table(found: Mapping[tuple[int, str], Iterable[str]]) -> list[dict]:
    """Number the objects: ``found`` maps (class ID, model key) to the names of the
    objects showing it. Returns ``[{obj_id, class_id, model, objects}]`` by obj_id, from
    1 in order of class ID, first object name, model key."""
    ordered = sorted(
        ((class_id, sorted(set(names)), key) for (class_id, key), names in found.items()),
        key=lambda item: (item[0], item[1][:1], item[2]),
    )
    return [
        {"obj_id": number, "class_id": class_id, "model": key, "objects": names}
        for number, (class_id, names, key) in enumerate(ordered, start=1)
    ]


def outside_silhouette(
    vertices_mm: np.ndarray,
    triangles: np.ndarray,
    rotation: np.ndarray,
    translation_mm: np.ndarray,
    camera: Mapping,
    mm_per_unit: float,
    width: int,
    height: int,
) -> tuple[int, tuple[int, int, int, int] | None]:
    """The model's silhouette beyond the image on BOP's canvas (one image size each side).

    Pixels are tested at their centres with the meta's ``K`` between the clip planes.
    Returns the number of pixels outside the image and their extent ``(x0, x1, y0, y1)``
    (inclusive pixel indices, None without any).
    """
    points = np.asarray(vertices_mm, dtype=np.float64) @ np.asarray(rotation).T + translation_mm
    tris = raster.camera_triangles(
        points,
        triangles,
        np.asarray(camera["K"], dtype=np.float64),
        ortho=False,
        clip_start=float(camera["clip_start"]) * mm_per_unit,
        clip_end=float(camera["clip_end"]) * mm_per_unit,
    )
    tris = tris[np.isfinite(tris).all(axis=(1, 2))]
    if not len(tris):
        return 0, None
    low, high = tris.reshape(-1, 2).min(axis=0), tris.reshape(-1, 2).max(axis=0)
    col0 = max(int(np.ceil(low[0] - 0.5)), -width)
    col1 = min(int(np.floor(high[0] - 0.5)) + 1, 2 * width)
    row0 = max(int(np.ceil(low[1] - 0.5)), -height)
    row1 = min(int(np.floor(high[1] - 0.5)) + 1, 2 * height)
    count = 0
    extent = None
    for band in range(row0, row1, _CANVAS_ROWS):
        rows = min(_CANVAS_ROWS, row1 - band)
        if col1 <= col0:
            break
        cover = raster.coverage(tris, (col0 + 0.5, band + 0.5), (rows, col1 - col0))
        r = np.arange(band, band + rows)[:, None]
        c = np.arange(col0, col1)[None, :]
        cover &= ~((r >= 0) & (r < height) & (c >= 0) & (c < width))
        ys, xs = np.nonzero(cover)
        if not len(xs):
            continue
        count += len(xs)
        box = (col0 + xs.min(), col0 + xs.max(), band + ys.min(), band + ys.max())
        if extent is None:
            extent = box
        else:
            extent = (
                min(extent[0], box[0]),
                max(extent[1], box[1]),
                min(extent[2], box[2]),
                max(extent[3], box[3]),
            )
    return count, extent


def gt_info(
    amodal: np.ndarray,
    visible: np.ndarray,
    depth_image: np.ndarray,
    outside: tuple[int, tuple[int, int, int, int] | None],
) -> dict:
    """One ``scene_gt_info`` entry from the masks in the image, the exported depth image
    and the silhouette beyond the image (:func:`outside_silhouette`)."""
    visible_count = int(visible.sum())
    outside_count, extent = outside
    all_count = int(amodal.sum()) + int(outside_count)
    if visible_count:
        rows, columns = _occupied(amodal)
        if extent is not None:
            columns = np.concatenate([columns, [extent[0], extent[1]]])
            rows = np.concatenate([rows, [extent[2], extent[3]]])
        box_all = bop_box(columns, rows)
        rows, columns = _occupied(visible)
        box_visible = bop_box(columns, rows)
    else:
        box_all, box_visible = list(NO_BOX), list(NO_BOX)
    return {
        "bbox_obj": box_all,
        "bbox_visib": box_visible,
        "px_count_all": all_count,
        "px_count_valid": int((depth_image[amodal] > 0).sum()),
        "px_count_visib": visible_count,
        "visib_fract": visible_count / all_count if all_count else 0.0,
    }


def _occupied(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The rows and the columns of ``mask`` that hold a pixel (enough for its box)."""
    return np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))


def bop_k(k_matrix) -> np.ndarray:
    """The meta's ``K`` (pixel centres at +0.5) in OpenCV's convention (centres at integers)."""
    k = np.array(k_matrix, dtype=np.float64)
    k[0, 2] -= 0.5
    k[1, 2] -= 0.5
    return k


def _flat(matrix) -> list[float]:
    return [float(v) for v in np.asarray(matrix, dtype=np.float64).ravel()]


def _frame_ranges(frames: list[int]) -> str:
    shown = ", ".join(str(f) for f in frames[:5])
    return shown + (f" and {len(frames) - 5} more" if len(frames) > 5 else "")


def check_source(source: common.Source) -> None:
    """Refuse a dataset that lacks what a BOP export needs, naming the settings to tick.

    Every frame needs its RGB image, depth, instance map, meta, amodal file, and a
    ``model`` field on each meta instance (the Object Models output); an orthographic
    camera has no BOP pose. Nothing is written.
    """
    missing: dict[str, list[int]] = {}
    for frame in source.frames:
        for key, _, _ in _NEEDED:
            if key == "models":
                continue
            if not os.path.isfile(source.path(key, frame)):
                missing.setdefault(key, []).append(frame)
        if "meta" in missing and missing["meta"][-1] == frame:
            continue
        frame_meta = source.meta(frame)
        if any("model" not in i for i in frame_meta.get("instances", [])):
            missing.setdefault("models", []).append(frame)
        if frame_meta.get("camera", {}).get("type") == "ORTHO":
            raise GroundTruthError(
                f"{source.path('meta', frame)}: the camera is orthographic; BOP poses need "
                "a perspective camera"
            )
    if not missing:
        return
    lacking = [(label, flag, missing[key]) for key, label, flag in _NEEDED if key in missing]
    listed = "; ".join(f"{label} (frames {_frame_ranges(frames)})" for label, _, frames in lacking)
    flags = " ".join(flag for _, flag, _ in lacking)
    raise GroundTruthError(
        f"{source.root} lacks what a BOP export needs: {listed}. Tick "
        f"{' and '.join(label for label, _, _ in lacking)} in the Ground Truth panel (or pass "
        f"{flags} to `ground_truth render`) and render these frames again"
    )


class _Models:
    """The dataset's models, read once each, with their unit."""

    def __init__(self, root: str):
        self.root = root
        self._cache: dict[str, model_files.DatasetModel] = {}

    def get(self, key: str) -> model_files.DatasetModel:
        if key not in self._cache:
            path = model_files.model_path(self.root, key)
            try:
                self._cache[key] = model_files.read_model(self.root, key)
            except FileNotFoundError:
                raise GroundTruthError(
                    f"{path} is missing (the meta names it); render with --models again"
                ) from None
            except ValueError as error:
                raise GroundTruthError(f"{path} cannot be read ({error})") from None
        return self._cache[key]


# What the export keeps of a meta entry between its two passes.
_ENTRY_KEYS = ("id", "class_id", "object", "model", "model_pose_camera_cv", "truncation")


def _annotated(source: common.Source, frame_meta: Mapping, document: Mapping) -> list[dict]:
    """The meta entries (:data:`_ENTRY_KEYS`) of the instances BOP annotates in a frame,
    by instance ID."""
    first: dict[int, dict] = {}
    for entry in frame_meta.get("instances", []):
        first.setdefault(int(entry["id"]), entry)
    result = []
    for item in sorted(document.get("instances", []), key=lambda i: int(i["id"])):
        entry = first.get(int(item["id"]))
        if entry is None or not entry.get("model") or not item.get("amodal_pixels"):
            continue
        info = source.class_by_id.get(int(entry.get("class_id", 0)))
        if info is None or info.stuff:
            continue
        result.append({key: entry.get(key) for key in _ENTRY_KEYS})
    return result


def _amodal_file(source: common.Source, frame: int, decode: bool = False) -> dict:
    """A frame's amodal file; with ``decode`` its masks (``{id: HxW bool}``) instead."""
    path = layout.frame_path(source.root, "amodal", frame)
    try:
        document = amodal_file.read_frame(source.root, frame)
        if document is None:
            raise GroundTruthError(f"{path} is missing; render with --amodal")
        if [document["height"], document["width"]] != [source.height, source.width]:
            raise GroundTruthError(
                f"{path} is {document['width']}x{document['height']}, the dataset is "
                f"{source.width}x{source.height}"
            )
        return amodal_file.masks(document) if decode else document
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise GroundTruthError(f"{path} cannot be read ({error})") from None


def _depth(source: common.Source, frame: int) -> np.ndarray:
    depth = read_depth(source.path("depth", frame))
    if depth.shape != (source.height, source.width):
        raise GroundTruthError(
            f"{source.path('depth', frame)} is {depth.shape[1]}x{depth.shape[0]}, the dataset "
            f"is {source.width}x{source.height}"
        )
    return depth


def _write_json(path: str, document) -> None:
    common.write_text(path, json.dumps(document, indent=2) + "\n")


def write(source: common.Source, folder: str, plans, options, report) -> dict:
    """Write the ``bop`` export into ``folder`` (see the module docstring)."""
    split = check_split(options.get("split") or DEFAULT_SPLIT)
    options["split"] = split
    scene = os.path.join(folder, split, image_name(SCENE_ID))
    for sub in ("rgb", "depth", "mask", "mask_visib"):
        os.makedirs(os.path.join(scene, sub))
    os.makedirs(os.path.join(folder, "models"))
    models = _Models(source.root)

    # First pass: what is annotated, the objects, the largest depth (no masks kept).
    frames = {}
    found: dict[tuple[int, str], set[str]] = {}
    largest = 0.0
    for plan in plans:
        frame_meta = source.meta(plan.frame)
        entries = _annotated(source, frame_meta, _amodal_file(source, plan.frame))
        for entry in entries:
            found.setdefault((int(entry["class_id"]), entry["model"]), set()).add(entry["object"])
        frames[plan.frame] = (frame_meta["camera"], entries)
        depth = _depth(source, plan.frame)
        finite = depth[np.isfinite(depth)]
        if finite.size:
            largest = max(largest, float(finite.max()))
    depth_scale = depth_scale_for(largest)
    objects = object_table(found)

    # The models, in mm and centred on their box.
    units = {models.get(o["model"]).metres_per_unit for o in objects}
    if len(units) > 1:
        raise GroundTruthError(f"the models of {source.root} have different units: {units}")
    mm_per_unit = 1000.0 * (units.pop() if units else 1.0)
    by_pair = {}
    infos = {}
    for item in objects:
        model = models.get(item["model"])
        vertices = model.vertices.astype(np.float64) * mm_per_unit
        offset = 0.5 * (vertices.min(axis=0) + vertices.max(axis=0))
        centred = (vertices - offset).astype(np.float32)
        normals = vertex_normals(centred, model.triangles)
        name = f"obj_{item['obj_id']:06d}.ply"
        common.write_bytes(
            os.path.join(folder, "models", name),
            ply.encode_ply(
                centred,
                model.triangles,
                normals,
                comments=(f"ground_truth model {model.key} in mm, centred on its box",),
            ),
        )
        infos[str(item["obj_id"])] = model_info(centred)
        item["offset_mm"] = [float(v) for v in offset]
        item["class"] = source.class_by_id[item["class_id"]].name
        by_pair[(item["class_id"], item["model"])] = (item, centred, model.triangles)
    _write_json(os.path.join(folder, "models", "models_info.json"), infos)

    # Second pass: the images.
    scene_camera, scene_gt, scene_gt_info, images = {}, {}, {}, {}
    k_matrices = set()
    for plan in plans:
        camera, entries = frames[plan.frame]
        im_id = plan.index
        key = str(im_id)
        k = bop_k(camera["K"])
        k_matrices.add(tuple(_flat(k)))
        w2c = np.asarray(camera["world_to_camera_cv"], dtype=np.float64)
        scene_camera[key] = {
            "cam_K": _flat(k),
            "cam_R_w2c": _flat(w2c[:3, :3]),
            "cam_t_w2c": _flat(w2c[:3, 3] * mm_per_unit),
            "depth_scale": depth_scale,
        }
        image = source.image_path(plan.frame)
        common.place_image(
            image,
            os.path.join(scene, "rgb", image_name(im_id) + os.path.splitext(image)[1]),
            options["link_images"],
        )
        depth_image = encode_depth(_depth(source, plan.frame), depth_scale)
        common.write_bytes(
            os.path.join(scene, "depth", image_name(im_id) + ".png"),
            png.encode_png(depth_image, **_PNG_OPTIONS),
        )
        instance = source.instance_map(plan.frame)
        masks = _amodal_file(source, plan.frame, decode=True)
        gts, gt_infos = [], []
        for gt_id, entry in enumerate(entries):
            item, centred, triangles = by_pair[(int(entry["class_id"]), entry["model"])]
            pose = np.asarray(entry["model_pose_camera_cv"], dtype=np.float64)
            rotation = pose[:3, :3]
            translation = pose[:3, 3] * mm_per_unit + rotation @ np.asarray(item["offset_mm"])
            gts.append(
                {
                    "cam_R_m2c": _flat(rotation),
                    "cam_t_m2c": _flat(translation),
                    "obj_id": item["obj_id"],
                }
            )
            amodal = masks[int(entry["id"])]
            visible = instance == int(entry["id"])
            outside = (0, None)
            if entry.get("truncation"):
                outside = outside_silhouette(
                    centred,
                    triangles,
                    rotation,
                    translation,
                    camera,
                    mm_per_unit,
                    source.width,
                    source.height,
                )
            gt_infos.append(gt_info(amodal, visible, depth_image, outside))
            for sub, mask in (("mask", amodal), ("mask_visib", visible)):
                common.write_bytes(
                    os.path.join(scene, sub, mask_name(im_id, gt_id)),
                    png.encode_png(np.where(mask, 255, 0).astype(np.uint8), **_PNG_OPTIONS),
                )
        scene_gt[key] = gts
        images[key] = {"frame": plan.frame, "instances": [int(e["id"]) for e in entries]}
        scene_gt_info[key] = gt_infos
        report.labels += len(gts)
    _write_json(os.path.join(scene, "scene_camera.json"), scene_camera)
    _write_json(os.path.join(scene, "scene_gt.json"), scene_gt)
    _write_json(os.path.join(scene, "scene_gt_info.json"), scene_gt_info)
    if len(k_matrices) == 1:
        (k,) = k_matrices
        _write_json(
            os.path.join(folder, "camera.json"),
            {
                "cx": k[2],
                "cy": k[5],
                "depth_scale": depth_scale,
                "fx": k[0],
                "fy": k[4],
                "height": source.height,
                "width": source.width,
            },
        )
    elif k_matrices:
        report.warnings.append(
            "the camera's intrinsics change over the frames: no camera.json (each image's "
            "cam_K is in scene_camera.json)"
        )
    options["depth_scale"] = depth_scale
    _write_json(
        os.path.join(folder, MAPPING_FILE),
        {
            "split": split,
            "scene_id": SCENE_ID,
            "depth_scale": depth_scale,
            "obj_ids": [
                {
                    "obj_id": o["obj_id"],
                    "class_id": o["class_id"],
                    "class": o["class"],
                    "model": o["model"],
                    "objects": o["objects"],
                    "offset_mm": o["offset_mm"],
                }
                for o in objects
            ],
            "images": images,
        },
    )
    extra: dict[int, dict] = {}
    for o in objects:
        extra.setdefault(o["class_id"], {"bop_obj_ids": []})["bop_obj_ids"].append(o["obj_id"])
    return extra
