"""``dataset.json``: what a dataset folder holds and the conventions of its files."""

from __future__ import annotations

import json
import os

from ..codecs import atomic
from ..preview import colors

FORMAT = "ground_truth"
FORMAT_VERSION = 1
DATASET_FILE = "dataset.json"

CONVENTIONS = {
    "image_origin": "top-left pixel; rows go down, columns go right",
    "rgb": {
        "path": "rgb/NNNNNN.png",
        "dtype": "uint8",
        "channels": 3,
        "color": "sRGB, the scene's view transform",
    },
    "depth": {
        "path": "depth/NNNNNN.exr",
        "dtype": "float32",
        "channel": "Y",
        "kind": "planar (z along the camera's viewing axis), not distance along the ray",
        "unit": "metre",
        "background": "inf",
    },
    "class": {"path": "class/NNNNNN.png", "dtype": "uint16", "background": 0, "unlabelled": 0},
    "instance": {
        "path": "instance/NNNNNN.png",
        "dtype": "uint16",
        "background": 0,
        "unlabelled": 0,
    },
    "part": {
        "path": "part/NNNNNN.png",
        "dtype": "uint16",
        "value": "the part ID (Material.pass_index) of the surface's material",
        "background": 0,
        "no_part": 0,
    },
    "normal": {
        "path": "normal/NNNNNN.exr",
        "dtype": "float32",
        "channels": ["X", "Y", "Z"],
        "kind": "unit shading normal in the camera frame, OpenCV axes (x right, y down, "
        "z forward); back faces show the side the ray hit",
        "background": 0,
        "edges": "averaged over the pixel's samples, then normalised",
    },
    "flow": {
        "path": "flow/NNNNNN.exr",
        "dtype": "float32",
        "channels": [
            "forward.X",
            "forward.Y",
            "forward.valid",
            "backward.X",
            "backward.Y",
            "backward.valid",
        ],
        "unit": "pixel",
        "axes": "x right, y down (Middlebury, Sintel, RAFT): a pixel at (u, v) now is at "
        "(u + X, v + Y) in the other frame",
        "forward": "to the scene's next frame (current frame + 1)",
        "backward": "to the scene's previous frame (current frame - 1)",
        "valid": "1 where the pixel sees a surface and its flow lands inside the image, else 0; "
        "occlusion in the other frame is not checked",
        "background": 0,
    },
    "labels": "class, instance and part come from the first sample of the same render as depth and "
    "rgb: each pixel holds exactly one surface's IDs, never a blend",
    "camera_axes": {
        "blender": "x right, y up, z backward (looks along -z)",
        "opencv": "x right, y down, z forward",
    },
}


def build(
    *,
    classes: list[dict],
    instances: list[dict],
    frames: list[int],
    blender_version: str,
    scene: str,
    resolution: tuple[int, int],
    blend_file: str = "",
    parts: list[dict] | None = None,
) -> dict:
    """The dataset description as a JSON-ready dict.

    ``classes``: dicts with id, name and colour (0..1 floats, written as hex too);
    ``instances``: dicts with id, object and class_id; ``parts``: dicts with id and
    materials (the names of the materials carrying that part ID).
    """
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "generator": f"Ground Truth for Blender {blender_version}",
        "blender_version": blender_version,
        "blend_file": blend_file,
        "scene": scene,
        "resolution": {"width": resolution[0], "height": resolution[1]},
        "conventions": CONVENTIONS,
        "classes": [
            {
                "id": c["id"],
                "name": c["name"],
                "color": [round(float(v), 6) for v in c["color"]],
                "color_hex": colors.hex_color(c["color"]),
            }
            for c in sorted(classes, key=lambda c: c["id"])
        ],
        "instances": sorted(instances, key=lambda i: i["id"]),
        "parts": [
            {"id": p["id"], "materials": sorted(p["materials"])}
            for p in sorted(parts or [], key=lambda p: p["id"])
        ],
        "frames": sorted(set(frames)),
    }


def mismatch(existing: dict, current: dict) -> str | None:
    """Why ``existing`` (a dataset.json) cannot take frames of ``current``, or None.

    Frames of one dataset must come from the same scene, at the same resolution,
    with the same class table and the same object behind every instance ID.
    """
    for key, what in (("blend_file", "file"), ("scene", "scene"), ("resolution", "resolution")):
        if existing.get(key) != current.get(key):
            return f"{what} {existing.get(key)!r}, not {current.get(key)!r}"
    old_classes = {c["id"]: c["name"] for c in existing.get("classes", [])}
    new_classes = {c["id"]: c["name"] for c in current.get("classes", [])}
    for class_id in sorted(old_classes.keys() & new_classes.keys()):
        if old_classes[class_id] != new_classes[class_id]:
            return (
                f"class {class_id} is {old_classes[class_id]!r} there, "
                f"{new_classes[class_id]!r} here"
            )
    old_objects = {i["id"]: i["object"] for i in existing.get("instances", [])}
    new_objects = {i["id"]: i["object"] for i in current.get("instances", [])}
    for instance_id in sorted(old_objects.keys() & new_objects.keys()):
        if old_objects[instance_id] != new_objects[instance_id]:
            return (
                f"instance {instance_id} is {old_objects[instance_id]!r} there, "
                f"{new_objects[instance_id]!r} here"
            )
    return None


class ForeignDatasetError(ValueError):
    """The folder's dataset.json was not written by this version's format."""


def read(root: str, strict: bool = False) -> dict | None:
    """The dataset.json under ``root``, or None when there is none.

    A file that is not ours, not readable or of another format version reads as
    None, or raises ``ForeignDatasetError`` (with the reason) when ``strict``.
    """
    path = os.path.join(root, DATASET_FILE)
    if not os.path.exists(path):
        return None
    try:
        with open(path, encoding="utf-8") as file:
            data = json.load(file)
    except (OSError, ValueError) as error:
        if strict:
            raise ForeignDatasetError(f"{path} cannot be read ({error})") from None
        return None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        if strict:
            raise ForeignDatasetError(f"{path} was not written by Ground Truth")
        return None
    if data.get("format_version") != FORMAT_VERSION:
        if strict:
            raise ForeignDatasetError(
                f"{path} has format version {data.get('format_version')}, "
                f"this Ground Truth writes version {FORMAT_VERSION}"
            )
        return None
    return data


def write(root: str, data: dict) -> str:
    """Write ``data`` as ``root/dataset.json`` atomically; returns the path."""
    path = os.path.join(root, DATASET_FILE)
    atomic.atomic_write_json(path, data)
    return path
