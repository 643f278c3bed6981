"""What is written for each frame and for the dataset, shared by render and finalize.

``DatasetWriter`` takes everything it needs from the scene when it is created (on the
main thread) as frozen values: the run's options, the label table, the scene's
description. After that its methods touch no Blender data, so they run on the
background worker thread while the next frame renders. The copy table and the COCO
entries it builds up belong to that thread alone.
"""

import os
import time
from dataclasses import asdict

import bpy
import numpy as np

from ..codecs import exr
from ..dataset import amodal as amodal_file
from ..dataset import coco, layout, meta
from ..dataset import description as dataset_json
from ..errors import GroundTruthError
from ..labels import amodal, annotations, convert, copies, passes
from ..labels.masks import bboxes_from_instance_map
from ..scene import frame_info

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
    """Writes a scene's frames and dataset.json into one output folder.

    ``options`` are the run's :class:`~ground_truth.render.options.RenderOptions`,
    ``labels`` its :class:`~ground_truth.labels.tables.LabelTable`.
    """

    def __init__(self, scene, options, labels):
        self.options = options
        self.output_dir = options.output_dir
        self.labels = labels
        self._unit_scale = scene.unit_settings.scale_length
        self._class_colors = {c.id: c.color for c in labels.classes}
        self._class_names = {c.id: c.name for c in labels.classes}
        self._lookup = passes.class_lookup({i.id: i.class_id for i in labels.instances})
        # Copies found while rendering: their instance entries and IDs (worker thread).
        self._copy_entries = []
        self._copies = None  # labels.copies.CopyTable, made when copies first show up
        self._coco_entries = None  # frame -> (image, annotations), loaded on first use
        self._coco_written = 0.0
        self._coco_dirty = False
        self._dataset = {
            "classes": labels.class_dicts(),
            "blender_version": bpy.app.version_string,
            "scene": scene.name,
            "blend_file": os.path.basename(bpy.data.filepath),
            "resolution": frame_info.image_size(scene),
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

        ``info`` is ``scene.frame_info.collect`` of the frame: without it (or without an
        instance map) no meta file is written.
        """
        root = self.output_dir
        outputs = self.options.outputs
        camera = info["camera"] if info is not None else None
        found_copies = info.get("copies") if info is not None else None
        labels = convert.convert_frame(
            root,
            frame,
            outputs,
            unit_scale=self._unit_scale,
            lookup=self._lookup,
            class_colors=self._class_colors,
            class_names=self._class_names,
            world_to_camera_cv=camera["world_to_camera_cv"] if camera else None,
            refine=(lambda instance: self._copy_ids(frame, instance, found_copies))
            if found_copies
            else None,
        )
        # Boxes and pixel counts once, for the meta and for COCO.
        found = bboxes_from_instance_map(labels.instance)
        height, width = labels.instance.shape
        # Amodal silhouettes (labels/amodal.py), keyed by the IDs given to copies here.
        silhouettes = document = None
        if info is not None and info.get("geometry") is not None:
            copy_ids = {
                amodal.copy_identity(c["key"]): self._copies.id_of(c["key"])
                for c in found_copies or []
            }
            silhouettes = amodal.frame_amodal(
                info["geometry"], camera, labels.instance, found, copy_ids
            )
            if "amodal" in outputs:
                entries = amodal.file_entries(silhouettes, (height, width))
                document = amodal_file.frame_document(frame, width, height, entries)
                amodal_file.write_frame(root, frame, document)
        instances = None
        if "meta" in outputs and info is not None:
            inputs = info["instances"] + [
                {**c, "id": self._copies.id_of(c["key"])} for c in found_copies or []
            ]
            instances = annotations.instance_annotations(
                labels.instance,
                inputs,
                info["camera"]["world_to_camera_cv"],
                found,
                amodal.meta_fields(silhouettes, [i["id"] for i in inputs], "amodal" in outputs)
                if silhouettes is not None
                else None,
            )
            meta.write_meta(
                root, frame, meta.frame_meta(frame, width, height, info["camera"], instances)
            )
        if "coco" in outputs:
            entries = self._entries()
            entries[frame] = coco.frame_entry(
                root,
                frame,
                self.description([]),
                instance_map=labels.instance,
                boxes=found,
                meta_instances=instances,
                amodal_document=document,
            )
            self._coco_dirty = True
        return labels

    def _copy_ids(self, frame, instance, found_copies):
        """The instance map with each copy's own ID (see labels/copies.py)."""
        path = layout.raw_path(self.output_dir, frame, layout.COPY_SUFFIX)
        channels = exr.read_exr(path)
        random, *location = passes.layer_arrays(channels, layout.COPY_LAYER, 4)
        if self._copies is None:
            known = {
                (i["instancer"], tuple(i["copy"]), i["owner"]): i["id"]
                for i in self._previous_instances()
                if "copy" in i
            }
            first = max([0, *(i.id for i in self.labels.instances)]) + 1
            self._copies = copies.CopyTable(first, known)
        result = copies.assign_copy_ids(
            instance,
            random,
            np.stack(location, axis=-1),
            [c["copy"] for c in found_copies],
            self._copies,
        )
        listed = {i.id for i in self.labels.instances} | {e["id"] for e in self._copy_entries}
        for found in found_copies:
            copy_id = self._copies.id_of(found["key"])
            self._lookup[copy_id] = found["class_id"]
            if copy_id not in listed:
                listed.add(copy_id)
                self._copy_entries.append(
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
        """The dataset.json of this dataset listing the frames ``done``."""
        instances = [asdict(i) for i in self.labels.instances] + self._copy_entries
        return dataset_json.build(frames=done, instances=instances, **self._dataset)

    def write_dataset(self, done, final=False):
        """Write dataset.json listing ``done``, and the COCO file when due (or ``final``)."""
        data = self.description(done)
        dataset_json.write(self.output_dir, data)
        due = time.monotonic() - self._coco_written >= COCO_INTERVAL_S
        if "coco" in self.options.outputs and self._coco_dirty and (final or due):
            entries = self._entries()
            listed = [entries[f] for f in data["frames"] if entries.get(f) is not None]
            coco.write_document(self.output_dir, coco.coco_document(data, listed))
            self._coco_written = time.monotonic()
            self._coco_dirty = False
