"""Operators on the class table and object labels.

Each report names what changed: the class (ID and name), the objects, the instance IDs.
"""

import json
import os

import bpy
from bpy.props import BoolProperty, EnumProperty, IntProperty, StringProperty
from bpy_extras.io_utils import ExportHelper, ImportHelper

from ..errors import GroundTruthError
from ..scene import classes, viewport
from ..scene.classes import class_label, name_list, object_names


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


def _class_from(scene, class_id):
    """The class an operator gives: ``class_id``, or the active class when 0."""
    item = classes.find_class(scene, class_id) if class_id else classes.active_class(scene)
    if item is None:
        raise GroundTruthError(f"There is no class with ID {class_id}")
    return item


def _instance_ids(objects):
    ids = sorted({ob.ground_truth.instance_id for ob in objects if ob.ground_truth.instance_id})
    return name_list(str(i) for i in ids)


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
        self.report({"INFO"}, f"Added {class_label(item)}")
        return {"FINISHED"}


class GROUND_TRUTH_OT_remove_class(bpy.types.Operator):
    """Remove the active class; its objects become unlabelled"""

    bl_idname = "ground_truth.remove_class"
    bl_label = "Remove Class"
    bl_options = {"REGISTER", "UNDO"}

    poll = classmethod(_poll_active_class)

    def execute(self, context):
        scene = context.scene
        label = class_label(classes.active_class(scene))
        try:
            objects = classes.remove_class(scene, scene.ground_truth.active_class_index)
        except GroundTruthError as error:
            self.report({"ERROR"}, str(error))
            return {"CANCELLED"}
        _after_label_change(scene)
        unlabelled = f": {object_names(objects)}" if objects else ""
        self.report(
            {"INFO"},
            f"Removed {label}; {len(objects)} object(s) are now unlabelled{unlabelled}",
        )
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
        item = classes.active_class(scene)
        old = item.name
        try:
            name = classes.rename_class(scene, scene.ground_truth.active_class_index, self.name)
        except GroundTruthError as error:
            self.report({"ERROR"}, str(error))
            return {"CANCELLED"}
        if name == old:
            self.report({"INFO"}, f"Class {item.id} is already named '{name}'")
        elif name != self.name.strip():
            self.report(
                {"WARNING"},
                f"'{self.name.strip()}' is taken; renamed class {item.id} '{old}' to '{name}'",
            )
        else:
            self.report({"INFO"}, f"Renamed class {item.id} '{old}' to '{name}'")
        return {"FINISHED"}


def _report_labels(operator, item, change, selected):
    """Report what :func:`classes.assign_class` did with ``selected``."""
    parts = []
    if change.changed:
        given = f"{class_label(item)} given to" if item else "Class cleared from"
        parts.append(
            f"{given[0].upper()}{given[1:]} {len(change.changed)} object(s): "
            f"{object_names(change.changed)}"
        )
        if item:
            parts.append(f"instance ID(s) {_instance_ids(change.changed)}")
    if change.unchanged:
        had = f"had {class_label(item)}" if item else "were unlabelled"
        parts.append(f"{len(change.unchanged)} already {had}: {object_names(change.unchanged)}")
    if change.left:
        parts.append(f"no longer part of another object's instance: {object_names(change.left)}")
    if not parts:
        parts.append(f"Nothing changed for the {len(selected)} selected object(s)")
    operator.report({"INFO"}, "; ".join(parts))


class GROUND_TRUTH_OT_assign_class(bpy.types.Operator):
    """Give the active class to all selected objects: each becomes its own instance"""

    bl_idname = "ground_truth.assign_class"
    bl_label = "Assign to Selected"
    bl_options = {"REGISTER", "UNDO"}

    class_id: IntProperty(
        name="Class ID", description="Class to assign (0 = the active class)", min=0, default=0
    )

    @classmethod
    def poll(cls, context):
        return _poll_active_class(cls, context) and _poll_selection(cls, context)

    @classmethod
    def description(cls, context, properties):
        item = None
        if context.scene is not None:
            item = classes.find_class(context.scene, properties.class_id) or (
                None if properties.class_id else classes.active_class(context.scene)
            )
        if item is None:
            return cls.__doc__
        return f"Give {class_label(item)} to the selected objects: each becomes its own instance"

    def execute(self, context):
        scene = context.scene
        selected = list(context.selected_objects)
        try:
            item = _class_from(scene, self.class_id)
            change = classes.assign_class(scene, selected, item.id)
        except GroundTruthError as error:
            self.report({"ERROR"}, str(error))
            return {"CANCELLED"}
        _after_label_change(scene)
        _report_labels(self, item, change, selected)
        return {"FINISHED"}


