"""The frame loop of Render Ground Truth: one Cycles render per frame, then labels.

``RenderJob`` validates everything when it is created (nothing changes on bad
input), then ``steps()`` renders one frame per iteration so that the UI can show
progress and cancel between frames; ``run()`` drains it for scripts and tests.
"""

import contextlib
import ctypes
import os
import sys
import time
from dataclasses import dataclass, field

import bpy

from ..dataset import layout, records
from ..errors import GroundTruthError
from ..labels.ids import instance_id_limit
from ..scene import classes, copies, frame_info
from . import validate
from .facts import scene_facts
from .options import options_from_settings
from .session import RenderSession
from .writer import DatasetWriter, write_error
from .writer_process import start_writer


class RenderCancelledError(Exception):
    """Raised by a progress callback to stop after the current frame."""


@dataclass
class RenderReport:
    output_dir: str
    frames: list = field(default_factory=list)
    skipped: list = field(default_factory=list)
    busy: list = field(default_factory=list)  # being rendered by another process
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
    """One Render Ground Truth run of ``scene`` with :class:`~.options.RenderOptions`.

    Creating it validates everything and reads the dataset folder; nothing is written
    until :meth:`steps` runs.
    """

    def __init__(self, scene, options):
        self.scene = scene
        self.options = options
        self.view_layer = scene.view_layers.get(options.view_layer)
        if self.view_layer is None:
            raise GroundTruthError(f"The scene has no view layer {options.view_layer!r}")
        output_dir = options.output_dir
        validate.check_writable(output_dir)
        validate.check_frames(options.frames)
        validate.check_device(options.device)
        warnings = validate.check_scene(scene, self.view_layer, options)
        if options.samples is not None and not 1 <= options.samples <= validate.MAX_SAMPLES:
            raise GroundTruthError(f"Samples must be 1 to {validate.MAX_SAMPLES}")
        self.report = RenderReport(output_dir=output_dir, warnings=warnings)
        self.labels = classes.label_table(scene)
        self.copy_plan = copies.make_plan(
            scene, self.labels, options.distinct_copies, instance_id_limit(options.outputs)
        )
        self.raw_owner = records.owner()
        self.writer = DatasetWriter(
            scene_facts(scene),
            options,
            self.labels,
            layout.raw_folder(output_dir, self.raw_owner),
            self.copy_plan.table,
        )
        self.folder = self.writer.inspect_folder(options.frames)
        resume = options.resume and not self.folder.replace
        listed = set(self.folder.listed)
        self.todo = []
        for frame in dict.fromkeys(options.frames):
            if resume and frame in listed and self.writer.frame_complete(frame):
                self.report.skipped.append(frame)
            else:
                self.todo.append(frame)
        self._started = None

    def seconds_left(self, position):
        """Estimated seconds until the last frame is rendered, when the frame at
        ``position`` (from 0) is about to start; None before any frame has rendered."""
        if not position or self._started is None:
            return None
        per_frame = (time.perf_counter() - self._started) / position
        return per_frame * (len(self.todo) - position)

    def steps(self):
        """Render frame by frame; yields (done, total, frame) before each frame.

        Closing the generator stops after the current frame: the session restores
        the scene, and every finished frame is complete and listed in dataset.json.
        The index is rewritten at the end even when no frame was left to render, so
        that it always says what the folder's complete frames hold.
        """
        scene = self.scene
        self._started = time.perf_counter()
        writer = self.writer
        try:
            writer.claim_folder(self.folder)
        except OSError as error:
            raise write_error(error) from error
        claims = records.FrameClaims(self.options.output_dir)
        pending = None
        frames_out = None
        try:
            if self.todo:
                # Frames are converted in a process of their own while the next renders.
                frames_out = start_writer(writer)
                classes.sync_instance_ids(scene)
                yield from self._render_frames(scene, claims, frames_out)
        except OSError as error:  # a claim, a record or a check on this thread
            pending = error
            raise write_error(error) from error
        except BaseException as error:
            pending = error
            raise
        finally:
            # Every rendered frame is written and listed, also after a cancel or failure;
            # the final index is written once the writer has stopped (by the writer
            # process, or here). A failure here is raised only when the run is not
            # failing already.
            failure = None
            index_written = False
            if frames_out is not None:
                try:
                    frames_out.close()
                except Exception as error:
                    failure = error
                self._take_finished(frames_out, claims)
                index_written = frames_out.index_written
                if frames_out.lost:  # what the killed writer was writing goes
                    with contextlib.suppress(OSError):
                        records.remove_leftovers(self.options.output_dir)
            if not index_written:
                try:
                    writer.write_index(final=True)
                except OSError as error:
                    failure = failure or error
            claims.release_all()
            writer.remove_raw_folder()
            self.report.seconds = time.perf_counter() - self._started
            if pending is None or isinstance(pending, GeneratorExit):
                if isinstance(failure, OSError):
                    raise write_error(failure) from failure
                if failure is not None:
                    raise failure

    def _render_frames(self, scene, claims, frames_out):
        session = RenderSession(
            scene, self.view_layer, self.options, self.labels, raw_owner=self.raw_owner
        )
        with session:
            for position, frame in enumerate(self.todo):
                yield position, len(self.todo), frame
                if not claims.claim(frame):
                    self.report.busy.append(frame)  # another process renders it
                    continue
                self.writer.check_targets(frame)
                # Not listed while it is made again: a kill leaves it unlisted.
                records.remove_record(self.options.output_dir, frame)
                scene.frame_set(frame)
                with _blender_output(shown=not self.options.quiet):
                    result = bpy.ops.render.render(write_still=False, layer=self.view_layer.name)
                if "FINISHED" not in result:
                    raise GroundTruthError(f"Blender did not finish rendering frame {frame}")
                info = frame_info.collect(
                    scene,
                    bpy.context.evaluated_depsgraph_get(),
                    self.options,
                    self.labels,
                    self.copy_plan,
                )
                # Converted by the writer while the next frame renders.
                try:
                    frames_out.submit(frame, info)
                except OSError as error:
                    raise write_error(error) from error
                self._take_finished(frames_out, claims)

    def _take_finished(self, frames_out, claims):
        """Report the frames the writer finished (recorded and listed) and let them go."""
        for frame in frames_out.finished():
            claims.release(frame)
            self.report.frames.append(frame)

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


