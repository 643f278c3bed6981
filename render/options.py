"""What one Render Ground Truth run does, as immutable values built once.

The operator builds :class:`RenderOptions` from the scene's settings, the headless
command from its arguments (over the scene's settings); the render code only reads
it, and nothing writes the user's scene to pass an option. The class and instance
tables of a run are frozen too (:mod:`ground_truth.labels.tables`).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..dataset.outputs import OUTPUTS


@dataclass(frozen=True)
class RenderOptions:
    """One run's choices.

    ``outputs`` are the output keys to write (``dataset.outputs``); ``output_dir`` is
    absolute; ``frames`` are rendered in order; ``view_layer`` names the layer to
    render. ``labels_only`` renders one sample with no bounces and no RGB image;
    ``samples`` overrides the scene's Cycles samples; ``resume`` skips frames the
    dataset already holds complete (by default every frame is rendered again, as
    Blender's own Output > Overwrite does); ``distinct_copies`` gives every instanced
    copy its own ID; ``use_cycles`` renders with Cycles when the scene uses another
    engine; ``device`` renders on that Cycles device (``render.devices``; None: the
    scene's own); ``shard`` is ``(index, count, frames)`` when ``frames`` are shard
    ``index`` (from 0) of ``count`` of the frame list written as ``frames`` (a spec), for
    finalize to name the shard of a missing frame; ``quiet`` keeps Blender's own
    per-frame output (``Fra:``, ``Saved:``) out of the way.
    """

    output_dir: str
    outputs: frozenset[str]
    frames: tuple[int, ...]
    view_layer: str
    labels_only: bool = False
    samples: int | None = None
    resume: bool = False
    distinct_copies: bool = True
    use_cycles: bool = False
    device: str | None = None
    shard: tuple[int, int, str] | None = None
    quiet: bool = False

    def __post_init__(self):
        if self.labels_only and "rgb" in self.outputs:
            # Labels only: one sample and no light bounces make no image worth keeping.
            object.__setattr__(self, "outputs", self.outputs - {"rgb"})


def outputs_from_settings(settings) -> frozenset[str]:
    """The output keys ticked in ``Scene.ground_truth`` (``output_<key>``)."""
    return frozenset(output.key for output in OUTPUTS if getattr(settings, output.setting))


def options_from_settings(settings, *, output_dir, frames, view_layer, **changes):
    """:class:`RenderOptions` from ``Scene.ground_truth`` and the given values.

    ``changes`` override any option (the headless command's flags).
    """
    values = {
        "outputs": outputs_from_settings(settings),
        "labels_only": settings.labels_only,
        "resume": settings.resume,
        "distinct_copies": settings.distinct_copies,
        "samples": settings.samples or None,
    }
    values.update(changes)
    return RenderOptions(
        output_dir=output_dir, frames=tuple(frames), view_layer=view_layer, **values
    )