class GROUND_TRUTH_OT_clear_class(bpy.types.Operator):
    """Make the selected objects unlabelled (they also leave any instance they were part of)"""

    bl_idname = "ground_truth.clear_class"
    bl_label = "Clear Class"
    bl_options = {"REGISTER", "UNDO"}

    poll = classmethod(_poll_selection)

    def execute(self, context):
        scene = context.scene
        selected = list(context.selected_objects)
        try:
            change = classes.assign_class(scene, selected, 0)
        except GroundTruthError as error:
            self.report({"ERROR"}, str(error))
            return {"CANCELLED"}
        _after_label_change(scene)
        _report_labels(self, None, change, selected)
        return {"FINISHED"}


class GROUND_TRUTH_OT_set_object_class(bpy.types.Operator):
    """Give the active object a class (or none): it becomes its own instance"""

    bl_idname = "ground_truth.set_object_class"
    bl_label = "Set Object Class"
    bl_options = {"REGISTER", "UNDO"}

    class_id: IntProperty(name="Class ID", description="The class (0 = unlabelled)", min=0)

    @classmethod
    def poll(cls, context):
        if getattr(context, "active_object", None) is None:
            cls.poll_message_set("No active object")
            return False
        return True

    def execute(self, context):
        scene, ob = context.scene, context.active_object
        try:
            item = classes.find_class(scene, self.class_id) if self.class_id else None
            if self.class_id and item is None:
                raise GroundTruthError(f"There is no class with ID {self.class_id}")
            change = classes.assign_class(scene, [ob], self.class_id)
        except GroundTruthError as error:
            self.report({"ERROR"}, str(error))
            return {"CANCELLED"}
        _after_label_change(scene)
        _report_labels(self, item, change, [ob])
        return {"FINISHED"}


class GROUND_TRUTH_OT_select_class(bpy.types.Operator):
    """Select all objects of the active class"""

    bl_idname = "ground_truth.select_class"
    bl_label = "Select Objects of Class"
    bl_options = {"REGISTER", "UNDO"}

    extend: BoolProperty(name="Extend", description="Keep the current selection")

    poll = classmethod(_poll_active_class)

    def execute(self, context):
        item = classes.active_class(context.scene)
        objects = classes.objects_of_class(context.scene, item.id)
        if not objects:
            self.report({"WARNING"}, f"{class_label(item).capitalize()} has no objects")
            return {"CANCELLED"}
        selected = classes.select_objects(context, objects, extend=self.extend)
        hidden = len(objects) - len(selected)
        note = f" ({hidden} hidden, not selected)" if hidden else ""
        self.report(
            {"INFO"},
            f"Selected {len(selected)} object(s) of {class_label(item)}: "
            f"{object_names(selected)}{note}",
        )
        return {"FINISHED"}


class GROUND_TRUTH_OT_select_unlabelled(bpy.types.Operator):
    """Select the objects that render but belong to no instance (they read 0 in the class
    and instance maps)"""

    bl_idname = "ground_truth.select_unlabelled"
    bl_label = "Select Unlabelled"
    bl_options = {"REGISTER", "UNDO"}

    extend: BoolProperty(name="Extend", description="Keep the current selection")

    @classmethod
    def poll(cls, context):
        return context.scene is not None

    def execute(self, context):
        objects = classes.unlabelled_objects(context.scene)
        if not objects:
            self.report({"INFO"}, "Every object that renders has a class")
            return {"CANCELLED"}
        selected = classes.select_objects(context, objects, extend=self.extend)
        hidden = len(objects) - len(selected)
        note = f" ({hidden} hidden in the viewport, not selected)" if hidden else ""
        self.report(
            {"INFO"},
            f"Selected {len(selected)} unlabelled object(s): {object_names(selected)}{note}",
        )
        return {"FINISHED"}


