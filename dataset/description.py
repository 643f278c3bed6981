"""``dataset.json``: what a dataset folder holds and the conventions of its files."""

from __future__ import annotations

import json
import os

from ..codecs import atomic
from . import layout
from .outputs import OUTPUTS

FORMAT = "ground_truth"
FORMAT_VERSION = 1


def _conventions() -> dict:
    """Every output's conventions (``path``, ``dtype``, channels, then its own text)."""
    conventions: dict = {"image_origin": "top-left pixel; rows go down, columns go right"}
    for output in OUTPUTS:
        entry = {"path": output.path_pattern} if output.path_pattern else {}
        for key, value in output.conventions.items():
            entry[key] = value
            if key == "dtype" and output.channels:
                if len(output.channels) == 1:
                    entry["channel"] = output.channels[0]
                else:
                    entry["channels"] = list(output.channels)
        conventions[output.key] = entry
    conventions["labels"] = (
        "class, instance and part come from the first sample of the same render as depth and "
        "rgb: each pixel holds exactly one surface's IDs, never a blend"
    )
    conventions["camera_axes"] = {
        "blender": "x right, y up, z backward (looks along -z)",
        "opencv": "x right, y down, z forward",
    }
    return conventions


CONVENTIONS = _conventions()


def hex_color(rgb) -> str:
    """``#rrggbb`` of an (r, g, b) colour in floats 0..1 (clamped, rounded)."""
    return "#" + "".join(f"{round(min(max(float(v), 0.0), 1.0) * 255.0):02x}" for v in rgb[:3])


def parse_hex(text: str) -> tuple[float, float, float]:
    """Parse ``"#rrggbb"``, ``"rrggbb"``, ``"#rgb"`` or ``"rgb"`` into floats in 0..1.

    Raises :class:`ValueError` for anything else.
    """
    digits = text.strip().removeprefix("#")
    if len(digits) == 3:
        digits = "".join(c * 2 for c in digits)
    if len(digits) != 6:
        raise ValueError(f"not a hex colour: {text!r}")
    try:
        value = int(digits, 16)
    except ValueError:
        raise ValueError(f"not a hex colour: {text!r}") from None
    return ((value >> 16) / 255.0, ((value >> 8) & 0xFF) / 255.0, (value & 0xFF) / 255.0)


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
                "color_hex": hex_color(c["color"]),
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
    path = layout.dataset_json_path(root)
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
    path = layout.dataset_json_path(root)
    atomic.atomic_write_json(path, data)
    return path
