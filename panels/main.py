"""The sidebar panels, their sub-panels, the class list and the object-class menu.

Laid out as Blender lays out its own properties: settings with ``use_property_split``
in headed columns, options before the buttons that use them, and a line saying why a
button is greyed out where the reason is not obvious.
"""

import json
import os

import bpy

from ..dataset.outputs import GROUPS, OUTPUTS
from ..errors import GroundTruthError
from ..labels.ids import MAX_ID_16, instance_id_limit
from ..nodes import setup
from ..operators.output import output_folder_state
from ..operators.render import render_unavailable
from ..render.options import outputs_from_settings
from ..scene import classes


class GroundTruthPanel:
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "Ground Truth"


# Objects per class of each scene, counted once per redraw of the class list: Blender
# calls filter_items once, then draw_item for every visible row.
_object_counts = {}

# How many unlabelled objects the Unlabelled Objects panel names.
UNLABELLED_SHOWN = 12


class GROUND_TRUTH_UL_classes(bpy.types.UIList):
    """Classes with colour swatch, ID, name and object count; the class of the active
    object is marked with a dot."""

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
        duplicate_id = sum(1 for c in data.classes if c.id == item.id) > 1
        row.label(text=str(item.id), icon="ERROR" if duplicate_id else "NONE")
        duplicate = sum(1 for c in data.classes if c.name == item.name) > 1
        row.prop(item, "name", text="", emboss=False, icon=_name_icon(context, item, duplicate))
        row.label(text=str(counts.get(item.id, 0)), icon="OBJECT_DATA")


def _name_icon(context, item, duplicate):
    if duplicate:
        return "ERROR"
    ob = getattr(context, "active_object", None)
    if ob is not None:
        owner = classes.instance_owner(ob, {c.id for c in context.scene.ground_truth.classes})
        if owner is not None and owner.ground_truth.class_id == item.id:
            return "LAYER_ACTIVE"
    return "NONE"


class GROUND_TRUTH_MT_object_class(bpy.types.Menu):
    """The classes the active object can be given."""

    bl_label = "Object Class"

    def draw(self, context):
        layout = self.layout
        ob = context.active_object
        current = ob.ground_truth.class_id if ob is not None else 0
        for item in context.scene.ground_truth.classes:
            layout.operator(
                "ground_truth.set_object_class",
                text=f"{item.id}  {item.name}",
                icon="LAYER_ACTIVE" if item.id == current else "BLANK1",
            ).class_id = item.id
        layout.separator()
        layout.operator(
            "ground_truth.set_object_class",
            text="Unlabelled",
            icon="LAYER_ACTIVE" if current == 0 else "BLANK1",
        ).class_id = 0


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
        _draw_class_table_problems(layout, scene)

        item = classes.active_class(scene)
        if item is not None:
            row = layout.row()
            row.prop(item, "stuff")
            row.prop(item, "share_copies")
        row = layout.row(align=True)
        row.operator(
            "ground_truth.assign_class",
            icon="CHECKMARK",
            text=f'Assign "{item.name}" to Selected' if item else "Assign to Selected",
        )
        row.operator("ground_truth.clear_class", icon="X", text="Clear")

        _draw_active_object(layout, scene, context.active_object)


def _draw_class_table_problems(layout, scene):
    """What the render would refuse in the class table, said before it is clicked."""
    try:
        classes.check_class_ids(scene)
    except GroundTruthError as error:
        layout.label(text=str(error), icon="ERROR")
    for name in classes.duplicate_class_names(scene):
        layout.label(text=f"Class names must be unique: '{name}' is used twice", icon="ERROR")


def _draw_active_object(layout, scene, ob):
    """The active object: its class (a menu to change it) and the instance it renders as."""
    box = layout.box()
    if ob is None:
        box.label(text="No active object", icon="INFO")
        return
    box.label(text=ob.name, icon="OBJECT_DATA")
    class_ids = {c.id for c in scene.ground_truth.classes}
    owner = classes.instance_owner(ob, class_ids)
    own_id = ob.ground_truth.class_id
    split = box.split(factor=0.4)
    split.label(text="Class")
    if owner is not None:
        item = classes.find_class(scene, owner.ground_truth.class_id)
        part_of = f" (part of {owner.name})" if owner != ob else ""
        split.menu("GROUND_TRUTH_MT_object_class", text=f"{item.id}  {item.name}{part_of}")
    elif own_id:
        split.menu("GROUND_TRUTH_MT_object_class", text=f"{own_id} (missing)", icon="ERROR")
    else:
        split.menu("GROUND_TRUTH_MT_object_class", text="Unlabelled")
    split = box.split(factor=0.4)
    split.label(text="Instance")
    if owner is None:
        own = f"None (its own pass index {ob.pass_index} reads 0)"
        split.label(text=own if classes.is_foreign_pass_index(ob) else "None")
    elif owner != ob:
        split.label(text=f"{owner.ground_truth.instance_id} (part of {owner.name})")
    else:
        split.label(text=str(ob.ground_truth.instance_id or "None"))
    if classes.draws_copies(ob):
        box.prop(ob.ground_truth, "share_copies")
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