class GROUND_TRUTH_OT_make_one_instance(bpy.types.Operator):
    """Make the selected objects one instance of the active class, without parenting them:
    the active object holds the instance, the others render as parts of it"""

    bl_idname = "ground_truth.make_one_instance"
    bl_label = "One Instance from Selected"
    bl_options = {"REGISTER", "UNDO"}

    class_id: IntProperty(
        name="Class ID", description="Class to give (0 = the active class)", min=0, default=0
    )

    @classmethod
    def poll(cls, context):
        if not _poll_active_class(cls, context):
            return False
        if len(context.selected_objects) < 2:
            cls.poll_message_set("Select two or more objects; the active one holds the instance")
            return False
        if context.active_object is None:
            cls.poll_message_set("Make one of the selected objects active")
            return False
        return True

    def execute(self, context):
        scene, owner = context.scene, context.active_object
        try:
            item = _class_from(scene, self.class_id)
            instance_id, members, freed = classes.make_one_instance(
                scene, context.selected_objects, owner, item.id
            )
        except GroundTruthError as error:
            self.report({"ERROR"}, str(error))
            return {"CANCELLED"}
        _after_label_change(scene)
        merged = f"; instance ID(s) {', '.join(map(str, freed))} merged into it" if freed else ""
        self.report(
            {"INFO"},
            f"{owner.name} and {len(members)} object(s) are now one instance, ID {instance_id} "
            f"of {class_label(item)}: {object_names(members)} render as parts of "
            f"{owner.name}{merged}",
        )
        return {"FINISHED"}


class GROUND_TRUTH_OT_label_collections(bpy.types.Operator):
    """Label every object of the selected objects' collections (their child collections
    included)"""

    bl_idname = "ground_truth.label_collections"
    bl_label = "Label Collections"
    bl_options = {"REGISTER", "UNDO"}

    per_collection: EnumProperty(
        name="Per Collection",
        items=(
            (
                "CLASS",
                "Class per Collection",
                "Each collection becomes a class named after it (an existing class of that name "
                "is reused); each of its objects is its own instance",
            ),
            (
                "INSTANCE",
                "Instance per Collection",
                "Each collection becomes one instance of the active class",
            ),
        ),
        default="CLASS",
    )

    @classmethod
    def poll(cls, context):
        if not _poll_selection(cls, context):
            cls.poll_message_set("Select an object of each collection to label")
            return False
        return True

    @classmethod
    def description(cls, context, properties):
        items = cls.bl_rna.properties["per_collection"].enum_items
        return items[properties.per_collection].description

    def execute(self, context):
        scene = context.scene
        collections = classes.collections_of(scene, context.selected_objects)
        active = classes.active_class(scene)
        if self.per_collection == "INSTANCE" and active is None:
            self.report({"ERROR"}, "Add a class first: each collection becomes one instance of it")
            return {"CANCELLED"}
        try:
            done = classes.label_collections(
                scene,
                collections,
                self.per_collection,
                class_id=active.id if active else None,
                active_object=context.active_object,
            )
        except GroundTruthError as error:
            self.report({"ERROR"}, str(error))
            return {"CANCELLED"}
        _after_label_change(scene)
        parts = []
        for entry in done:
            new = " (new)" if entry.created else ""
            what = f"class {entry.class_id} '{entry.class_name}'{new}"
            if self.per_collection == "CLASS":
                parts.append(
                    f"collection '{entry.collection}': {what} given to {len(entry.objects)} "
                    f"object(s): {object_names(entry.objects)}"
                )
            else:
                parts.append(
                    f"collection '{entry.collection}': one instance, ID {entry.instance_id} of "
                    f"{what}, {len(entry.objects)} object(s): {object_names(entry.objects)}"
                )
        self.report({"INFO"}, "Labelled " + "; ".join(parts))
        return {"FINISHED"}


class GROUND_TRUTH_OT_import_pass_indices(bpy.types.Operator):
    """Turn the pass indices set by hand on unlabelled objects into classes: each pass index
    becomes the class with that ID (joining an existing class of that ID)"""

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
        scene = context.scene
        try:
            result = classes.import_pass_indices(scene)
        except GroundTruthError as error:
            self.report({"ERROR"}, str(error))
            return {"CANCELLED"}
        _after_label_change(scene)
        parts = [f"Labelled {len(result.objects)} object(s) from their pass indices"]
        for class_id, objects in result.created.items():
            item = classes.find_class(scene, class_id)
            parts.append(f"new {class_label(item)}: {object_names(objects)}")
        for class_id, objects in result.merged.items():
            item = classes.find_class(scene, class_id)
            parts.append(
                f"merged into the existing {class_label(item)}: {object_names(objects)} "
                f"(pass index {class_id})"
            )
        self.report({"WARNING"} if result.merged else {"INFO"}, "; ".join(parts))
        return {"FINISHED"}


