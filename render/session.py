"""The temporary render state: set what the ground truth needs, restore all of it after.

``RenderSession`` is a context manager. Whatever it changes (engine, compositing,
motion blur for optical flow, the compositor setup, passes, foreign pass indices, the
preview colours, the current frame) is put back on exit, whether the render finished, failed or was
cancelled.
"""

import bpy

from ..nodes import setup
from ..scene import classes, copies, viewport


class RenderSession:
    """Save the scene's render state on enter, prepare it, restore it on exit."""

    def __init__(self, scene, view_layer, *, use_cycles=False, labels_only=False, samples=None):
        self.scene = scene
        self.view_layer = view_layer
        self.use_cycles = use_cycles
        self.labels_only = labels_only
        self.samples = samples
        self._restore = []
        self.copy_layer = None

    def __enter__(self):
        scene = self.scene
        render = scene.render
        try:
            self._save_attribute(scene, "frame_current")
            self._save_attribute(render, "use_compositing")
            if self.use_cycles:
                self._save_attribute(render, "engine")
                render.engine = "CYCLES"
            render.use_compositing = True
            if scene.ground_truth.output_flow:
                # Cycles writes the Vector pass only without motion blur.
                self._save_attribute(render, "use_motion_blur")
                render.use_motion_blur = False
            self._set_cycles()
            if scene.ground_truth.preview_colors:
                # Object colours can feed materials: render with the user's own.
                viewport.restore_colors(scene)
                self._restore.append(lambda: viewport.refresh_colors(scene))
            self._zero_foreign_pass_indices()
            rgb = False if self.labels_only else None
            if setup.has_setup(scene):
                for attribute in setup.ALL_PASSES:
                    self._save_attribute(self.view_layer, attribute)
                self._save_attribute(scene.ground_truth, "compositor_record")
                # The saved setup goes back to the scene's own output choices after.
                self._restore.append(lambda: setup.setup_compositor(scene, self.view_layer))
                setup.setup_compositor(scene, self.view_layer, rgb=rgb)
            else:
                setup.setup_compositor(scene, self.view_layer, rgb=rgb)
                self._restore.append(lambda: setup.remove_compositor(scene))
            self._add_copy_layer()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, exc_type, exc, tb):
        while self._restore:
            self._restore.pop()()
        return False

    @property
    def render_layer(self):
        """The ``layer`` argument of the render: None renders the copy layer too."""
        return None if self.copy_layer is not None else self.view_layer.name

    def _add_copy_layer(self):
        # Copies of labelled objects on screen: a one-sample layer tells them apart.
        self.copy_layer = None
        scene = self.scene
        if not scene.ground_truth.distinct_copies:
            return
        found = copies.labelled_copies(scene, bpy.context.evaluated_depsgraph_get())
        if not found:
            return
        self._restore.append(copies.add_material_aovs([m for c in found for m in c["materials"]]))
        for layer in scene.view_layers:
            if layer != self.view_layer and layer.use:
                # Only the two layers render; the others get their flag back after.
                self._save_attribute(layer, "use")
                layer.use = False
        layer = copies.add_copy_layer(scene, self.view_layer)
        self.copy_layer = layer
        self._restore.append(lambda: scene.view_layers.remove(layer))
        setup.setup_copy_outputs(scene, layer)
        self._restore.append(lambda: setup.remove_copy_outputs(scene))

    def _set_cycles(self):
        cycles = self.scene.cycles
        wanted = {}
        if self.samples is not None:
            wanted["samples"] = self.samples
        if self.labels_only:
            # Labels come from the first sample of the camera rays: one sample and no
            # bounces give the same depth and IDs at a fraction of the cost.
            wanted.update(samples=1, max_bounces=0, use_denoising=False)
        for attribute, value in wanted.items():
            self._save_attribute(cycles, attribute)
            setattr(cycles, attribute, value)

    def _save_attribute(self, owner, attribute):
        value = getattr(owner, attribute)

        def restore():
            if getattr(owner, attribute) != value:
                if attribute == "frame_current":
                    owner.frame_set(value)
                else:
                    setattr(owner, attribute, value)

        self._restore.append(restore)

    def _zero_foreign_pass_indices(self):
        # Pass indices the user set by hand on unlabelled objects would show up as
        # instances; they read 0 for the render and get their value back after.
        for ob in self.scene.objects:
            # Linked objects included: Blender lets a session change their pass index.
            if classes.is_foreign_pass_index(ob):
                value = ob.pass_index
                ob.pass_index = 0
                self._restore.append(lambda ob=ob, value=value: setattr(ob, "pass_index", value))
