"""What earlier versions of Ground Truth saved, brought up to date.

One module for every migration, as Cycles keeps its ``version_update.py``:

- scene settings saved under an older name (:data:`RENAMED_SETTINGS`) are moved to the
  current one when a file is loaded (``properties`` registers the handler);
- compositor setups saved by earlier versions are updated in place by
  :func:`outdated_nodes`, which ``nodes.setup`` asks before it builds its nodes; a farm
  render of an older setup wrote the RGB PNGs itself, and finalize keeps them
  (:func:`setup_writes_rgb`);
- datasets written before per-frame records get them from their files
  (:func:`records_for_listed_frames`) when a run or finalize opens them.

Raw passes written by older setups need no migration: Blender names a layer's channels
after the socket that wrote it (X, Y, Z for vectors, R, G, B, A for colours), and the
raw readers (``labels.passes.layer_arrays``) accept both namings.
"""

import os

from .codecs import exr, png
from .dataset import coco, layout, records
from .dataset.outputs import BY_KEY

# Setting names of earlier versions -> the current name (values are moved on load).
RENAMED_SETTINGS = {
    # 0.1: the visible fraction's setting was named after the occlusion it measures.
    "output_occlusion": "output_visible_fraction",
}

# Nodes of the extension's compositor frame that earlier versions made with another
# type: name -> that type. The raw pack was a Combine Color (R, G, B and an unused A)
# before it became a Combine XYZ.
OUTDATED_NODE_TYPES = {
    "Ground Truth Raw Passes": "CompositorNodeCombineColor",
}

# Nodes earlier versions made that this one has no more: name -> type. Their File
# Output node wrote the RGB PNG; now the writer thread encodes it from the image copy,
# whose node was named after the preview picture, its only reader then.
OLD_RGB_NODE = "Ground Truth RGB Output"
RETIRED_NODES = {
    OLD_RGB_NODE: "CompositorNodeOutputFile",
    "Ground Truth Preview Image": "CompositorNodeOutputFile",
}


def migrate_settings(settings) -> list[str]:
    """Move values stored under old names in ``Scene.ground_truth`` to the current names.

    Returns the old names that were found. Running it again finds nothing.
    """
    moved = []
    for old, new in RENAMED_SETTINGS.items():
        value = settings.get(old)
        if value is None:
            continue
        setattr(settings, new, bool(value))
        del settings[old]
        moved.append(old)
    return moved


def outdated_nodes(nodes, frame):
    """Nodes of ours inside ``frame`` that an earlier version made with another type, or
    that this version has no more.

    A node of that name and type outside the extension's frame is the user's own and
    is not listed.
    """
    found = []
    for name, old_type in (*OUTDATED_NODE_TYPES.items(), *RETIRED_NODES.items()):
        node = nodes.get(name)
        if node is not None and node.bl_idname == old_type and node.parent == frame:
            found.append(node)
    return found


def setup_writes_rgb(tree):
    """Whether the compositor ``tree`` holds an earlier version's setup whose own node
    writes the RGB PNGs: a farm render of it made them, and finalize keeps them."""
    node = tree.nodes.get(OLD_RGB_NODE) if tree is not None else None
    return node is not None and node.bl_idname == RETIRED_NODES[OLD_RGB_NODE] and not node.mute


def records_for_listed_frames(root, data):
    """Give the frames an older dataset.json lists (from before per-frame records) the
    records newer runs keep, from their files; frames whose files do not read back get
    none, and resuming renders them again. Returns the frames recorded."""
    recorded = []
    for frame in data.get("frames", []):
        if records.read_record(root, frame) is not None:
            continue
        files, outputs = {}, set()
        try:
            for key, output in BY_KEY.items():
                if not output.frame_files:
                    continue
                path = layout.frame_path(root, key, frame)
                if not os.path.isfile(path):
                    continue
                if path.endswith(".png"):
                    png.verify_png(path)
                elif path.endswith(".exr"):
                    exr.read_exr(path)
                files[key] = records.file_stamp(path)
                outputs.add(key)
            entry = coco.frame_entry(root, frame, data)
        except (OSError, ValueError):
            continue
        record = {"frame": frame, "files": files, "copies": [], "process": "older version"}
        if entry is not None:
            outputs.add("coco")
            record["coco"] = {"image": entry[0], "annotations": entry[1]}
        record["outputs"] = sorted(outputs)
        records.write_record(root, record)
        recorded.append(frame)
    return recorded
