"""Keeps instance IDs settled while the user edits: a copy gets its own ID at once.

Shift+D (and copy and paste, and append) copies an object's ``pass_index`` and its
``Object.ground_truth`` settings, so a copy of a labelled object would show, and keep
until the next labelling or render, its source's instance ID. The handler below runs
after every depsgraph update and renumbers such copies straight away
(:func:`~ground_truth.scene.classes.settle_copies`).

It must cost nothing on the updates that happen all the time (moving, editing,
selecting): those do not change any collection, and ``id_type_updated("COLLECTION")``
says so in well under a microsecond. Adding or removing objects does; then the
objects' ``session_uid`` (Blender numbers every new data-block, copies included, above
all earlier ones) finds the new objects, and only new objects that carry a pass index
(a copy of a labelled object does) are looked at one by one.
"""

import bpy
import numpy as np
from bpy.app.handlers import persistent

from ..errors import GroundTruthError
from ..scene import classes, viewport

# The largest ``session_uid`` of an object seen so far (0: every object is new).
_newest = {"uid": 0}

# Past this many new objects with a pass index, one pass over all objects is cheaper
# than looking each up by its index in bpy.data.objects.
_LOOKUP_LIMIT = 16


def _new_objects_with_pass_index():
    """Objects added since the last call that carry a pass index (and whether any was added)."""
    objects = bpy.data.objects
    count = len(objects)
    uids = np.empty(count, dtype=np.int32)
    objects.foreach_get("session_uid", uids)
    new = uids > _newest["uid"]
    if not new.any():
        return False, []
    _newest["uid"] = int(uids.max())
    passes = np.empty(count, dtype=np.int32)
    objects.foreach_get("pass_index", passes)
    indices = np.flatnonzero(new & (passes > 0))
    if len(indices) <= _LOOKUP_LIMIT:
        return True, [objects[int(i)] for i in indices]
    wanted = set(indices.tolist())
    return True, [ob for i, ob in enumerate(objects) if i in wanted]


@persistent
def settle_new_copies(scene, depsgraph):
    """After a depsgraph update: give new copies of labelled objects their own IDs."""
    if not depsgraph.id_type_updated("COLLECTION"):
        return
    added, carrying = _new_objects_with_pass_index()
    if not added:
        return
    scenes = {}
    for ob in carrying:
        if ob.library is None and ob.ground_truth.instance_id:
            for user in ob.users_scene:
                if user.library is None:
                    scenes[user.name_full] = user
    if scene.library is None and scene.ground_truth.preview_colors:
        scenes[scene.name_full] = scene
    for each in scenes.values():
        try:
            classes.settle_copies(each)
        except GroundTruthError:
            # No free ID left: said by the next labelling or render, not on every redraw.
            continue
        if each.ground_truth.preview_colors:
            # New objects show their class colour, renumbered copies their new instance's.
            viewport.refresh_colors(each)


def register():
    _newest["uid"] = 0
    bpy.app.handlers.depsgraph_update_post.append(settle_new_copies)


def unregister():
    bpy.app.handlers.depsgraph_update_post.remove(settle_new_copies)