@contextlib.contextmanager
def _blender_output(shown):
    """Keep Blender's own per-frame output (``Fra:``, ``Saved:``) off stdout unless ``shown``.

    Blender prints it from C to file descriptor 1; it is sent to the null device for the
    render call, C's buffer flushed before stdout comes back (POSIX only).
    """
    if shown or os.name != "posix":
        yield
        return
    sys.stdout.flush()
    saved, null = os.dup(1), os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)
    try:
        yield
    finally:
        _flush_c_stdout()
        os.dup2(saved, 1)
        os.close(saved)
        os.close(null)


def _flush_c_stdout():
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).fflush(None)


def render_ground_truth(scene, frames=None, *, view_layer=None, progress=None, **changes):
    """Render ``frames`` of ``scene`` with its Ground Truth settings; returns the report.

    For scripts: ``frames`` default to the scene's range, ``view_layer`` to the first;
    ``changes`` override options of :class:`~.options.RenderOptions` (``output_dir``,
    ``outputs``, ``labels_only``, ``samples``, ``resume``, ``use_cycles``, ...).
    ``progress(done, total, frame)`` may raise :class:`RenderCancelledError`.
    """
    if "output_dir" not in changes:
        changes["output_dir"] = validate.resolve_output_dir(scene)
    options = options_from_settings(
        scene.ground_truth,
        frames=scene_frames(scene) if frames is None else frames,
        view_layer=(view_layer or scene.view_layers[0]).name,
        **changes,
    )
    return RenderJob(scene, options).run(progress)
