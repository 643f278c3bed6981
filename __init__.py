"""Ground Truth: pixel-exact labels for computer vision from one Cycles render.

This module only registers. The sub-packages are imported inside ``register()``
so that the Blender-free packages (``codecs``, ``dataset`` with its reader,
``labels``, ``geometry``, ``preview``) import without Blender, and
``python -m ground_truth`` runs the dataset commands from plain Python.
"""

import importlib

# Registration order: properties first (operators and panels use them), panels last.
_SUBPACKAGES = ("properties", "nodes", "operators", "panels", "commands")


def _modules():
    return [importlib.import_module(f".{name}", __package__) for name in _SUBPACKAGES]


def register():
    for module in _modules():
        module.register()


def unregister():
    for module in reversed(_modules()):
        module.unregister()
