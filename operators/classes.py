"""Operators on the class table and object labels."""

import bpy
from bpy.props import IntProperty, StringProperty

from ..errors import GroundTruthError
from ..scene import classes, viewport


def _after_label_change(scene):
    if scene.ground_truth.preview_colors:
        viewport.refresh_colors(scene)


def _poll_active_class(cls, context):
    if context.scene is None or classes.active_class(context.scene) is None:
        cls.poll_message_set("Add a class first")
        return False
    return True


def _poll_selection(cls, context):
    if not context.selected_objects:
        cls.poll_message_set("Select the objects first")
        return False
    return True


class GROUND_TRUTH_OT_add_class(bpy.types.Operator):
    """Add a class with the smallest free ID"""

    bl_idname = "ground_truth.add_class"
    bl_label = "Add Class"
    bl_options = {"REGISTER", "UNDO"}

    name: StringProperty(name="Name", default="Class")

    @classmethod
    def poll(cls, context):
        return context.scene is not None

    def execute(self, context):
        try:
            item = classes.add_class(context.scene, self.name)
        except GroundTruthError as error:
            self.report({"ERROR"}, str(error))
            return {"CANCELLED"}
        self.report({"INFO"}, f"Added class {item.id} '{item.name}'")
        return {"FINISHED"}


class GROUND_TRUTH_OT_remove_class(bpy.types.Operator):
    """Remove the active class; its objects become unlabelled"""

    bl_idname = "ground_truth.remove_class"
    bl_label = "Remove Class"
    bl_options = {"REGISTER", "UNDO"}

    poll = classmethod(_poll_active_class)

    def execute(self, context):
        scene = context.scene
        item = classes.active_class(scene)
        label = f"{item.id} '{item.name}'"
        try:
            count = classes.remove_class(scene, scene.ground_truth.active_class_index)
        except GroundTruthError as error:
            self.report({"ERROR"}, str(error))
            return {"CANCELLED"}
        _after_label_change(scene)
        self.report({"INFO"}, f"Removed class {label}; {count} object(s) are now unlabelled")
        return {"FINISHED"}


class GROUND_TRUTH_OT_rename_class(bpy.types.Operator):
    """Rename the active class"""

    bl_idname = "ground_truth.rename_class"
    bl_label = "Rename Class"
    bl_options = {"REGISTER", "UNDO"}

    name: StringProperty(name="Name")

    poll = classmethod(_poll_active_class)

    def invoke(self, context, event):
        self.name = classes.active_class(context.scene).name
        return context.window_manager.invoke_props_dialog(self)

    def execute(self, context):
        scene = context.scene
        try:
            name = classes.rename_class(scene, scene.ground_truth.active_class_index, self.name)
        except GroundTruthError as error:
            self.report({"ERROR"}, str(error))
            return {"CANCELLED"}
        if name != self.name.strip():
            self.report({"WARNING"}, f"'{self.name.strip()}' is taken; renamed to '{name}'")
        else:
            self.report({"INFO"}, f"Renamed class to '{name}'")
        return {"FINISHED"}


class GROUND_TRUTH_OT_assign_class(bpy.types.Operator):
    """Give the active class to all selected objects"""

    bl_idname = "ground_truth.assign_class"
    bl_label = "Assign to Selected"
    bl_options = {"REGISTER", "UNDO"}

    class_id: IntProperty(
        name="Class ID", description="Class to assign (0 = the active class)", min=0, default=0
    )

    @classmethod
    def poll(cls, context):
        return _poll_active_class(cls, context) and _poll_selection(cls, context)

    def execute(self, context):
        scene = context.scene
        class_id = self.class_id or classes.active_class(scene).id
        try:
            changed = classes.assign_class(scene, context.selected_objects, class_id)
        except GroundTruthError as error:
            self.report({"ERROR"}, str(error))
            return {"CANCELLED"}
        _after_label_change(scene)
        name = classes.find_class(scene, class_id).name
        self.report({"INFO"}, f"Class '{name}' given to {changed} object(s)")
        return {"FINISHED"}


class GROUND_TRUTH_OT_clear_class(bpy.types.Operator):
    """Make the selected objects unlabelled"""

    bl_idname = "ground_truth.clear_class"
    bl_label = "Clear Class"
    bl_options = {"REGISTER", "UNDO"}

    poll = classmethod(_poll_selection)

    def execute(self, context):
        scene = context.scene
        try:
            changed = classes.assign_class(scene, context.selected_objects, 0)
        except GroundTruthError as error:
            self.report({"ERROR"}, str(error))
            return {"CANCELLED"}
        _after_label_change(scene)
        self.report({"INFO"}, f"Cleared the class of {changed} object(s)")
        return {"FINISHED"}


class GROUND_TRUTH_OT_select_class(bpy.types.Operator):
    """Select all objects of the active class"""

    bl_idname = "ground_truth.select_class"
    bl_label = "Select Objects of Class"
    bl_options = {"REGISTER", "UNDO"}

    extend: bpy.props.BoolProperty(name="Extend", description="Keep the current selection")

    poll = classmethod(_poll_active_class)

    def execute(self, context):
        item = classes.active_class(context.scene)
        objects = classes.objects_of_class(context.scene, item.id)
        if not objects:
            self.report({"WARNING"}, f"Class '{item.name}' has no objects")
            return {"CANCELLED"}
        count = classes.select_objects(context, objects, extend=self.extend)
        self.report({"INFO"}, f"Selected {count} object(s) of class '{item.name}'")
        return {"FINISHED"}


class GROUND_TRUTH_OT_import_pass_indices(bpy.types.Operator):
    """Turn the pass indices set by hand on unlabelled objects into classes"""

    bl_idname = "ground_truth.import_pass_indices"
    bl_label = "Pass Indices to Classes"
    bl_options = {"REGISTER", "UNDO"}

    @classmethod
    def poll(cls, context):
        scene = context.scene
        if scene is None or not any(classes.is_foreign_pass_index(ob) for ob in scene.objects):
            cls.poll_message_set("No unlabelled object has a pass index of its own")
            return False
        return True

    def execute(self, context):
        try:
            created, labelled = classes.import_pass_indices(context.scene)
        except GroundTruthError as error:
            self.report({"ERROR"}, str(error))
            return {"CANCELLED"}
        _after_label_change(context.scene)
        self.report({"INFO"}, f"{labelled} object(s) labelled; {created} class(es) created")
        return {"FINISHED"}


class GROUND_TRUTH_OT_preview_colors(bpy.types.Operator):
    """Show every object in its class colour in Solid shading, or restore the user's own colours
    and shading"""

    bl_idname = "ground_truth.preview_colors"
    bl_label = "Show Class Colours"
    bl_options = {"REGISTER", "UNDO"}

    enable: bpy.props.BoolProperty(name="Enable", description="Turn the class colours on")

    @classmethod
    def description(cls, context, properties):
        if properties.enable:
            return "Show every object in its class colour in Solid shading"
        return "Restore the objects' own colours and the viewport's shading"

    def execute(self, context):
        viewport.set_preview(context.scene, self.enable)
        state = "on" if self.enable else "off"
        self.report({"INFO"}, f"Class colours {state}")
        return {"FINISHED"}
