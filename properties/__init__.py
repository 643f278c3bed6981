"""Property groups stored in the .blend: the class table, output choices and object labels."""

import bpy
from bpy.app.handlers import persistent

from .. import versioning
from .settings import (
    GroundTruthClass,
    GroundTruthObjectSettings,
    GroundTruthSceneSettings,
)

classes = (
    GroundTruthClass,
    GroundTruthSceneSettings,
    GroundTruthObjectSettings,
)

_register_classes, _unregister_classes = bpy.utils.register_classes_factory(classes)


@persistent
def migrate_loaded_file(*_args):
    """Bring the settings saved by earlier versions of the extension up to date."""
    for scene in bpy.data.scenes:
        if scene.library is None:
            versioning.migrate_settings(scene.ground_truth)


def register():
    _register_classes()
    bpy.types.Scene.ground_truth = bpy.props.PointerProperty(type=GroundTruthSceneSettings)
    # Overridable, so that library overrides of linked assets can be labelled.
    bpy.types.Object.ground_truth = bpy.props.PointerProperty(
        type=GroundTruthObjectSettings, override={"LIBRARY_OVERRIDABLE"}
    )
    bpy.app.handlers.load_post.append(migrate_loaded_file)


def unregister():
    bpy.app.handlers.load_post.remove(migrate_loaded_file)
    del bpy.types.Object.ground_truth
    del bpy.types.Scene.ground_truth
    _unregister_classes()
