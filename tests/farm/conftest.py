"""Fixtures of the farm tests: Node.js for the Flamenco job type, the headless command's shard
support, and (in slurm.py) a real one-node SLURM cluster."""

import os
import shutil
import subprocess

import pytest


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "needs_shards: needs 'ground_truth render --shard' and 'python -m ground_truth' "
        "(skipped until the command line has them)",
    )


def install_debian_packages(*packages):
    """``apt-get install`` as root; returns None, or why it could not be done."""
    if os.geteuid() != 0:
        return f"not root, so {' '.join(packages)} cannot be installed with apt-get"
    if shutil.which("apt-get") is None:
        return "no apt-get on this machine"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    command = ["apt-get", "install", "-y", "--no-install-recommends", *packages]

    def run(argv):
        return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=900)

    result = run(command)
    if result.returncode != 0:
        run(["apt-get", "update"])  # the package lists may be missing or stale
        result = run(command)
    if result.returncode == 0:
        return None
    return f"apt-get install {' '.join(packages)} failed: {result.stderr.strip()[-500:]}"


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
