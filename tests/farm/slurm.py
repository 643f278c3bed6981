"""A real one-node SLURM cluster on this machine, brought up and torn down by the tests.

``slurm_cluster`` (session scope) installs Debian's ``slurm-wlm`` and ``munge`` when missing
(as root; it skips with the reason when it is not root or apt-get fails), then starts, all in a
private temporary folder and on free ports so that nothing of the machine's own is touched:

- ``munged`` as the munge user, with a fresh key made with dd (owner munge, mode 400) and its
  own socket;
- ``slurmctld -f CONF`` and ``slurmd -f CONF`` as root (``SlurmUser=root``), with
  ``proctrack/linuxproc``, ``task/none``, ``select/cons_tres`` (one core per task by default)
  and no accounting, the node having this machine's CPUs.

It is ready when ``sinfo`` shows the node idle. Afterwards it cancels every job, waits for the
queue to empty, stops both SLURM daemons by their pid files and munged by its pid, and
removes the folder. Commands see the cluster through ``SLURM_CONF`` (``Cluster.env``).
"""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass

import pytest
from system_packages import install_debian_packages

READY_SECONDS = 30
PROGRAMS = ("munged", "slurmctld", "slurmd", "sbatch", "squeue", "scancel", "sinfo", "scontrol")


def _find(program):
    return shutil.which(program) or shutil.which(program, path="/usr/sbin:/sbin")


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _memory_mb():
    with open("/proc/meminfo", encoding="ascii") as file:
        for line in file:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) // 1024
    return 1024


SLURM_CONF = """\
ClusterName=groundtruth
SlurmctldHost={host}(127.0.0.1)
SlurmctldPort={ctld_port}
SlurmdPort={slurmd_port}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={root}/munge/munge.socket
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/builtin
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0
MpiDefault=none
ReturnToService=2
SlurmdParameters=config_overrides
KillWait=2
StateSaveLocation={root}/state
SlurmdSpoolDir={root}/spool
SlurmctldPidFile={root}/slurmctld.pid
SlurmdPidFile={root}/slurmd.pid
SlurmctldLogFile={root}/log/slurmctld.log
SlurmdLogFile={root}/log/slurmd.log
NodeName={host} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory={memory} State=UNKNOWN
PartitionName=farm Nodes={host} Default=YES MaxTime=INFINITE State=UP
"""


@dataclass
class Cluster:
    """A running cluster: its folder, and the environment its commands need."""

    root: str
    node: str
    cpus: int

    @property
    def conf(self):
        return os.path.join(self.root, "slurm.conf")

    def env(self, **extra):
        """The current environment with ``SLURM_CONF`` pointing at this cluster."""
        return {**os.environ, "SLURM_CONF": self.conf, **extra}

    def run(self, *argv, check=True, timeout=60, env=None):
        """Run a SLURM command; ``env`` (default: this process's) gets ``SLURM_CONF`` too."""
        env = {**(os.environ if env is None else env), "SLURM_CONF": self.conf}
        result = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout)
        if check and result.returncode != 0:
            raise RuntimeError(
                f"{' '.join(argv)} exited {result.returncode}: {result.stderr.strip()}"
            )
        return result

    def sbatch(self, script, *options, env=None):
        """Submit ``script`` (``sbatch --parsable OPTIONS SCRIPT``); returns the job id.

        The job gets ``env`` (default: this process's environment), as sbatch exports it.
        """
        result = self.run("sbatch", "--parsable", *options, script, env=env)
        return result.stdout.strip().split(";")[0]

    def queued(self, job_id):
        """``{array task id or '': state}`` of the job's tasks still in the queue."""
        result = self.run("squeue", "-h", "-r", "-j", job_id, "-o", "%K %T", check=False)
        if result.returncode != 0:
            if "Invalid job id" in result.stderr:
                return {}
            raise RuntimeError(f"squeue failed: {result.stderr.strip()}")
        tasks = {}
        for line in result.stdout.splitlines():
            task, state = line.split()
            tasks["" if task == "N/A" else task] = state
        return tasks

    def wait(self, job_id, timeout=120):
        """Poll ``squeue -j`` until the job (every task of an array) has left the queue."""
        deadline = time.monotonic() + timeout
        while (tasks := self.queued(job_id)) and time.monotonic() < deadline:
            time.sleep(0.2)
        if tasks:
            raise TimeoutError(f"job {job_id} still queued after {timeout} s: {tasks}")

    def states(self, job_id):
        """``{array task id or '': (state, exit code)}`` of every task SLURM remembers."""
        result = self.run("scontrol", "show", "job", "-o", job_id)
        found = {}
        for line in result.stdout.splitlines():
            fields = dict(word.split("=", 1) for word in line.split() if "=" in word)
            task = fields.get("ArrayTaskId", "")
            found[task] = (fields["JobState"], fields["ExitCode"])
        return found

    def scancel(self, job_id, task=None):
        """Cancel a job, or one task of an array job."""
        self.run("scancel", job_id if task is None else f"{job_id}_{task}")


