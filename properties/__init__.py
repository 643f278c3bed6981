"""Property groups stored in the .blend: the class table, output choices and object labels."""

import bpy

from .settings import GroundTruthClass, GroundTruthObjectSettings, GroundTruthSceneSettings

classes = (
    GroundTruthClass,
    GroundTruthSceneSettings,
    GroundTruthObjectSettings,
)

_register_classes, _unregister_classes = bpy.utils.register_classes_factory(classes)


def register():
    _register_classes()
    bpy.types.Scene.ground_truth = bpy.props.PointerProperty(type=GroundTruthSceneSettings)
    # Overridable, so that library overrides of linked assets can be labelled.
    bpy.types.Object.ground_truth = bpy.props.PointerProperty(
        type=GroundTruthObjectSettings, override={"LIBRARY_OVERRIDABLE"}
    )


def unregister():
    del bpy.types.Object.ground_truth
    del bpy.types.Scene.ground_truth
    _unregister_classes()
