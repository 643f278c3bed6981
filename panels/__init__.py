"""The sidebar panel in the 3D viewport's "Ground Truth" tab."""

import bpy

from .main import (
    GROUND_TRUTH_UL_classes,
    VIEW3D_PT_ground_truth,
    VIEW3D_PT_ground_truth_output,
    VIEW3D_PT_ground_truth_render,
)

classes = (
    GROUND_TRUTH_UL_classes,
    VIEW3D_PT_ground_truth,
    VIEW3D_PT_ground_truth_output,
    VIEW3D_PT_ground_truth_render,
)

register, unregister = bpy.utils.register_classes_factory(classes)
