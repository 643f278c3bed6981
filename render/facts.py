"""What the dataset writer reads from Blender, read once on the main thread.

The writer (``render.writer``) runs without Blender; everything it needs of the scene
is read here into a :class:`~.writer.SceneFacts` before a render or finalize starts.
"""

import bpy

from ..scene import frame_info
from .writer import SceneFacts


def material_parts(depsgraph):
    """The part IDs of the materials the scene renders: [{id, materials: [names]}].

    A material's part ID is its ``pass_index`` (0 = no part). The depsgraph lists
    every material in use, also those of instanced collections.
    """
    by_id = {}
    for item in depsgraph.ids:
        if isinstance(item, bpy.types.Material) and item.pass_index > 0:
            by_id.setdefault(item.pass_index, set()).add(item.original.name)
    return [{"id": i, "materials": sorted(names)} for i, names in sorted(by_id.items())]


def scene_facts(scene):
    """The :class:`~.writer.SceneFacts` of ``scene`` as it renders now."""
    return SceneFacts(
        name=scene.name,
        unit_scale=scene.unit_settings.scale_length,
        resolution=frame_info.image_size(scene),
        blend_path=bpy.data.filepath,
        blender_version=bpy.app.version_string,
        parts=material_parts(bpy.context.evaluated_depsgraph_get()),
    )
