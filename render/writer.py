"""What is written for each frame and for the dataset, shared by render and finalize.

``DatasetWriter`` reads everything it needs from the scene when it is created;
after that its methods touch no Blender data, so they can run on the background
worker thread while the next frame renders.
"""

import os
import time

import bpy
import numpy as np

from ..codecs import depth_mm, exr
from ..dataset import coco, meta
from ..dataset import description as dataset_json
from ..errors import GroundTruthError
from ..geometry import boxes
from ..labels import convert, copies
from ..nodes import setup

# The COCO file is rewritten at most this often during a render, and always at the end.
COCO_INTERVAL_S = 2.0


def material_parts(depsgraph):
    """The part IDs of the materials the scene renders: [{id, materials: [names]}].

    A material's part ID is its ``pass_index`` (0 = no part). The depsgraph lists
    every material in use, also those of instanced collections.
    """
    by_id = {}
    for item in depsgraph.ids:
        if isinstance(item, bpy.types.Material) and item.pass_index > 0:
            by_id.setdefault(item.pass_index, set()).add(item.original.name)
    return [{"id": i, "materials": sorted(names)} for i, names in sorted(by_id.items())]


class DatasetWriter:
    """Writes a scene's frames and dataset.json into one output folder."""

    def __init__(self, scene, output_dir, instances):
        settings = scene.ground_truth
        render = scene.render
        scale = render.resolution_percentage / 100.0
        self.output_dir = output_dir
        self.instances = instances
        self._lookup = convert.class_lookup({i["id"]: i["class_id"] for i in instances})
        self._class_colors = {c.id: tuple(c.color) for c in settings.classes}
        self._class_names = {c.id: c.name for c in settings.classes}
        self._outputs = {
            "unit_scale": scene.unit_settings.scale_length,
            "write_depth": settings.output_depth,
            "write_class": settings.output_class,
            "write_instance": settings.output_instance,
            "write_preview": settings.output_preview,
            "write_part": settings.output_part,
            "write_normal": settings.output_normal,
            "write_flow": settings.output_flow,
        }
        self._write_meta = settings.output_meta
        self._write_coco = settings.output_coco
        self._write_depth_mm = settings.output_depth_mm
        self._copies = None  # core.copies.CopyTable, made when copies first show up
        self._coco_entries = None  # frame -> (image, annotations), loaded on first use
        self._coco_written = 0.0
        self._coco_dirty = False
        self._dataset = {
            "classes": [
                {"id": c.id, "name": c.name, "color": tuple(c.color)} for c in settings.classes
            ],
            "instances": instances,
            "blender_version": bpy.app.version_string,
            "scene": scene.name,
            "blend_file": os.path.basename(bpy.data.filepath),
            "resolution": (int(render.resolution_x * scale), int(render.resolution_y * scale)),
            "parts": material_parts(bpy.context.evaluated_depsgraph_get()),
        }

    def check_compatible(self):
        """Refuse a folder holding another scene's dataset; returns its frames."""
        try:
            previous = dataset_json.read(self.output_dir, strict=True)
        except dataset_json.ForeignDatasetError as error:
            raise GroundTruthError(
                f"{error}: choose another output folder (Ground Truth never overwrites files "
                "it did not write)"
            ) from None
        if previous is None:
            return []
        problem = dataset_json.mismatch(previous, self.description([]))
        if problem:
            raise GroundTruthError(
                f"The folder {self.output_dir} holds a dataset of another scene ({problem}): "
                "choose another output folder, or delete that dataset first"
            )
        return list(previous["frames"])

    def convert(self, frame, info=None):
        """Turn the raw passes of ``frame`` into label files and annotations.

        ``info`` is ``annotations.frame_info`` of the frame: without it (or without an
        instance map) no meta file is written.
        """
        root = self.output_dir
        camera = info["camera"] if info is not None else None
        found_copies = info.get("copies") if info is not None else None
        labels = convert.convert_frame(
            root,
            frame,
            world_to_camera_cv=camera["world_to_camera_cv"] if camera else None,
            refine=(lambda instance: self._copy_ids(frame, instance, found_copies))
            if found_copies
            else None,
            lookup=self._lookup,
            class_colors=self._class_colors,
            class_names=self._class_names,
            **self._outputs,
        )
        if self._write_depth_mm:
            depth_mm.write_depth_mm(root, frame, labels.depth)
        # Boxes and pixel counts once, for the meta and for COCO.
        found = boxes.bboxes_from_instance_map(labels.instance)
        instances = None
        if self._write_meta and info is not None:
            height, width = labels.instance.shape
            inputs = info["instances"] + [
                {**c, "id": self._copies.id_of(c["key"])} for c in found_copies or []
            ]
            instances = meta.instance_annotations(
                labels.instance,
                inputs,
                info["camera"]["world_to_camera_cv"],
                found,
                info.get("unoccluded"),
            )
            meta.write_meta(
                root, frame, meta.frame_meta(frame, width, height, info["camera"], instances)
            )
        if self._write_coco:
            entries = self._entries()
            entries[frame] = coco.frame_entry(
                root,
                frame,
                self.description([]),
                instance_map=labels.instance,
                boxes=found,
                meta_instances=instances,
            )
            self._coco_dirty = True
        return labels

    def _copy_ids(self, frame, instance, found_copies):
        """The instance map with each copy's own ID (see core/copies.py)."""
        path = convert.raw_frame_path(self.output_dir, frame, setup.COPY_SUFFIX)
        channels = exr.read_exr(path)
        layer = {name.split(".")[-1]: values for name, values in channels.items()}
        location = np.stack([layer["G"], layer["B"], layer["A"]], axis=-1)
        if self._copies is None:
            known = {
                (i["instancer"], tuple(i["copy"]), i["owner"]): i["id"]
                for i in self._previous_instances()
                if "copy" in i
            }
            first = max([0, *(i["id"] for i in self.instances)]) + 1
            self._copies = copies.CopyTable(first, known)
        result = copies.assign_copy_ids(
            instance, layer["R"], location, [c["copy"] for c in found_copies], self._copies
        )
        listed = {i["id"] for i in self.instances}
        for found in found_copies:
            copy_id = self._copies.id_of(found["key"])
            self._lookup[copy_id] = found["class_id"]
            if copy_id not in listed:
                listed.add(copy_id)
                self.instances.append(
                    {
                        "id": copy_id,
                        "object": found["object"],
                        "class_id": found["class_id"],
                        "instancer": found["key"][0],
                        "copy": list(found["key"][1]),
                        "owner": found["key"][2],
                    }
                )
        os.remove(path)
        return result

    def _previous_instances(self):
        previous = dataset_json.read(self.output_dir)
        return previous["instances"] if previous else []

    def _entries(self):
        if self._coco_entries is None:
            # Frames from an earlier run of this dataset, read once from their files.
            self._coco_entries = {}
            previous = dataset_json.read(self.output_dir)
            data = self.description([])
            for frame in previous["frames"] if previous else []:
                entry = coco.frame_entry(self.output_dir, frame, data)
                if entry is not None:
                    self._coco_entries[frame] = entry
        return self._coco_entries

    def description(self, done):
        return dataset_json.build(frames=done, **self._dataset)

    def write_dataset(self, done, final=False):
        """Write dataset.json listing ``done``, and the COCO file when due (or ``final``)."""
        data = self.description(done)
        dataset_json.write(self.output_dir, data)
        due = time.monotonic() - self._coco_written >= COCO_INTERVAL_S
        if self._write_coco and self._coco_dirty and (final or due):
            entries = self._entries()
            listed = [entries[f] for f in data["frames"] if entries.get(f) is not None]
            coco.write_document(self.output_dir, coco.coco_document(data, listed))
            self._coco_written = time.monotonic()
            self._coco_dirty = False
