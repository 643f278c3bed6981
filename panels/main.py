"""Panel, sub-panels and the class list."""

import bpy

from ..dataset.outputs import GROUPS, OUTPUTS
from ..nodes import setup
from ..scene import classes


class GroundTruthPanel:
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "Ground Truth"


# Objects per class of each scene, counted once per redraw of the class list: Blender
# calls filter_items once, then draw_item for every visible row.
_object_counts = {}


class GROUND_TRUTH_UL_classes(bpy.types.UIList):
    """Classes with colour swatch, ID, name and object count."""

    def filter_items(self, context, data, propname):
        _object_counts[data.id_data.as_pointer()] = classes.class_object_counts(data.id_data)
        items = getattr(data, propname)
        helper = bpy.types.UI_UL_list
        flags = helper.filter_items_by_name(self.filter_name, self.bitflag_filter_item, items)
        order = helper.sort_items_by_name(items) if self.use_filter_sort_alpha else []
        return flags, order

    def draw_item(self, context, layout, data, item, icon, active_data, active_propname, index):
        counts = _object_counts.get(data.id_data.as_pointer())
        if counts is None:
            counts = classes.class_object_counts(data.id_data)
        row = layout.row(align=True)
        swatch = row.row()
        swatch.ui_units_x = 1.2
        swatch.prop(item, "color", text="")
        row.label(text=str(item.id))
        duplicate = sum(1 for c in data.classes if c.name == item.name) > 1
        row.prop(item, "name", text="", emboss=False, icon="ERROR" if duplicate else "NONE")
        row.label(text=str(counts.get(item.id, 0)), icon="OBJECT_DATA")


class VIEW3D_PT_ground_truth(GroundTruthPanel, bpy.types.Panel):
    bl_label = "Ground Truth"

    def draw(self, context):
        layout = self.layout
        scene = context.scene
        settings = scene.ground_truth

        row = layout.row()
        row.template_list(
            "GROUND_TRUTH_UL_classes",
            "",
            settings,
            "classes",
            settings,
            "active_class_index",
            rows=4,
        )
        column = row.column(align=True)
        column.operator("ground_truth.add_class", icon="ADD", text="")
        column.operator("ground_truth.remove_class", icon="REMOVE", text="")
        column.separator()
        column.operator("ground_truth.rename_class", icon="GREASEPENCIL", text="")
        column.operator("ground_truth.select_class", icon="RESTRICT_SELECT_OFF", text="")

        row = layout.row(align=True)
        row.operator("ground_truth.assign_class", icon="CHECKMARK")
        row.operator("ground_truth.clear_class", icon="X", text="Clear")
        layout.operator("ground_truth.import_pass_indices", icon="IMPORT")
        enabled = settings.preview_colors
        layout.operator(
            "ground_truth.preview_colors",
            text="Hide Class Colours" if enabled else "Show Class Colours",
            icon="COLOR",
            depress=enabled,
        ).enable = not enabled

        ob = context.active_object
        box = layout.box()
        if ob is None:
            box.label(text="No active object", icon="INFO")
            return
        box.label(text=ob.name, icon="OBJECT_DATA")
        item = classes.find_class(scene, ob.ground_truth.class_id)
        split = box.split(factor=0.4)
        split.label(text="Class")
        if item is not None:
            split.label(text=f"{item.id}  {item.name}")
        elif ob.ground_truth.class_id:
            split.label(text=f"{ob.ground_truth.class_id} (missing)", icon="ERROR")
        else:
            split.label(text="Unlabelled")
        split = box.split(factor=0.4)
        split.label(text="Instance")
        split.label(text=str(ob.ground_truth.instance_id or "None"))
        _draw_parts(box, ob)


def _draw_parts(layout, ob):
    """The object's materials, each with its part ID (the material's pass index)."""
    materials = [slot.material for slot in ob.material_slots if slot.material is not None]
    if not materials:
        return
    column = layout.column(align=True)
    column.label(text="Parts")
    for material in dict.fromkeys(materials):
        split = column.split(factor=0.6, align=True)
        split.label(text=material.name, icon="MATERIAL")
        split.prop(material, "pass_index", text="Part ID")


class VIEW3D_PT_ground_truth_output(GroundTruthPanel, bpy.types.Panel):
    bl_label = "Output"
    bl_parent_id = "VIEW3D_PT_ground_truth"

    def draw(self, context):
        layout = self.layout
        layout.use_property_split = True
        layout.use_property_decorate = False
        settings = context.scene.ground_truth
        layout.prop(settings, "output_dir", text="Folder")
        for group in GROUPS:
            column = layout.column(heading=group, align=True)
            for output in OUTPUTS:
                if output.group == group:
                    column.prop(settings, output.setting)
        layout.prop(settings, "distinct_copies")


class VIEW3D_PT_ground_truth_render(GroundTruthPanel, bpy.types.Panel):
    bl_label = "Render"
    bl_parent_id = "VIEW3D_PT_ground_truth"

    def draw(self, context):
        layout = self.layout
        scene = context.scene
        if scene.render.engine != "CYCLES":
            layout.label(text="Renders with Cycles for the ground truth", icon="INFO")
        settings = scene.ground_truth
        column = layout.column(align=True)
        column.scale_y = 1.4
        column.operator("ground_truth.render", icon="RENDER_STILL").animation = False

        box = layout.box()
        box.prop(settings, "use_scene_range")
        column = box.column(align=True)
        if settings.use_scene_range:
            column.enabled = False
            column.prop(scene, "frame_start", text="Start")
            column.prop(scene, "frame_end", text="End")
            column.prop(scene, "frame_step", text="Step")
        else:
            column.prop(settings, "frame_start")
            column.prop(settings, "frame_end")
            column.prop(settings, "frame_step")
        box.operator(
            "ground_truth.render", text="Render Frame Range", icon="RENDER_ANIMATION"
        ).animation = True

        row = layout.row(align=True)
        row.prop(settings, "labels_only")
        row.prop(settings, "resume")
        row = layout.row(align=True)
        if setup.has_setup(scene):
            row.operator("ground_truth.setup_compositor", text="Update Compositor", icon="NODETREE")
            row.operator("ground_truth.remove_compositor", text="", icon="TRASH")
        else:
            row.operator("ground_truth.setup_compositor", icon="NODETREE")
