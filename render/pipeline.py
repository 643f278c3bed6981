"""The frame loop of Render Ground Truth: one Cycles render per frame, then labels.

``RenderJob`` validates everything when it is created (nothing changes on bad
input), then ``steps()`` renders one frame per iteration so that the UI can show
progress and cancel between frames; ``run()`` drains it for scripts and tests.
"""

import os
import time
from dataclasses import dataclass, field

import bpy

from ..dataset import layout
from ..errors import GroundTruthError
from ..labels import convert
from ..scene import annotations, classes
from . import validate
from .session import RenderSession
from .worker import BackgroundWorker
from .writer import DatasetWriter


class RenderCancelledError(Exception):
    """Raised by a progress callback to stop after the current frame."""


@dataclass
class RenderReport:
    output_dir: str
    frames: list = field(default_factory=list)
    skipped: list = field(default_factory=list)
    warnings: list = field(default_factory=list)
    seconds: float = 0.0
    cancelled: bool = False


def render_view_layer(context_view_layer, scene):
    """The view layer to render: the context's if it belongs to ``scene``, else the first."""
    if context_view_layer is not None and scene.view_layers.get(context_view_layer.name):
        return context_view_layer
    return scene.view_layers[0]


def scene_frames(scene):
    """The frames of the scene's own range (start, end, step)."""
    return list(range(scene.frame_start, scene.frame_end + 1, scene.frame_step))


class RenderJob:
    """One Render Ground Truth run over a list of frames."""

    def __init__(
        self,
        scene,
        view_layer,
        frame_list,
        *,
        use_cycles=False,
        overwrite=False,
        labels_only=False,
        samples=None,
    ):
        self.scene = scene
        self.view_layer = view_layer
        self.use_cycles = use_cycles
        self.labels_only = labels_only
        self.samples = samples
        output_dir = validate.resolve_output_dir(scene)
        validate.check_writable(output_dir)
        warnings = validate.check_scene(scene, view_layer, use_cycles=use_cycles)
        validate.check_frames(frame_list)
        if samples is not None and samples < 1:
            raise GroundTruthError("Samples must be at least 1")
        self.report = RenderReport(output_dir=output_dir, warnings=warnings)
        self.writer = DatasetWriter(scene, output_dir, classes.planned_instances(scene))
        done = set(self.writer.check_compatible())
        kinds = self._kinds()
        self.todo = []
        for frame in dict.fromkeys(frame_list):
            if not overwrite and frame in done and convert.frame_complete(output_dir, frame, kinds):
                self.report.skipped.append(frame)
            else:
                self.todo.append(frame)
        self._done = sorted(done)
        self._started = None

    def _kinds(self):
        settings = self.scene.ground_truth
        wanted = {
            layout.RGB_DIR: settings.output_rgb and not self.labels_only,
            layout.DEPTH_DIR: settings.output_depth,
            layout.CLASS_DIR: settings.output_class,
            layout.INSTANCE_DIR: settings.output_instance,
            layout.PREVIEW_DIR: settings.output_preview,
            layout.PART_DIR: settings.output_part,
            layout.NORMAL_DIR: settings.output_normal,
            layout.FLOW_DIR: settings.output_flow,
        }
        return [kind for kind, on in wanted.items() if on]

    def seconds_left(self):
        """Estimated seconds until the last frame is written, None before the first."""
        finished = len(self.report.frames)
        if not finished or self._started is None:
            return None
        per_frame = (time.perf_counter() - self._started) / finished
        return per_frame * (len(self.todo) - finished)

    def steps(self):
        """Render frame by frame; yields (done, total, frame) before each frame.

        Closing the generator stops after the current frame: the session restores
        the scene, and every finished frame is complete and listed in dataset.json.
        """
        scene = self.scene
        output_dir = self.report.output_dir
        self._started = time.perf_counter()
        if not self.todo:
            return
        os.makedirs(output_dir, exist_ok=True)
        classes.sync_instance_ids(scene)
        worker = BackgroundWorker(low_priority=True)
        try:
            with RenderSession(
                scene,
                self.view_layer,
                use_cycles=self.use_cycles,
                labels_only=self.labels_only,
                samples=self.samples,
            ) as session:
                for position, frame in enumerate(self.todo):
                    yield position, len(self.todo), frame
                    scene.frame_set(frame)
                    options = {"layer": session.render_layer} if session.render_layer else {}
                    result = bpy.ops.render.render(write_still=False, **options)
                    if "FINISHED" not in result:
                        raise GroundTruthError(f"Blender did not finish rendering frame {frame}")
                    info = annotations.frame_info(
                        scene,
                        bpy.context.evaluated_depsgraph_get(),
                        self.writer.instances,
                        with_copies=session.copy_layer is not None,
                    )
                    # Converted on the worker while the next frame renders.
                    try:
                        worker.submit(self._finish_frame, frame, info)
                    except OSError as error:
                        raise _write_error(error) from error
        finally:
            # Every rendered frame is written and listed, also after a cancel or failure.
            try:
                worker.submit(lambda: self.writer.write_dataset(self._done, final=True))
            except OSError as error:
                raise _write_error(error) from error
            finally:
                try:
                    worker.close()
                except OSError as error:
                    raise _write_error(error) from error
            self.report.seconds = time.perf_counter() - self._started

    def _finish_frame(self, frame, info):
        # Runs on the worker thread: no Blender data here.
        self.writer.convert(frame, info)
        self._done.append(frame)
        self.report.frames.append(frame)
        self.writer.write_dataset(self._done)

    def run(self, progress=None):
        """Render every frame; ``progress(done, total, frame)`` may raise RenderCancelledError."""
        steps = self.steps()
        try:
            for done, total, frame in steps:
                if progress is not None:
                    try:
                        progress(done, total, frame)
                    except RenderCancelledError:
                        self.report.cancelled = True
                        break
        finally:
            steps.close()
        return self.report


def _write_error(error):
    where = f" {error.filename}" if error.filename else ""
    return GroundTruthError(
        f"Could not write{where}: {error.strerror or error}. The frames written before are "
        "complete; free some space or fix the folder, then render again to resume"
    )


def render_ground_truth(scene, view_layer, frame_list, *, progress=None, **options):
    """Validate, render ``frame_list`` and write the dataset; returns a ``RenderReport``."""
    return RenderJob(scene, view_layer, frame_list, **options).run(progress)
