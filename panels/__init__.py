"""The sidebar panel in the 3D viewport's "Ground Truth" tab, its sub-panels and menu."""

import bpy

from .main import (
    GROUND_TRUTH_MT_object_class,
    GROUND_TRUTH_UL_classes,
    VIEW3D_PT_ground_truth,
    VIEW3D_PT_ground_truth_farm,
    VIEW3D_PT_ground_truth_labelling,
    VIEW3D_PT_ground_truth_output,
    VIEW3D_PT_ground_truth_render,
    VIEW3D_PT_ground_truth_unlabelled,
    VIEW3D_PT_ground_truth_viewport,
)

# Sub-panels after their parents, in the order they are drawn.
classes = (
    GROUND_TRUTH_UL_classes,
    GROUND_TRUTH_MT_object_class,
    VIEW3D_PT_ground_truth,
    VIEW3D_PT_ground_truth_labelling,
    VIEW3D_PT_ground_truth_unlabelled,
    VIEW3D_PT_ground_truth_viewport,
    VIEW3D_PT_ground_truth_output,
    VIEW3D_PT_ground_truth_render,
    VIEW3D_PT_ground_truth_farm,
)

register, unregister = bpy.utils.register_classes_factory(classes)
