"""The temporary render state: set what the ground truth needs, restore all of it after.

``RenderSession`` is a context manager. Whatever it changes (engine, compositing,
samples, motion blur for optical flow, the compositor setup, passes, foreign pass
indices, the preview colours, particle display amounts, the current frame) is put
back on exit, whether the render finished, failed or was cancelled. Each change
registers its undo on a :class:`contextlib.ExitStack` as it is made, so every undo
runs even when an earlier one fails; the failures are chained and raised together.
"""

import contextlib

from ..errors import GroundTruthError
from ..nodes import setup
from ..scene import classes, copies, viewport
from . import devices
from .options import outputs_from_settings


class RenderSession:
    """Save the scene's render state on enter, prepare it, restore it on exit.

    ``options`` are the run's :class:`~.options.RenderOptions`, ``labels`` its
    :class:`~ground_truth.labels.tables.LabelTable`; the raw passes go to the raw folder
    of ``raw_owner`` (see ``nodes.setup.raw_output_path``).
    """

    def __init__(self, scene, view_layer, options, labels, raw_owner=None):
        self.scene = scene
        self.raw_owner = raw_owner
        self.view_layer = view_layer
        self.options = options
        self.labels = labels
        self._stack = contextlib.ExitStack()

    def __enter__(self):
        try:
            self._prepare()
        except BaseException as error:
            self._close(error)
            raise
        return self

    def __exit__(self, exc_type, exc, tb):
        self._close(exc)
        return False

    def _close(self, pending):
        """Run every undo, then report a failing one (with the render's own error, if any).

        ``pending`` is the exception the render is ending with, or None.
        """
        try:
            self._stack.close()
        except Exception as error:
            message = (
                f"Ground Truth could not put back all of the scene's settings after the "
                f"render ({error}); check the render settings"
            )
            if isinstance(pending, Exception):
                raise GroundTruthError(f"{pending}. Also: {message}") from pending
            if pending is None or isinstance(pending, GeneratorExit):
                raise GroundTruthError(message) from error
            raise  # KeyboardInterrupt and the like stay what they are

    def _prepare(self):
        scene, options = self.scene, self.options
        render = scene.render
        self._set(scene, "frame_current", scene.frame_current)
        if options.use_cycles:
            self._set(render, "engine", "CYCLES")
        if options.device is not None:
            choice = devices.use_device(scene, options.device)
            self._stack.callback(devices.restore_device, scene, choice)
        self._set(render, "use_compositing", True)
        if "flow" in options.outputs:
            # Cycles writes the Vector pass only without motion blur.
            self._set(render, "use_motion_blur", False)
        self._set_cycles()
        if scene.ground_truth.preview_colors:
            # Object colours can feed materials: render with the user's own.
            viewport.restore_colors(scene)
            self._stack.callback(viewport.refresh_colors, scene)
        self._zero_foreign_pass_indices()
        self._set_compositor()
        # Copies are read from the viewport's depsgraph: as many as the render draws.
        self._stack.enter_context(copies.render_instancing(scene))

    def _set_compositor(self):
        scene, options = self.scene, self.options
        if setup.has_setup(scene):
            # The saved setup (a farm's) goes back to the scene's own settings after.
            settings = scene.ground_truth
            for attribute in setup.ALL_PASSES:
                self._set(self.view_layer, attribute, getattr(self.view_layer, attribute))
            self._set(settings, "compositor_record", settings.compositor_record)
            self._stack.callback(
                setup.setup_compositor,
                scene,
                self.view_layer,
                settings.output_dir,
                outputs_from_settings(settings),
            )
        else:
            self._stack.callback(setup.remove_compositor, scene)
        setup.setup_compositor(
            scene, self.view_layer, options.output_dir, options.outputs, self.raw_owner
        )

    def _set_cycles(self):
        cycles = self.scene.cycles
        if self.options.samples is not None:
            self._set(cycles, "samples", self.options.samples)
        if self.options.labels_only:
            # Labels come from the first sample of the camera rays: one sample and no
            # bounces give the same depth and IDs at a fraction of the cost.
            self._set(cycles, "samples", 1)
            self._set(cycles, "max_bounces", 0)
            self._set(cycles, "use_denoising", False)

    def _set(self, owner, attribute, value):
        """Set ``owner.attribute`` to ``value``; its value now is put back on exit."""
        saved = getattr(owner, attribute)

        def restore():
            if getattr(owner, attribute) != saved:
                if attribute == "frame_current":
                    owner.frame_set(saved)
                else:
                    setattr(owner, attribute, saved)

        self._stack.callback(restore)
        if getattr(owner, attribute) != value:
            setattr(owner, attribute, value)

    def _zero_foreign_pass_indices(self):
        # Pass indices the user set by hand on unlabelled objects would show up as
        # instances; they read 0 for the render and get their value back after.
        for ob in classes.labelling_objects(self.scene):
            # Linked objects included: Blender lets a session change their pass index.
            if classes.is_foreign_pass_index(ob):
                self._set(ob, "pass_index", 0)
