"""Operators on the output folder: choose it, open it."""

import os

import bpy
from bpy.props import StringProperty

from ..errors import GroundTruthError
from ..render import validate


def output_folder_state(scene):
    """``(folder, problem)``: the absolute output folder (None when it cannot be resolved)
    and why Open Folder cannot open it (None when it can)."""
    try:
        folder = validate.resolve_output_dir(scene)
    except GroundTruthError as error:
        return None, str(error)
    if not os.path.isdir(folder):
        return folder, f"Nothing written yet: '{folder}' does not exist"
    return folder, None


def open_in_file_browser(folder):
    """Open ``folder`` in the system's file browser (tests replace this)."""
    return bpy.ops.wm.path_open(filepath=folder)


class GROUND_TRUTH_OT_open_output_folder(bpy.types.Operator):
    """Open the output folder in the system's file browser"""

    bl_idname = "ground_truth.open_output_folder"
    bl_label = "Open Folder"
    bl_options = {"REGISTER"}

    @classmethod
    def poll(cls, context):
        if context.scene is None:
            return False
        _folder, problem = output_folder_state(context.scene)
        if problem is not None:
            cls.poll_message_set(problem)
            return False
        return True

    def execute(self, context):
        folder, problem = output_folder_state(context.scene)
        if problem is not None:
            self.report({"ERROR"}, problem)
            return {"CANCELLED"}
        if "FINISHED" not in open_in_file_browser(folder):
            self.report({"ERROR"}, f"Could not open {folder}")
            return {"CANCELLED"}
        self.report({"INFO"}, f"Opened {folder}")
        return {"FINISHED"}


class GROUND_TRUTH_OT_choose_output_folder(bpy.types.Operator):
    """Choose the folder the dataset is written to"""

    bl_idname = "ground_truth.choose_output_folder"
    bl_label = "Choose Folder"
    bl_options = {"REGISTER", "UNDO"}

    directory: StringProperty(name="Folder", subtype="DIR_PATH")
    filter_folder: bpy.props.BoolProperty(default=True, options={"HIDDEN"})

    @classmethod
    def poll(cls, context):
        return context.scene is not None

    def invoke(self, context, event):
        folder, _problem = output_folder_state(context.scene)
        if folder is not None and not self.directory:
            # The file browser opens where the dataset would go now.
            self.directory = folder + os.sep
        context.window_manager.fileselect_add(self)
        return {"RUNNING_MODAL"}

    def execute(self, context):
        directory = self.directory.strip()
        if not directory:
            self.report({"ERROR"}, "No folder chosen")
            return {"CANCELLED"}
        settings = context.scene.ground_truth
        old = settings.output_dir
        settings.output_dir = directory
        try:
            folder = validate.resolve_output_dir(context.scene)
        except GroundTruthError as error:
            settings.output_dir = old
            self.report({"ERROR"}, str(error))
            return {"CANCELLED"}
        self.report({"INFO"}, f"Output folder is now {folder} (was '{old}')")
        return {"FINISHED"}
