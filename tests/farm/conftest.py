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


@pytest.fixture(scope="session")
def cli_parser():
    """The headless command's argument parser, once it takes what the job files pass.

    Skips (until then) unless ``render`` accepts ``--shard``, ``--shard-count`` and ``--device``
    and ``finalize`` accepts ``--frames``.
    """
    pytest.importorskip("bpy", reason="the command line module imports bpy")
    from ground_truth.commands import cli

    parser = cli.build_parser()
    probes = (
        ["render", "--output", "x", "--shard", "1/2", "--shard-count", "2", "--device", "CPU"],
        ["finalize", "x", "--frames", "1-2"],
    )
    for argv in probes:
        try:
            parser.parse_args(argv)
        except (Exception, SystemExit):
            pytest.skip(f"the command line does not take {' '.join(argv)} yet")
    return parser
