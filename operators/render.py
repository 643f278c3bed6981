"""Render Ground Truth and the compositor setup operators."""

import bpy
from bpy.props import BoolProperty

from ..core.errors import GroundTruthError
from ..nodes import setup
from ..render import pipeline


def _poll_camera(cls, context):
    scene = context.scene
    if scene is None or scene.camera is None:
        cls.poll_message_set("The scene has no active camera")
        return False
    return True


class GROUND_TRUTH_OT_render(bpy.types.Operator):
    """Render the image with its depth, class and instance maps: one Cycles render per frame"""

    bl_idname = "ground_truth.render"
    bl_label = "Render Ground Truth"
    bl_options = {"REGISTER"}

    animation: BoolProperty(
        name="Animation", description="Render the scene's frame range instead of the current frame"
    )
    use_cycles: BoolProperty(
        name="Use Cycles",
        description="Render with Cycles for the ground truth when the scene uses another engine; "
        "the scene's engine setting is restored afterwards",
    )

    poll = classmethod(_poll_camera)

    def invoke(self, context, event):
        engine = context.scene.render.engine
        if engine != "CYCLES" and not self.use_cycles:
            self.use_cycles = True
            return context.window_manager.invoke_confirm(
                self,
                event,
                title="Render with Cycles?",
                message=f"The scene uses {engine.replace('BLENDER_', '').title()}, which has "
                "no Object Index pass. Render the ground truth with Cycles? "
                "Your engine setting is kept.",
                confirm_text="Render with Cycles",
            )
        return self.execute(context)

    def execute(self, context):
        scene = context.scene
        view_layer = pipeline.render_view_layer(context.view_layer, scene)
        if self.animation:
            frames = list(range(scene.frame_start, scene.frame_end + 1, scene.frame_step))
        else:
            frames = [scene.frame_current]
        window_manager = context.window_manager

        def progress(done, total, frame):
            if done == 0:
                window_manager.progress_begin(0, total)
            window_manager.progress_update(done)

        try:
            report = pipeline.render_ground_truth(
                scene, view_layer, frames, use_cycles=self.use_cycles, progress=progress
            )
        except GroundTruthError as error:
            self.report({"ERROR"}, str(error))
            return {"CANCELLED"}
        finally:
            window_manager.progress_end()
        for warning in report.warnings:
            self.report({"WARNING"}, warning)
        self.report(
            {"INFO"},
            f"Wrote {len(report.frames)} frame(s) to {report.output_dir} in {report.seconds:.1f} s",
        )
        return {"FINISHED"}


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
        setup.setup_compositor(scene, view_layer)
        self.report(
            {"INFO"},
            "Ground-truth compositor nodes updated"
            if existed
            else "Ground-truth compositor nodes added",
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