def _read_pid(path):
    try:
        with open(path, encoding="ascii") as file:
            return int(file.read().strip())
    except (OSError, ValueError):
        return None


def _stop(pid, name, timeout=15):
    """SIGTERM ``pid`` and wait for it to end (SIGKILL after ``timeout``)."""
    if pid is None:
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while os.path.exists(f"/proc/{pid}") and time.monotonic() < deadline:
        time.sleep(0.1)
    if os.path.exists(f"/proc/{pid}"):
        os.kill(pid, signal.SIGKILL)
        raise RuntimeError(f"{name} (pid {pid}) ignored SIGTERM for {timeout} s: killed")


def _logs(root):
    text = []
    for name in ("log/slurmctld.log", "log/slurmd.log", "munge/munged.log"):
        path = os.path.join(root, name)
        if os.path.exists(path):
            with open(path, encoding="utf-8", errors="replace") as file:
                text.append(f"--- {name}\n" + "".join(file.readlines()[-15:]))
    return "\n".join(text)


def _start(root):
    """Start munged, slurmctld and slurmd in ``root``; returns the Cluster."""
    for folder in ("state", "spool", "log"):
        os.makedirs(os.path.join(root, folder))
    munge_dir = os.path.join(root, "munge")
    os.makedirs(munge_dir)
    shutil.chown(munge_dir, "munge", "munge")
    # munged refuses a socket folder that others cannot enter, and a key others can read.
    os.chmod(munge_dir, 0o755)
    key = os.path.join(munge_dir, "munge.key")
    subprocess.run(
        ["dd", "if=/dev/urandom", f"of={key}", "bs=1024", "count=1"],
        check=True,
        capture_output=True,
    )
    shutil.chown(key, "munge", "munge")
    os.chmod(key, 0o400)
    subprocess.run(
        [
            _find("munged"),
            f"--socket={munge_dir}/munge.socket",
            f"--key-file={key}",
            f"--pid-file={munge_dir}/munged.pid",
            f"--log-file={munge_dir}/munged.log",
            f"--seed-file={munge_dir}/munged.seed",
        ],
        user="munge",
        group="munge",
        check=True,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=30,
    )
    node = socket.gethostname().split(".")[0]
    cpus = len(os.sched_getaffinity(0))
    with open(os.path.join(root, "slurm.conf"), "w", encoding="ascii") as file:
        file.write(
            SLURM_CONF.format(
                root=root,
                host=node,
                ctld_port=_free_port(),
                slurmd_port=_free_port(),
                cpus=cpus,
                memory=max(256, _memory_mb() * 8 // 10),
            )
        )
    cluster = Cluster(root, node, cpus)
    for daemon in (
        [_find("slurmctld"), "-f", cluster.conf],
        [_find("slurmd"), "-f", cluster.conf, "-N", node],
    ):
        subprocess.run(
            daemon,
            env=cluster.env(),
            check=True,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=30,
        )
    deadline = time.monotonic() + READY_SECONDS
    state = ""
    while time.monotonic() < deadline:
        state = cluster.run("sinfo", "-h", "-o", "%T", check=False).stdout.strip()
        if state == "idle":
            return cluster
        time.sleep(0.2)
    raise RuntimeError(
        f"the SLURM node is not idle after {READY_SECONDS} s (sinfo: {state!r})\n{_logs(root)}"
    )


def _stop_all(root, cluster):
    errors = []
    if cluster is not None:
        try:
            cluster.run("scancel", "--partition=farm", check=False)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                queue = cluster.run("squeue", "-h", "-o", "%i", check=False)
                if queue.returncode != 0 or not queue.stdout.strip():
                    break
                time.sleep(0.2)
        except (OSError, subprocess.SubprocessError) as error:
            errors.append(error)
    for pid_file, name in (
        ("slurmd.pid", "slurmd"),
        ("slurmctld.pid", "slurmctld"),
        ("munge/munged.pid", "munged"),
    ):
        try:
            _stop(_read_pid(os.path.join(root, pid_file)), name)
        except RuntimeError as error:
            errors.append(error)
    shutil.rmtree(root, ignore_errors=True)
    if errors:
        raise RuntimeError(f"stopping the SLURM cluster: {errors}")


@pytest.fixture(scope="session")
def slurm_cluster():
    """A one-node SLURM cluster for this test session (see the module's docstring)."""
    if os.geteuid() != 0:
        pytest.skip("the test SLURM cluster runs its daemons as root; this is not root")
    if not all(_find(program) for program in PROGRAMS):
        reason = install_debian_packages("slurm-wlm", "munge")
        if reason is not None or not all(_find(program) for program in PROGRAMS):
            pytest.skip(f"SLURM is not installed and could not be: {reason}")
    # Not under pytest's own temporary folder: munged wants a socket path everyone can enter.
    root = tempfile.mkdtemp(prefix="gt-slurm-", dir="/tmp")
    os.chmod(root, 0o755)
    cluster = None
    try:
        cluster = _start(root)
        yield cluster
    finally:
        _stop_all(root, cluster)
