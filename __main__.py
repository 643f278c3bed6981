"""``python -m ground_truth COMMAND ...``: the headless commands from plain Python.

With the extension's parent folder on ``sys.path`` (the folder named ``ground_truth``,
as Blender installs it). The commands that work on a scene take the .blend file first
and need the ``bpy`` module (``pip install bpy``):
``python -m ground_truth render scene.blend --output DIR ...`` does what
``blender -b scene.blend --command ground_truth render --output DIR ...`` does, with the
same arguments and exit codes.
"""

import os
import sys

from .commands import cli

USAGE = (
    "usage: python -m ground_truth {render,info,finalize} FILE.blend [ARGUMENTS ...]\n"
    "       python -m ground_truth COMMAND --help"
)


def main(argv):
    """Open the .blend file a scene command names, then run the command; the exit code."""
    if argv and argv[0] in cli.SCENE_COMMANDS and len(argv) > 1 and not argv[1].startswith("-"):
        command, blend, rest = argv[0], argv[1], argv[2:]
        if not os.path.isfile(blend):
            print(USAGE, file=sys.stderr)
            print(f"ground_truth: error: no .blend file {blend!r}", file=sys.stderr)
            return cli.USAGE_ERROR
        try:
            import bpy
        except ImportError:
            print(
                "ground_truth: the scene commands need Blender's bpy module "
                "(pip install bpy), or run them as blender -b FILE.blend --command ground_truth",
                file=sys.stderr,
            )
            return 1
        from . import register, unregister

        register()  # first, so that loading the file brings older settings up to date
        try:
            bpy.ops.wm.open_mainfile(filepath=os.path.abspath(blend))
            return cli.main([command, *rest], prog="python -m ground_truth")
        finally:
            # The bpy 4.2 and 4.5 modules crash at exit (signal 11, after the work is
            # done) while an add-on's classes are still registered.
            unregister()
    if argv and argv[0] in cli.SCENE_COMMANDS and not {"-h", "--help"} & set(argv):
        print(USAGE, file=sys.stderr)
        print(f"ground_truth: error: {argv[0]} needs the .blend file first", file=sys.stderr)
        return cli.USAGE_ERROR
    return cli.main(argv, prog="python -m ground_truth")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
