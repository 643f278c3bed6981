"""Render Ground Truth and the compositor setup operators."""

import json

import bpy
from bpy.props import BoolProperty

from .. import compat
from ..errors import GroundTruthError
from ..nodes import setup
from ..render import pipeline, validate
from ..render.options import options_from_settings, outputs_from_settings


def render_unavailable(scene):
    """Why Render Ground Truth cannot start in ``scene`` (the panel shows it), or None."""
    if scene is None:
        return "No scene"
    if scene.camera is None:
        return "The scene has no active camera: add one or set it in Scene > Camera"
    return None


def _poll_camera(cls, context):
    reason = render_unavailable(context.scene)
    if reason is not None:
        cls.poll_message_set(reason)
        return False
    return True


def render_summary(report):
    """What the panel shows of a finished (or cancelled) run, as stored in the scene's
    hidden ``last_render`` setting (JSON)."""
    return {
        "frames": len(report.frames),
        "first": min(report.frames) if report.frames else None,
        "last": max(report.frames) if report.frames else None,
        "skipped": len(report.skipped),
        "seconds": round(report.seconds, 1),
        "output_dir": report.output_dir,
        "cancelled": report.cancelled,
    }


class GROUND_TRUTH_OT_render(bpy.types.Operator):
    """Render the image with its depth, class and instance maps: one Cycles render per frame"""

    bl_idname = "ground_truth.render"
    bl_label = "Render Ground Truth"
    bl_options = {"REGISTER"}

    animation: BoolProperty(
        name="Animation",
        description="Render the frame range set in the panel instead of the current frame",
    )
    use_cycles: BoolProperty(
        name="Use Cycles",
        description="Render with Cycles for the ground truth when the scene uses another engine; "
        "the scene's engine setting is restored afterwards",
    )

    poll = classmethod(_poll_camera)

    _timer = None
    _job = None
    _steps = None

    def _create_job(self, context):
        scene = context.scene
        options = options_from_settings(
            scene.ground_truth,
            output_dir=validate.resolve_output_dir(scene),
            frames=settings_frames(scene) if self.animation else [scene.frame_current],
            view_layer=pipeline.render_view_layer(context.view_layer, scene).name,
            use_cycles=self.use_cycles,
        )
        return pipeline.RenderJob(scene, options)

    def invoke(self, context, event):
        engine = context.scene.render.engine
        if engine != "CYCLES" and not self.use_cycles:
            self.use_cycles = True
            # Confirming runs execute(), which renders as below.
            return context.window_manager.invoke_confirm(
                self,
                event,
                title="Render with Cycles?",
                message=f"The scene uses {compat.engine_name(engine)}, which has "
                "no Object Index pass. Render the ground truth with Cycles? "
                "Your engine setting is kept (this is asked once).",
                confirm_text="Render with Cycles",
            )
        return self.execute(context)

    def execute(self, context):
        try:
            self._job = self._create_job(context)
        except GroundTruthError as error:
            self.report({"ERROR"}, str(error))
            return {"CANCELLED"}
        if bpy.app.background or context.window is None:
            try:
                self._job.run()
            except GroundTruthError as error:
                self.report({"ERROR"}, str(error))
                return {"CANCELLED"}
            self._report_done(self._job.report)
            return {"FINISHED"}
        # In the UI: one frame per timer event, so that the progress bar, the status
        # line and Esc work between frames.
        self._steps = self._job.steps()
        window_manager = context.window_manager
        window_manager.progress_begin(0, max(len(self._job.todo), 1))
        self._timer = window_manager.event_timer_add(0.05, window=context.window)
        window_manager.modal_handler_add(self)
        context.workspace.status_text_set("Ground Truth: starting (Esc cancels after a frame)")
        return {"RUNNING_MODAL"}

    def modal(self, context, event):
        if event.type == "ESC":
            self._job.report.cancelled = True
            return self._finish(context)
        if event.type != "TIMER":
            return {"PASS_THROUGH"}
        try:
            done, total, frame = next(self._steps)
        except StopIteration:
            return self._finish(context)
        except GroundTruthError as error:
            return self._finish(context, error)
        context.window_manager.progress_update(done)
        left = self._job.seconds_left(done)
        eta = f", about {left:.0f} s left" if left is not None else ""
        context.workspace.status_text_set(
            f"Ground Truth: frame {frame} ({done + 1} of {total}){eta}. Esc cancels after it"
        )
        return {"RUNNING_MODAL"}

    def _finish(self, context, error=None):
        # Closing the generator ends the render session, which restores the scene and
        # writes every frame already rendered.
        try:
            self._steps.close()
        except GroundTruthError as close_error:
            error = error or close_error
        window_manager = context.window_manager
        window_manager.event_timer_remove(self._timer)
        window_manager.progress_end()
        context.workspace.status_text_set(None)
        if error is not None:
            self.report({"ERROR"}, str(error))
            return {"CANCELLED"}
        self._report_done(self._job.report)
        return {"CANCELLED"} if self._job.report.cancelled else {"FINISHED"}

    def _report_done(self, report):
        for warning in report.warnings:
            self.report({"WARNING"}, warning)
        skipped = (
            f"; {len(report.skipped)} already complete (untick Resume to render them again)"
            if report.skipped
            else ""
        )
        state = "Cancelled after" if report.cancelled else "Wrote"
        scene = self._job.scene
        engine = scene.render.engine
        cycles = (
            f"; rendered with Cycles, the scene keeps {compat.engine_name(engine)}"
            if engine != "CYCLES"
            else ""
        )
        self.report(
            {"INFO"},
            f"{state} {len(report.frames)} frame(s) to {report.output_dir} "
            f"in {report.seconds:.1f} s{skipped}{cycles}",
        )
        # The panel's one-line summary of the last render.
        scene.ground_truth.last_render = json.dumps(render_summary(report))


