"""Shared test setup: makes the repository importable as the package ``ground_truth``.

The repository root is the extension itself, so its folder name is not a valid
package name in every checkout. A symlink named ``ground_truth`` in a temporary
folder on ``sys.path`` gives tests the same import path Blender uses.
"""

import os
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_LINK_DIR = tempfile.mkdtemp(prefix="gt-import-")
os.symlink(REPO, os.path.join(_LINK_DIR, "ground_truth"))
sys.path.insert(0, _LINK_DIR)
