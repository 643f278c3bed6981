"""Choose the Cycles device of a headless render: the CPU, or every GPU of one kind.

Cycles renders on the GPU when ``scene.cycles.device`` is ``'GPU'``, and then on the devices
ticked in the Cycles add-on's preferences (``compute_device_type`` and each entry of
``devices``). A farm node has no one to tick them, and a saved user preference may name GPUs of
another machine, so ``use_device(scene, kind)`` sets both from what Cycles detects now:

- ``CPU``: ``scene.cycles.device = 'CPU'``; the preferences are left alone (Cycles ignores
  them for CPU renders).
- ``CUDA``, ``OPTIX``, ``HIP``, ``ONEAPI``, ``METAL``: ``compute_device_type = kind``, every
  device of that kind that Cycles detects in this process is ticked, every other entry is
  unticked (the CPU too: on a node shared by one process per GPU, CPU threads of each process
  would only compete with the others), and ``scene.cycles.device = 'GPU'``.

Which GPUs a process sees is decided by the vendor's runtime before Cycles asks, from
``CUDA_VISIBLE_DEVICES`` (CUDA and OptiX), ``HIP_VISIBLE_DEVICES`` / ``ROCR_VISIBLE_DEVICES``
(HIP) and ``ONEAPI_DEVICE_SELECTOR`` (oneAPI): with ``CUDA_VISIBLE_DEVICES=1`` Cycles sees one
CUDA device and that is the one used. This is how one process per GPU is run on a node, and how
SLURM and Kubernetes hand a task its GPUs. Entries of the preferences that Cycles does not
detect now (remembered from another machine or from before the variable was set) are never used.

``use_device`` restores nothing itself: it returns a :class:`DeviceChoice` holding what it
found, which :func:`restore_device` (or the caller's render session) puts back after the render.
Blender does not save preferences in background mode, so a headless run changes nothing on disk.
"""

import os
from dataclasses import dataclass

import bpy

from ..errors import GroundTruthError

KINDS = ("CPU", "CUDA", "OPTIX", "HIP", "ONEAPI", "METAL")
GPU_KINDS = KINDS[1:]

# The variables through which each vendor's runtime hides GPUs from a process.
VISIBILITY = {
    "CUDA": ("CUDA_VISIBLE_DEVICES",),
    "OPTIX": ("CUDA_VISIBLE_DEVICES",),
    "HIP": ("HIP_VISIBLE_DEVICES", "ROCR_VISIBLE_DEVICES"),
    "ONEAPI": ("ONEAPI_DEVICE_SELECTOR",),
    "METAL": (),
}


@dataclass(frozen=True)
class DeviceChoice:
    """What ``use_device`` did, and what was there before it, for the caller to restore.

    ``devices`` names the devices that render. ``previous_*`` hold the state found: the scene's
    device, and, when the preferences were changed (GPU kinds only), the compute device type
    and the ``use`` tick of every device entry as ``((type, id), use)`` pairs. Entries the
    device refresh itself added are recorded as Cycles' refresh left them.
    """

    kind: str
    devices: tuple
    previous_scene_device: str
    previous_compute_device_type: str | None = None
    previous_use: tuple = ()

    @property
    def changed_preferences(self):
        return self.previous_compute_device_type is not None


def cycles_preferences():
    """The Cycles add-on's preferences; GroundTruthError when Cycles is not enabled."""
    addon = bpy.context.preferences.addons.get("cycles")
    if addon is None:
        raise GroundTruthError(
            "The Cycles add-on is not enabled, so no render device can be chosen: "
            "enable it in Preferences > Add-ons"
        )
    return addon.preferences


def detected_devices(prefs, kind):
    """``(name, type, id)`` of the devices of ``kind`` Cycles detects in this process now."""
    return [
        (device[0], device[1], device[2])
        for device in prefs.get_device_list(kind)
        if device[1] == kind
    ]


def describe_detected(prefs):
    """What Cycles detects, for messages: ``'CUDA (NVIDIA H200), CPU (AMD EPYC)'``."""
    seen = []
    for kind in (*GPU_KINDS, "CPU"):
        names = sorted({name for name, _type, _id in detected_devices(prefs, kind)})
        if names:
            seen.append(f"{kind} ({', '.join(names)})")
    return ", ".join(seen) or "nothing"


def use_device(scene, kind):
    """Render ``scene`` with Cycles on ``kind`` (one of ``KINDS``); return a DeviceChoice.

    Raises GroundTruthError, leaving the scene and the preferences as they were, when the kind
    is unknown or Cycles detects no device of it (the message says what Cycles does see and
    which variable may be hiding the devices).
    """
    kind = kind.upper()
    if kind not in KINDS:
        raise GroundTruthError(f"Unknown device {kind!r}: choose one of {', '.join(KINDS)}")
    prefs = cycles_preferences()
    previous_scene_device = scene.cycles.device
    if kind == "CPU":
        scene.cycles.device = "CPU"
        names = tuple(name for name, _type, _id in detected_devices(prefs, "CPU"))
        return DeviceChoice("CPU", names, previous_scene_device)

    # Cycles' own refresh (what drawing its preferences does): adds entries for new devices.
    prefs.refresh_devices()
    found = detected_devices(prefs, kind)
    if not found:
        raise GroundTruthError(
            f"No {kind} device found (Cycles sees: {describe_detected(prefs)}). {_hint(kind)}"
        )
    previous = DeviceChoice(
        kind,
        tuple(name for name, _type, _id in found),
        previous_scene_device,
        prefs.compute_device_type,
        tuple(((entry.type, entry.id), entry.use) for entry in prefs.devices),
    )
    chosen = {(kind, device_id) for _name, _type, device_id in found}
    prefs.compute_device_type = kind
    for entry in prefs.devices:
        entry.use = (entry.type, entry.id) in chosen
    scene.cycles.device = "GPU"
    return previous


def _hint(kind):
    if kind == "METAL":
        return "Metal needs macOS with an Apple Silicon or AMD GPU; render with --device CPU."
    shown = [f"{name}={os.environ[name]!r}" for name in VISIBILITY[kind] if name in os.environ]
    if shown:
        return (
            f"Check the GPU driver and {' and '.join(shown)} (only the GPUs it names are "
            "visible to Cycles), or render with --device CPU."
        )
    return "Check the GPU driver, or render with --device CPU."


def restore_device(scene, choice):
    """Put back what ``use_device`` found: the scene's device and the Cycles preferences."""
    scene.cycles.device = choice.previous_scene_device
    if not choice.changed_preferences:
        return
    prefs = cycles_preferences()
    prefs.compute_device_type = choice.previous_compute_device_type
    used = dict(choice.previous_use)
    for entry in prefs.devices:
        key = (entry.type, entry.id)
        if key in used:
            entry.use = used[key]
