"""The frame loop of Render Ground Truth: one Cycles render per frame, then labels."""

import os
import time
from dataclasses import dataclass, field

import bpy

from ..core import dataset, frames
from ..core.errors import GroundTruthError
from ..scene import classes
from . import validate
from .session import RenderSession


class RenderCancelledError(Exception):
    """Raised by a progress callback to stop after the current frame."""


@dataclass
class RenderReport:
    output_dir: str
    frames: list = field(default_factory=list)
    warnings: list = field(default_factory=list)
    seconds: float = 0.0
    cancelled: bool = False


def render_view_layer(context_view_layer, scene):
    """The view layer to render: the context's if it belongs to ``scene``, else the first."""
    if context_view_layer is not None and scene.view_layers.get(context_view_layer.name):
        return context_view_layer
    return scene.view_layers[0]


def prepare(scene, view_layer, frame_list, *, use_cycles=False):
    """Validate everything before anything renders; returns (output folder, warnings)."""
    output_dir = validate.resolve_output_dir(scene)
    validate.check_writable(output_dir)
    warnings = validate.check_scene(scene, view_layer, use_cycles=use_cycles)
    validate.check_frames(frame_list)
    return output_dir, warnings


def render_ground_truth(scene, view_layer, frame_list, *, use_cycles=False, progress=None):
    """Render ``frame_list`` and write the dataset; returns a ``RenderReport``.

    ``progress(done, total, frame)`` is called before each frame and may raise
    ``RenderCancelledError``; the frames already written stay valid.
    """
    output_dir, warnings = prepare(scene, view_layer, frame_list, use_cycles=use_cycles)
    report = RenderReport(output_dir=output_dir, warnings=warnings)
    instances = classes.sync_instance_ids(scene)
    settings = scene.ground_truth
    lookup = frames.class_lookup({iid: cid for iid, (_name, cid) in instances.items()})
    class_colors = {c.id: tuple(c.color) for c in settings.classes}
    class_names = {c.id: c.name for c in settings.classes}
    unit_scale = scene.unit_settings.scale_length
    previous = dataset.read(output_dir)
    done = list(previous["frames"]) if previous else []
    start = time.perf_counter()
    os.makedirs(output_dir, exist_ok=True)
    with RenderSession(scene, view_layer, use_cycles=use_cycles):
        for position, frame in enumerate(frame_list):
            if progress is not None:
                try:
                    progress(position, len(frame_list), frame)
                except RenderCancelledError:
                    report.cancelled = True
                    break
            scene.frame_set(frame)
            result = bpy.ops.render.render(write_still=False, layer=view_layer.name)
            if "FINISHED" not in result:
                raise GroundTruthError(f"Blender did not finish rendering frame {frame}")
            frames.convert_frame(
                output_dir,
                frame,
                unit_scale=unit_scale,
                lookup=lookup,
                class_colors=class_colors,
                class_names=class_names,
                write_depth=settings.output_depth,
                write_class=settings.output_class,
                write_instance=settings.output_instance,
                write_preview=settings.output_preview,
            )
            done.append(frame)
            report.frames.append(frame)
            _write_dataset(scene, output_dir, instances, done)
    report.seconds = time.perf_counter() - start
    return report


def _write_dataset(scene, output_dir, instances, done):
    render = scene.render
    scale = render.resolution_percentage / 100.0
    data = dataset.build(
        classes=[
            {"id": c.id, "name": c.name, "color": tuple(c.color)}
            for c in scene.ground_truth.classes
        ],
        instances=[
            {"id": iid, "object": name, "class_id": cid} for iid, (name, cid) in instances.items()
        ],
        frames=done,
        blender_version=bpy.app.version_string,
        scene=scene.name,
        resolution=(int(render.resolution_x * scale), int(render.resolution_y * scale)),
    )
    dataset.write(output_dir, data)
