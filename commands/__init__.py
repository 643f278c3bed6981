"""The headless command: ``blender -b scene.blend --command ground_truth ...``."""

import bpy

from . import cli

_handle = None


def register():
    global _handle
    _handle = bpy.utils.register_cli_command("ground_truth", cli.main)


def unregister():
    global _handle
    if _handle is not None:
        bpy.utils.unregister_cli_command(_handle)
        _handle = None
