"""Stand-ins for ``DatasetWriter`` in the writer process tests: picklable, and
importable by the child from the module path it is given."""

import os
import time


class RecordingWriter:
    """Appends ``frame pid info`` to a log file for each frame, ``index final`` for the
    index; fails with ENOSPC at ``fail_at``; sleeps ``seconds`` per frame."""

    def __init__(self, log, fail_at=None, seconds=0.0):
        self.log, self.fail_at, self.seconds = str(log), fail_at, seconds

    def _write(self, line):
        with open(self.log, "a") as log:
            log.write(line + "\n")

    def finish_frame(self, frame, info):
        time.sleep(self.seconds)
        if frame == self.fail_at:
            raise OSError(28, "No space left on device", f"/dataset/depth/{frame:06d}.exr")
        self._write(f"frame {frame} {os.getpid()} {info}")

    def write_index(self, final=False):
        self._write(f"index {final}")


class BlenderNeedingWriter(RecordingWriter):
    """Imports bpy while converting, which a Python beside Blender cannot."""

    def finish_frame(self, frame, info):
        import bpy  # noqa: F401

        super().finish_frame(frame, info)
