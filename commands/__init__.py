"""The headless command: ``blender -b scene.blend --command ground_truth ...``.

bpy is imported in ``register()`` only, so that the bpy-free dataset commands
(:mod:`.dataset_commands`) import without Blender.
"""

_handle = None


def register():
    global _handle
    import bpy

    from . import cli

    _handle = bpy.utils.register_cli_command("ground_truth", cli.main)


def unregister():
    global _handle
    if _handle is not None:
        import bpy

        bpy.utils.unregister_cli_command(_handle)
        _handle = None
