"""The headless command: ``blender -b scene.blend --command ground_truth ...``."""

_handle = None


def register():
    import bpy

    from . import cli

    global _handle
    _handle = bpy.utils.register_cli_command("ground_truth", cli.main)


def unregister():
    import bpy

    global _handle
    if _handle is not None:
        bpy.utils.unregister_cli_command(_handle)
        _handle = None
