"""Operators: thin wrappers that validate, call a plain function and report."""

import bpy

from .classes import (
    GROUND_TRUTH_OT_add_class,
    GROUND_TRUTH_OT_assign_class,
    GROUND_TRUTH_OT_clear_class,
    GROUND_TRUTH_OT_import_pass_indices,
    GROUND_TRUTH_OT_preview_colors,
    GROUND_TRUTH_OT_remove_class,
    GROUND_TRUTH_OT_rename_class,
    GROUND_TRUTH_OT_select_class,
)
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
    GROUND_TRUTH_OT_select_class,
    GROUND_TRUTH_OT_import_pass_indices,
    GROUND_TRUTH_OT_preview_colors,
    GROUND_TRUTH_OT_setup_compositor,
    GROUND_TRUTH_OT_remove_compositor,
    GROUND_TRUTH_OT_render,
)

register, unregister = bpy.utils.register_classes_factory(classes)
