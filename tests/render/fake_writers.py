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


class AllocatingWriter(RecordingWriter):
    """Makes and frees six 3 MiB arrays per frame, as a frame's conversion does, and
    logs ``faults frame n``: the page faults the frame took."""

    def finish_frame(self, frame, info):
        import resource

        import numpy as np

        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        arrays = [np.ones(3 << 20, dtype=np.uint8) for _ in range(6)]
        assert sum(int(a[-1]) for a in arrays) == 6
        del arrays
        faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
        self._write(f"faults {frame} {faults}")