class GROUND_TRUTH_OT_preview_colors(bpy.types.Operator):
    """Show every object in its class or instance colour, in any shading, or restore the
    user's own colours and shading"""

    bl_idname = "ground_truth.preview_colors"
    bl_label = "Show Class Colours"
    bl_options = {"REGISTER", "UNDO"}

    enable: BoolProperty(name="Enable", description="Turn the colours on")
    mode: EnumProperty(
        name="Colours",
        items=(
            ("CLASS", "Class", "Every object in its class colour"),
            ("INSTANCE", "Instance", "Every instance in its own colour, as the preview picture"),
        ),
        default="CLASS",
    )

    @classmethod
    def description(cls, context, properties):
        if properties.enable:
            what = "class colour" if properties.mode == "CLASS" else "instance colour"
            return (
                f"Show every object in its {what}; 3D views in Material Preview or Rendered "
                "switch to Solid until the colours are hidden again"
            )
        return "Restore the objects' own colours and each 3D view's shading"

    def execute(self, context):
        change = viewport.set_preview(context.scene, self.enable, self.mode)
        if self.enable:
            switched = ""
            if change.switched:
                kinds = sorted({kind.title() for _key, kind in change.switched})
                switched = f"; {len(change.switched)} switched from {' and '.join(kinds)} to Solid"
            what = "Class" if self.mode == "CLASS" else "Instance"
            self.report({"INFO"}, f"{what} colours shown in {change.views} 3D view(s){switched}")
        else:
            self.report(
                {"INFO"},
                f"Colours hidden: {change.objects} object(s) got their own colour back, "
                f"{change.views} 3D view(s) their own shading",
            )
        return {"FINISHED"}


class GROUND_TRUTH_OT_export_classes(bpy.types.Operator, ExportHelper):
    """Write the class table (ID, name, colour, stuff) to a JSON file"""

    bl_idname = "ground_truth.export_classes"
    bl_label = "Export Classes"
    bl_options = {"REGISTER"}

    filename_ext = ".json"
    filter_glob: StringProperty(default="*.json", options={"HIDDEN"})

    @classmethod
    def poll(cls, context):
        if context.scene is None or not context.scene.ground_truth.classes:
            cls.poll_message_set("No classes to export")
            return False
        return True

    def invoke(self, context, event):
        if not self.filepath:
            self.filepath = "classes.json"
        return super().invoke(context, event)

    def execute(self, context):
        try:
            document = classes.class_table_document(context.scene)
        except GroundTruthError as error:
            self.report({"ERROR"}, str(error))
            return {"CANCELLED"}
        path = bpy.path.abspath(self.filepath)
        try:
            with open(path, "w", encoding="utf-8") as file:
                json.dump(document, file, indent=2)
                file.write("\n")
        except OSError as error:
            self.report({"ERROR"}, f"Could not write {path}: {error.strerror or error}")
            return {"CANCELLED"}
        count = len(document["classes"])
        self.report({"INFO"}, f"Exported {count} class(es) to {path}")
        return {"FINISHED"}


class GROUND_TRUTH_OT_import_classes(bpy.types.Operator, ImportHelper):
    """Merge a class table from a JSON file, by ID: the Export Classes file, a dataset.json
    or COCO categories. Classes with the file's IDs take its names, colours and stuff flags;
    new IDs are added; the others stay"""

    bl_idname = "ground_truth.import_classes"
    bl_label = "Import Classes"
    bl_options = {"REGISTER", "UNDO"}

    filename_ext = ".json"
    filter_glob: StringProperty(default="*.json", options={"HIDDEN"})

    def execute(self, context):
        scene = context.scene
        path = bpy.path.abspath(self.filepath)
        try:
            try:
                with open(path, encoding="utf-8") as file:
                    text = file.read()
            except (OSError, UnicodeDecodeError) as error:
                raise GroundTruthError(
                    f"Could not read {path}: {getattr(error, 'strerror', None) or error}"
                ) from None
            specs = classes.parse_class_table(text)
            merge = classes.merge_class_table(scene, specs)
        except GroundTruthError as error:
            self.report({"ERROR"}, f"{os.path.basename(path)}: {error}. Nothing was imported")
            return {"CANCELLED"}
        _after_label_change(scene)
        parts = []
        if merge.added:
            parts.append("added " + name_list(f"{i} '{n}'" for i, n in merge.added))
        if merge.renamed:
            parts.append(
                "renamed "
                + name_list(f"class {i} '{old}' to '{new}'" for i, old, new in merge.renamed)
            )
        if merge.updated:
            parts.append(
                "updated "
                + name_list(f"{i} '{n}' ({', '.join(what)})" for i, n, what in merge.updated)
            )
        done = "; ".join(parts) if parts else "the scene already had them all, unchanged"
        self.report({"INFO"}, f"Read {len(specs)} class(es) from {os.path.basename(path)}: {done}")
        return {"FINISHED"}
