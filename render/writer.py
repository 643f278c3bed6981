"""What is written for each frame and for the dataset, shared by render and finalize.

``DatasetWriter`` reads everything it needs from the scene when it is created;
after that its methods touch no Blender data, so they can run on the background
worker thread while the next frame renders.
"""

import os

import bpy

from ..core import dataset, frames
from ..core.errors import GroundTruthError


class DatasetWriter:
    """Writes a scene's frames and dataset.json into one output folder."""

    def __init__(self, scene, output_dir, instances):
        settings = scene.ground_truth
        render = scene.render
        scale = render.resolution_percentage / 100.0
        self.output_dir = output_dir
        self.instances = instances
        self._lookup = frames.class_lookup({i["id"]: i["class_id"] for i in instances})
        self._class_colors = {c.id: tuple(c.color) for c in settings.classes}
        self._class_names = {c.id: c.name for c in settings.classes}
        self._outputs = {
            "unit_scale": scene.unit_settings.scale_length,
            "write_depth": settings.output_depth,
            "write_class": settings.output_class,
            "write_instance": settings.output_instance,
            "write_preview": settings.output_preview,
        }
        self._dataset = {
            "classes": [
                {"id": c.id, "name": c.name, "color": tuple(c.color)} for c in settings.classes
            ],
            "instances": instances,
            "blender_version": bpy.app.version_string,
            "scene": scene.name,
            "blend_file": os.path.basename(bpy.data.filepath),
            "resolution": (int(render.resolution_x * scale), int(render.resolution_y * scale)),
        }

    def check_compatible(self):
        """Refuse a folder holding another scene's dataset; returns its frames."""
        previous = dataset.read(self.output_dir)
        if previous is None:
            return []
        problem = dataset.mismatch(previous, self.description([]))
        if problem:
            raise GroundTruthError(
                f"The folder {self.output_dir} holds a dataset of another scene ({problem}): "
                "choose another output folder, or delete that dataset first"
            )
        return list(previous["frames"])

    def convert(self, frame):
        """Turn the raw passes of ``frame`` into label files."""
        return frames.convert_frame(
            self.output_dir,
            frame,
            lookup=self._lookup,
            class_colors=self._class_colors,
            class_names=self._class_names,
            **self._outputs,
        )

    def description(self, done):
        return dataset.build(frames=done, **self._dataset)

    def write_dataset(self, done):
        dataset.write(self.output_dir, self.description(done))
