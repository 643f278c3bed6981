"""Installing the Debian packages a farm test needs, as root, when they are missing."""

import os
import shutil
import subprocess


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
