"""Fixtures of the farm tests: Node.js for the Flamenco job type, the headless command's shard
support, and (in slurm.py) a real one-node SLURM cluster."""

import shutil

import pytest
from slurm import slurm_cluster  # noqa: F401  (a fixture for the tests of this folder)
from system_packages import install_debian_packages


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "needs_shards: needs 'ground_truth render --shard' and 'python -m ground_truth' "
        "(skipped until the command line has them)",
    )


@pytest.fixture(scope="session")
def node():
    """The Node.js executable, installed from Debian's packages when missing (as root)."""
    found = shutil.which("node") or shutil.which("nodejs")
    if found is None:
        reason = install_debian_packages("nodejs")
        found = shutil.which("node") or shutil.which("nodejs")
        if found is None:
            pytest.skip(f"Node.js is needed to run the Flamenco job type: {reason}")
    return found