class VIEW3D_PT_ground_truth_labelling(GroundTruthPanel, bpy.types.Panel):
    bl_label = "Labelling"
    bl_parent_id = "VIEW3D_PT_ground_truth"

    def draw(self, context):
        layout = self.layout
        item = classes.active_class(context.scene)
        column = layout.column(align=True)
        column.operator("ground_truth.select_unlabelled", icon="RESTRICT_SELECT_OFF")
        column.operator(
            "ground_truth.make_one_instance",
            icon="OUTLINER_OB_GROUP_INSTANCE",
            text=f'One "{item.name}" from Selected' if item else "One Instance from Selected",
        )
        column = layout.column(align=True)
        column.label(text="Collections of the selected objects")
        row = column.row(align=True)
        row.operator(
            "ground_truth.label_collections", text="Class per Collection", icon="COLLECTION_NEW"
        ).per_collection = "CLASS"
        row.operator(
            "ground_truth.label_collections",
            text="Instance per Collection",
            icon="OUTLINER_COLLECTION",
        ).per_collection = "INSTANCE"
        layout.operator("ground_truth.import_pass_indices", icon="IMPORT")
        row = layout.row(align=True)
        row.operator("ground_truth.import_classes", text="Import Classes...", icon="IMPORT")
        row.operator("ground_truth.export_classes", text="Export Classes...", icon="EXPORT")


class VIEW3D_PT_ground_truth_unlabelled(GroundTruthPanel, bpy.types.Panel):
    bl_label = "Unlabelled Objects"
    bl_parent_id = "VIEW3D_PT_ground_truth"
    bl_options = {"DEFAULT_CLOSED"}

    def draw(self, context):
        layout = self.layout
        objects = classes.unlabelled_objects(context.scene)
        if not objects:
            layout.label(text="Every object that renders has a class", icon="CHECKMARK")
            return
        layout.label(text=f"{len(objects)} object(s) render unlabelled (0 in the maps)")
        column = layout.column(align=True)
        for ob in objects[:UNLABELLED_SHOWN]:
            column.label(text=ob.name, icon="OBJECT_DATA")
        if len(objects) > UNLABELLED_SHOWN:
            column.label(text=f"... and {len(objects) - UNLABELLED_SHOWN} more")
        layout.operator("ground_truth.select_unlabelled", icon="RESTRICT_SELECT_OFF")


class VIEW3D_PT_ground_truth_viewport(GroundTruthPanel, bpy.types.Panel):
    bl_label = "Viewport Colours"
    bl_parent_id = "VIEW3D_PT_ground_truth"

    def draw(self, context):
        layout = self.layout
        settings = context.scene.ground_truth
        column = layout.column(align=True)
        for mode, what in (("CLASS", "Class"), ("INSTANCE", "Instance")):
            shown = settings.preview_colors and settings.preview_mode == mode
            button = column.operator(
                "ground_truth.preview_colors",
                text=f"{'Hide' if shown else 'Show'} {what} Colours",
                icon="COLOR",
                depress=shown,
            )
            button.enable = not shown
            button.mode = mode
        if settings.preview_colors:
            layout.label(text="Hiding gives back every colour and view shading", icon="INFO")


def _unsaved_relative(settings):
    """Whether the output folder is relative to a .blend file that is not saved yet."""
    return settings.output_dir.strip().startswith("//") and not bpy.data.filepath


