"""Operators: thin wrappers that validate, call a plain function and report; and the
handler that gives copies of labelled objects their own instance IDs at once."""

import bpy

from . import handlers
from .classes import (
    GROUND_TRUTH_OT_add_class,
    GROUND_TRUTH_OT_assign_class,
    GROUND_TRUTH_OT_clear_class,
    GROUND_TRUTH_OT_export_classes,
    GROUND_TRUTH_OT_import_classes,
    GROUND_TRUTH_OT_import_pass_indices,
    GROUND_TRUTH_OT_label_collections,
    GROUND_TRUTH_OT_make_one_instance,
    GROUND_TRUTH_OT_preview_colors,
    GROUND_TRUTH_OT_remove_class,
    GROUND_TRUTH_OT_rename_class,
    GROUND_TRUTH_OT_select_class,
    GROUND_TRUTH_OT_select_unlabelled,
    GROUND_TRUTH_OT_set_object_class,
)
from .output import GROUND_TRUTH_OT_choose_output_folder, GROUND_TRUTH_OT_open_output_folder
from .render import (
    GROUND_TRUTH_OT_remove_compositor,
    GROUND_TRUTH_OT_render,
    GROUND_TRUTH_OT_setup_compositor,
)

classes = (
    GROUND_TRUTH_OT_add_class,
    GROUND_TRUTH_OT_remove_class,
    GROUND_TRUTH_OT_rename_class,
    GROUND_TRUTH_OT_assign_class,
    GROUND_TRUTH_OT_clear_class,
    GROUND_TRUTH_OT_set_object_class,
    GROUND_TRUTH_OT_select_class,
    GROUND_TRUTH_OT_select_unlabelled,
    GROUND_TRUTH_OT_make_one_instance,
    GROUND_TRUTH_OT_label_collections,
    GROUND_TRUTH_OT_import_pass_indices,
    GROUND_TRUTH_OT_import_classes,
    GROUND_TRUTH_OT_export_classes,
    GROUND_TRUTH_OT_preview_colors,
    GROUND_TRUTH_OT_choose_output_folder,
    GROUND_TRUTH_OT_open_output_folder,
    GROUND_TRUTH_OT_setup_compositor,
    GROUND_TRUTH_OT_remove_compositor,
    GROUND_TRUTH_OT_render,
)

_register_classes, _unregister_classes = bpy.utils.register_classes_factory(classes)


def register():
    _register_classes()
    handlers.register()


def unregister():
    handlers.unregister()
    _unregister_classes()
