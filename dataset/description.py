"""``dataset.json``: what a dataset folder holds and the conventions of its files."""

from __future__ import annotations

import json
import os

from ..codecs import atomic
from ..errors import DatasetError
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
    blend_path: str = "",
    parts: list[dict] | None = None,
    copy_blocks: list[dict] | None = None,
) -> dict:
    """The dataset description as a JSON-ready dict.

    ``classes``: dicts with id, name, colour (0..1 floats, written as hex too) and
    ``stuff`` (floors, walls, sky: regions rather than countable things);
    ``instances``: dicts with id, object and class_id; ``parts``: dicts with id and
    materials (the names of the materials carrying that part ID); ``copy_blocks``:
    the instance IDs each instancer's copies may take (instancer, first_id, size).
    """
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "generator": f"Ground Truth for Blender {blender_version}",
        "blender_version": blender_version,
        "blend_file": blend_file,
        **({"blend_path": blend_path} if blend_path else {}),
        "scene": scene,
        "resolution": {"width": resolution[0], "height": resolution[1]},
        "conventions": CONVENTIONS,
        "classes": [
            {
                "id": c["id"],
                "name": c["name"],
                "color": [round(float(v), 6) for v in c["color"]],
                "color_hex": hex_color(c["color"]),
                "stuff": bool(c.get("stuff", False)),
            }
            for c in sorted(classes, key=lambda c: c["id"])
        ],
        "instances": sorted(instances, key=lambda i: i["id"]),
        "parts": [
            {"id": p["id"], "materials": sorted(p["materials"])}
            for p in sorted(parts or [], key=lambda p: p["id"])
        ],
        **({"copy_blocks": list(copy_blocks)} if copy_blocks else {}),
        "frames": sorted(set(frames)),
    }


def identity_mismatch(existing: dict, current: dict) -> str | None:
    """Why ``existing`` (a dataset.json) is another scene's dataset than ``current``, or None.

    Frames of one dataset come from one scene of one .blend file (``blend_path``, the
    file's path relative to the dataset folder, tells two files of the same name apart)
    at one resolution.
    """
    for key, what in (("blend_file", "file"), ("scene", "scene"), ("resolution", "resolution")):
        if existing.get(key) != current.get(key):
            return f"{what} {existing.get(key)!r}, not {current.get(key)!r}"
    old, new = existing.get("blend_path"), current.get("blend_path")
    if old and new and old != new:
        return f"made from the .blend file {old}, not {new} (paths from the dataset folder)"
    return None


def label_differences(existing: dict, current: dict) -> list[str]:
    """How the class and instance tables of ``current`` differ from ``existing``'s.

    Every class (ID and name) and every labelled object (its instance ID and class) is
    compared; copies made by instancers are left out (they come and go with frames).
    """
    found = []
    old = {c["id"]: c["name"] for c in existing.get("classes", [])}
    new = {c["id"]: c["name"] for c in current.get("classes", [])}
    for class_id in sorted(old.keys() | new.keys()):
        if class_id not in new:
            found.append(f"class {class_id} {old[class_id]!r} is gone")
        elif class_id not in old:
            found.append(f"class {class_id} {new[class_id]!r} is new")
        elif old[class_id] != new[class_id]:
            found.append(f"class {class_id} is {old[class_id]!r} there, {new[class_id]!r} here")
    old = {i["id"]: i for i in existing.get("instances", []) if "copy" not in i}
    new = {i["id"]: i for i in current.get("instances", []) if "copy" not in i}
    for ident in sorted(old.keys() | new.keys()):
        before, now = old.get(ident), new.get(ident)
        if now is None:
            found.append(f"instance {ident} ({before['object']!r}) is no longer labelled")
        elif before is None:
            found.append(f"{now['object']!r} is newly labelled (instance {ident})")
        elif before["object"] != now["object"]:
            found.append(f"instance {ident} is {before['object']!r} there, {now['object']!r} here")
        elif before["class_id"] != now["class_id"]:
            found.append(
                f"{now['object']!r} has class {now['class_id']} here, {before['class_id']} there"
            )
    return found


class ForeignDatasetError(DatasetError):
    """The folder's dataset.json was not written by this version's format, or is damaged."""


def read(root: str, strict: bool = False) -> dict | None:
    """The dataset.json under ``root``, or None when there is none.

    A file that is not ours, not readable, damaged or of another format version reads
    as None, or raises :class:`ForeignDatasetError` (with the reason) when ``strict``.
    """
    path = layout.dataset_json_path(root)
    if not os.path.lexists(path):
        return None
    try:
        with open(path, encoding="utf-8") as file:
            data = json.load(file)
        problem = _schema_problem(data)
    except (OSError, ValueError, RecursionError) as error:
        problem = f"cannot be read ({type(error).__name__}: {error})"
    if problem is not None:
        if strict:
            raise ForeignDatasetError(f"{path} {problem}")
        return None
    return data


def _schema_problem(data) -> str | None:
    """What makes ``data`` not a dataset.json of this format, or None."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        return "was not written by Ground Truth"
    if data.get("format_version") != FORMAT_VERSION:
        return (
            f"has format version {data.get('format_version')!r}, this Ground Truth writes "
            f"version {FORMAT_VERSION}"
        )

    def integer(value):
        return isinstance(value, int) and not isinstance(value, bool)

    frames = data.get("frames")
    if not isinstance(frames, list) or not all(integer(f) and f >= 0 for f in frames):
        return "is damaged: 'frames' is not a list of frame numbers"
    classes = data.get("classes")
    if not isinstance(classes, list) or not all(
        isinstance(c, dict) and integer(c.get("id")) and isinstance(c.get("name"), str)
        for c in classes
    ):
        return "is damaged: 'classes' is not a list of classes with an id and a name"
    instances = data.get("instances")
    if not isinstance(instances, list) or not all(
        isinstance(i, dict)
        and integer(i.get("id"))
        and integer(i.get("class_id"))
        and isinstance(i.get("object"), str)
        for i in instances
    ):
        return "is damaged: 'instances' is not a list of instances with an id, object and class"
    resolution = data.get("resolution")
    if not (
        isinstance(resolution, dict)
        and integer(resolution.get("width"))
        and integer(resolution.get("height"))
    ):
        return "is damaged: 'resolution' has no width and height"
    for key in ("scene", "blend_file"):
        if not isinstance(data.get(key, ""), str):
            return f"is damaged: {key!r} is not text"
    return None


def write(root: str, data: dict) -> str:
    """Write ``data`` as ``root/dataset.json`` atomically; returns the path."""
    path = layout.dataset_json_path(root)
    atomic.atomic_write_json(path, data)
    return path