class VIEW3D_PT_ground_truth_output(GroundTruthPanel, bpy.types.Panel):
    bl_label = "Output"
    bl_parent_id = "VIEW3D_PT_ground_truth"

    def draw(self, context):
        layout = self.layout
        layout.use_property_split = True
        layout.use_property_decorate = False
        scene = context.scene
        settings = scene.ground_truth
        layout.prop(settings, "output_dir", text="Folder")
        folder, problem = output_folder_state(scene)
        if folder is None:
            layout.label(text=problem, icon="ERROR")
        elif _unsaved_relative(settings):
            box = layout.box()
            box.label(text="The file is not saved yet: writes to", icon="INFO")
            box.label(text=folder, icon="FILE_FOLDER")
            row = box.row(align=True)
            row.operator("wm.save_as_mainfile", text="Save As...", icon="FILE_TICK")
            row.operator("ground_truth.choose_output_folder", text="Choose Folder...")
        elif folder != os.path.normpath(settings.output_dir.strip()):
            layout.label(text=folder, icon="FILE_FOLDER")
        # Headed groups of checkboxes, as Blender's View Layer > Passes > Data.
        for group in GROUPS:
            column = layout.column(heading=group, align=True)
            for output in OUTPUTS:
                if output.group == group:
                    column.prop(settings, output.setting)
        # An option of the instance IDs, not a file.
        column = layout.column(heading="Instances")
        column.prop(settings, "distinct_copies")
        limit = instance_id_limit(outputs_from_settings(settings))
        bits = 16 if limit == MAX_ID_16 else 32
        column.label(text=f"Instance IDs up to {limit:,} ({bits}-bit map)")


def summary_line(data):
    """The last render's one-line summary from its stored JSON dict."""
    count = data["frames"]
    frames = f"{count} frame{'s' if count != 1 else ''}"
    if count > 1:
        frames += f" ({data['first']}-{data['last']})"
    elif count == 1:
        frames += f" ({data['first']})"
    done = "Cancelled after" if data.get("cancelled") else "Last render:"
    skipped = f", {data['skipped']} already complete" if data.get("skipped") else ""
    return f"{done} {frames} in {data['seconds']:.1f} s{skipped} to {data['output_dir']}"


def _last_render(settings):
    try:
        data = json.loads(settings.last_render) if settings.last_render else None
        return summary_line(data) if data else None
    except (ValueError, KeyError, TypeError):
        return None


class VIEW3D_PT_ground_truth_render(GroundTruthPanel, bpy.types.Panel):
    bl_label = "Render"
    bl_parent_id = "VIEW3D_PT_ground_truth"

    def draw(self, context):
        layout = self.layout
        layout.use_property_split = True
        layout.use_property_decorate = False
        scene = context.scene
        settings = scene.ground_truth

        reason = render_unavailable(scene)
        if reason is not None:
            layout.label(text=reason, icon="ERROR")
        if scene.render.engine != "CYCLES":
            layout.label(text="Renders with Cycles; the scene keeps its engine", icon="INFO")

        column = layout.column()
        column.active = not settings.labels_only
        column.prop(settings, "samples")
        if settings.labels_only:
            column.label(text="Labels Only renders 1 sample")
        elif settings.samples == 0:
            samples = scene.cycles.samples
            column.label(text=f"0: the scene's {samples} sample{'s' if samples != 1 else ''}")
        column = layout.column(heading="Options", align=True)
        column.prop(settings, "labels_only")
        column.prop(settings, "resume")

        column = layout.column(heading="Frame Range", align=True)
        column.prop(settings, "use_scene_range")
        if settings.use_scene_range:
            owner, sub = scene, column.column(align=True)
            sub.enabled = False
        else:
            owner, sub = settings, column.column(align=True)
        sub.prop(owner, "frame_start", text="Frame Start")
        sub.prop(owner, "frame_end", text="End")
        sub.prop(owner, "frame_step", text="Step")

        column = layout.column(align=True)
        column.scale_y = 1.4
        column.operator("ground_truth.render", icon="RENDER_STILL").animation = False
        column.operator(
            "ground_truth.render", text="Render Frame Range", icon="RENDER_ANIMATION"
        ).animation = True

        summary = _last_render(settings)
        if summary is not None:
            layout.label(text=summary, icon="INFO")
        layout.operator("ground_truth.open_output_folder", icon="FILEBROWSER")


class VIEW3D_PT_ground_truth_farm(GroundTruthPanel, bpy.types.Panel):
    bl_label = "Farm"
    bl_parent_id = "VIEW3D_PT_ground_truth_render"

    def draw(self, context):
        layout = self.layout
        scene = context.scene
        layout.label(text="Plain renders of the saved file write the raw passes too")
        row = layout.row(align=True)
        if setup.has_setup(scene):
            row.operator("ground_truth.setup_compositor", text="Update Compositor", icon="NODETREE")
            row.operator("ground_truth.remove_compositor", text="", icon="TRASH")
        else:
            row.operator("ground_truth.setup_compositor", icon="NODETREE")