def settings_frames(scene):
    """The frames the panel's range asks for: the scene's range or the panel's own."""
    settings = scene.ground_truth
    if settings.use_scene_range:
        return pipeline.scene_frames(scene)
    if settings.frame_end < settings.frame_start:
        raise GroundTruthError("The frame range ends before it starts")
    return list(range(settings.frame_start, settings.frame_end + 1, settings.frame_step))


class GROUND_TRUTH_OT_setup_compositor(bpy.types.Operator):
    """Add the ground-truth outputs to the compositor and save them with the file, so that a plain
    command-line or farm render writes the raw passes too"""

    bl_idname = "ground_truth.setup_compositor"
    bl_label = "Set Up Compositor"
    bl_options = {"REGISTER", "UNDO"}

    poll = classmethod(_poll_camera)

    def execute(self, context):
        scene = context.scene
        view_layer = pipeline.render_view_layer(context.view_layer, scene)
        existed = setup.has_setup(scene)
        settings = scene.ground_truth
        setup.setup_compositor(
            scene, view_layer, settings.output_dir, outputs_from_settings(settings)
        )
        self.report(
            {"INFO"},
            "Ground-truth compositor nodes updated"
            if existed
            else "Ground-truth compositor nodes added",
        )
        if settings.output_flow and scene.render.use_motion_blur:
            self.report(
                {"WARNING"},
                "Motion blur is on: a plain render of this file writes no Vector pass, so no "
                "optical flow. Switch motion blur off before saving it for the farm",
            )
        return {"FINISHED"}


class GROUND_TRUTH_OT_remove_compositor(bpy.types.Operator):
    """Remove the ground-truth nodes from the compositor and restore what their setup changed"""

    bl_idname = "ground_truth.remove_compositor"
    bl_label = "Remove Compositor Setup"
    bl_options = {"REGISTER", "UNDO"}

    @classmethod
    def poll(cls, context):
        if context.scene is None or not setup.has_setup(context.scene):
            cls.poll_message_set("The compositor has no ground-truth nodes")
            return False
        return True

    def execute(self, context):
        setup.remove_compositor(context.scene)
        self.report({"INFO"}, "Ground-truth compositor nodes removed")
        return {"FINISHED"}
