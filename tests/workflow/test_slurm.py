"""Our workflow through profiles/slurm and Snakemake's SLURM executor plugin, against a private
single-node SLURM (Debian slurm-wlm + munge) that this test starts and stops.

Private means it touches nothing of the host's SLURM: config, state, spool, logs, munge key and
socket live in the test's temp dir, the daemons listen on ports picked free, and every command
(daemons, sbatch, the jobs) runs in a mount namespace of its own in which our config directory is
bind-mounted over /etc/slurm. That last part is needed because the plugin's job step drops
SLURM_CONF before calling srun (snakemake_executor_plugin_slurm_jobstep: it strips SLURM_* from
srun's environment), so srun inside a job reads the compiled-in default /etc/slurm/slurm.conf;
in our namespace that path is our file, on the host nothing changes (asserted byte for byte).
Only job ids of this private controller are ever cancelled.
"""
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from selfalign.config import REPO_ROOT

pytestmark = [pytest.mark.workflow, pytest.mark.slow]
SNAKEMAKE = str(Path(sys.executable).parent / "snakemake")
PROFILE = str(REPO_ROOT / "profiles" / "slurm")
DEFAULT_CONF = Path("/etc/slurm/slurm.conf")     # compiled into Debian's/Ubuntu's libslurm
HOST_TREES = ("/etc/slurm", "/etc/munge")          # must be byte-identical afterwards
HOST_ABSENT = ("/run/slurm", "/var/spool/slurmd", "/var/spool/slurmctld", "/var/log/slurm", "/var/lib/slurm")
TOOLS = ("munged", "slurmctld", "slurmd", "sinfo", "sbatch", "squeue", "scontrol", "scancel", "unshare", "nsenter")

CONF = """ClusterName={cluster}
SlurmctldHost=localhost
SlurmctldPort={ctld_port}
SlurmdPort={slurmd_port}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={d}/munge.sock
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
GresTypes=gpu
StateSaveLocation={d}/state
SlurmdSpoolDir={d}/spool
SlurmctldPidFile={d}/slurmctld.pid
SlurmdPidFile={d}/slurmd.pid
SlurmctldLogFile={d}/slurmctld.log
SlurmdLogFile={d}/slurmd.log
PlugStackConfig={d}/etc/plugstack.conf
MpiDefault=none
ReturnToService=2
MinJobAge=300
# The node's CPUs, memory and GPUs as configured, not as probed: the plan asks a GPU job for 8 CPUs
# a GPU and tens of GB, more than this machine has (nothing here enforces them: task/none).
SlurmdParameters=config_overrides
# A GPU node that never comes up: a GPU job to it is accepted and pends, and shows its request.
# (Listed first: while "localhost" is the only node, slurm resolves any node name to it.)
NodeName=gpu0 NodeAddr=127.0.0.2 Port={gpu_port} CPUs=32 RealMemory=64000 Gres=gpu:1 State=DOWN Reason=no-gpu-on-this-machine
# localhost has 4 fake GPUs: files the test creates, listed in gres.conf (GRES_CONF below)
NodeName=localhost NodeAddr=127.0.0.1 CPUs=32 RealMemory=64000 Gres=gpu:4 State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
PartitionName=gpu Nodes=gpu0 MaxTime=INFINITE State=UP
"""


# gres/gpu needs a character device per GPU: the test makes four in its temp dir with NVIDIA's
# numbers (major 195, as /dev/nvidia0-3), which nothing opens (cgroup device constraints are off);
# /dev is untouched. Slurm sets each job step's CUDA_VISIBLE_DEVICES from them.
GRES_CONF = "NodeName=localhost Name=gpu File={d}/dev/nvidia[0-3]\n"


def _tree(path: str):
    """Everything under ``path`` (names, modes, owners, contents), or None when it is absent."""
    p = Path(path)
    if not p.exists() and not p.is_symlink():
        return None
    out = {}
    for f in [p, *sorted(p.rglob("*"))] if p.is_dir() else [p]:
        st = f.lstat()
        body = os.readlink(f) if f.is_symlink() else (hashlib.sha256(f.read_bytes()).hexdigest() if f.is_file() else "")
        out[str(f.relative_to(p))] = (st.st_mode, st.st_uid, st.st_gid, body)
    return out


def _host_state() -> dict:
    return {**{p: _tree(p) for p in HOST_TREES}, **{p: os.path.exists(p) for p in HOST_ABSENT}}


def _system_slurm() -> str:
    """A line about the host's own SLURM, if it has one configured (for skip reasons)."""
    found = [p for p in (str(DEFAULT_CONF), "/run/slurm/conf/slurm.conf") if os.path.exists(p)]
    if os.environ.get("SLURM_CONF"):
        found.append(f"SLURM_CONF={os.environ['SLURM_CONF']}")
    return f"; a system SLURM is configured here ({', '.join(found)})" if found else ""


def _why_not() -> str | None:
    if os.geteuid() != 0:
        return ("needs root: slurmd/slurmctld run as root, and the private mount namespace that keeps the "
                "test off the host's /etc/slurm needs CAP_SYS_ADMIN" + _system_slurm())
    for tool in TOOLS:
        if shutil.which(tool) is None:
            return (f"needs the system packages slurm-wlm and munge ({tool} not found; "
                    f"SELFALIGN_CLUSTER_PACKAGES=1 scripts/setup.sh installs them as root)")
    try:
        import snakemake_executor_plugin_slurm  # noqa: F401
    except ImportError:
        return "needs snakemake-executor-plugin-slurm (the test extra: pip install -e '.[test]')"
    if not DEFAULT_CONF.parent.is_dir():
        return (f"SLURM's default config directory {DEFAULT_CONF.parent} does not exist: the test mounts its own "
                f"config over it in a private mount namespace and will not create it on the host")
    return None


def _free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


class PrivateSlurm:
    """The private cluster: ``cmd(...)`` runs a command inside its mount namespace."""

    def __init__(self, d: Path):
        self.d = d
        self.conf = d / "etc" / "slurm.conf"
        self.cluster = f"selfalign-test-{os.getpid()}"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("SLURM_", "SBATCH_", "SRUN_", "SQUEUE_"))}
        self.env["SLURM_CONF"] = str(self.conf)
        # the jobs' `python -m selfalign` is this checkout's package, as the Snakefile is
        self.env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))
        self.holder: subprocess.Popen | None = None
        self.daemons: list[subprocess.Popen] = []
        self.job_ids: set[str] = set()

    def cmd(self, args: list[str], cwd: Path | str | None = None) -> list[str]:
        return ["nsenter", f"--target={self.holder.pid}", "--mount", f"--wd={cwd or self.d}", "--", *args]

    def run(self, args: list[str], **kw) -> subprocess.CompletedProcess:
        return subprocess.run(self.cmd(args), env=self.env, capture_output=True, text=True, timeout=60, **kw)

    def start(self) -> None:
        d = self.d
        for sub in ("state", "spool", "etc"):
            (d / sub).mkdir()
        os.chmod(d, 0o711)                       # munged wants its socket dir not writable by others
        key = d / "munge.key"
        key.write_bytes(os.urandom(1024))
        os.chmod(key, 0o400)
        ctld, slurmd, gpu = _free_ports(3)
        self.conf.write_text(CONF.format(d=d, cluster=self.cluster, ctld_port=ctld, slurmd_port=slurmd, gpu_port=gpu,
                                         cpus=os.cpu_count() or 2))
        (d / "etc" / "plugstack.conf").write_text("")
        (d / "etc" / "gres.conf").write_text(GRES_CONF.format(d=d))
        (d / "dev").mkdir()
        for k in range(4):
            os.mknod(d / "dev" / f"nvidia{k}", 0o600 | stat.S_IFCHR, os.makedev(195, k))
        # the namespace: a holder process whose mount namespace has our etc/ over /etc/slurm
        self.holder = subprocess.Popen(
            ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c",
             'mount --bind "$0" /etc/slurm && echo ready && exec sleep 86400', str(d / "etc")],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
        if self.holder.stdout.readline().strip() != "ready":
            err = self.holder.stderr.read()
            self.holder.wait()
            pytest.skip(f"cannot isolate a private SLURM (private mount namespace failed: {err.strip()})"
                        + _system_slurm())
        quiet = dict(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=self.env, start_new_session=True)
        self.daemons.append(subprocess.Popen(self.cmd(
            ["munged", "-F", "--force", f"--key-file={key}", f"--socket={d}/munge.sock", f"--pid-file={d}/munged.pid",
             f"--log-file={d}/munged.log", f"--seed-file={d}/munged.seed"]), **quiet))
        deadline = time.time() + 10
        while not (d / "munge.sock").exists() and time.time() < deadline:
            time.sleep(0.1)
        self.daemons.append(subprocess.Popen(self.cmd(["slurmctld", "-D", "-i", "-f", str(self.conf)]), **quiet))
        self.daemons.append(subprocess.Popen(self.cmd(["slurmd", "-D", "-N", "localhost", "-f", str(self.conf)]), **quiet))
        deadline = time.time() + 60
        state = ""
        while time.time() < deadline and all(p.poll() is None for p in self.daemons):
            state = self.run(["sinfo", "-h", "-n", "localhost", "-o", "%T"]).stdout.strip()
            if state in ("idle", "mixed"):
                # what a job step's srun sees without SLURM_CONF: the default path, i.e. our file
                seen = self.run(["env", "-u", "SLURM_CONF", "scontrol", "show", "config"]).stdout
                if self.cluster not in seen:
                    pytest.skip(f"this SLURM build does not read {DEFAULT_CONF} by default: cannot isolate its "
                                f"job steps" + _system_slurm())
                return
            time.sleep(1)
        logs = "".join((d / f).read_text()[-800:] for f in ("slurmctld.log", "slurmd.log") if (d / f).exists())
        raise AssertionError(f"the private SLURM did not come up (node state {state!r}): {logs[-1500:]}")

    def queue(self) -> set[str]:
        """Job ids in *this* controller's queue (all submitted by this test: the controller is ours)."""
        out = self.run(["squeue", "-h", "-o", "%i"]).stdout.split()
        self.job_ids |= set(out)
        return set(out)

    def stop(self) -> None:
        if self.holder is None:
            return
        try:
            ids = sorted(self.queue() | self.job_ids) if all(p.poll() is None for p in self.daemons[1:]) else []
            if ids:
                self.run(["scancel", *ids])          # our own job ids only, never --user
                deadline = time.time() + 30
                while self.queue() and time.time() < deadline:
                    time.sleep(1)
        finally:
            for p in reversed(self.daemons):
                p.terminate()
            for p in self.daemons:
                try:
                    p.wait(15)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
            # anything still in our mount namespace (job steps, a stray slurmstepd) is ours
            ns = os.readlink(f"/proc/{self.holder.pid}/ns/mnt")
            for pid in filter(str.isdigit, os.listdir("/proc")):
                try:
                    if int(pid) != self.holder.pid and os.readlink(f"/proc/{pid}/ns/mnt") == ns:
                        os.kill(int(pid), signal.SIGKILL)
                except OSError:
                    pass
            self.holder.kill()
            self.holder.wait()


@pytest.fixture(scope="module")
def slurm(tmp_path_factory):
    why = _why_not()
    if why:
        pytest.skip(why)
    before = _host_state()
    d = tmp_path_factory.mktemp("slurm")
    assert len(str(d / "munge.sock")) < 100, f"temp dir too long for a unix socket: {d}"
    cluster = PrivateSlurm(d)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
        assert _host_state() == before, "the SLURM test changed the host's SLURM/munge files"


def _snakemake(slurm: PrivateSlurm, workdir: Path, cfg: Path, *extra: str) -> list[str]:
    """A Snakemake run through profiles/slurm, with what a cluster without accounting needs: job
    status from squeue (which sees jobs for MinJobAge=300 s), since sacct has nothing. (The
    profile's empty slurm_account makes the plugin try sacct for one and go on without.)"""
    return slurm.cmd(["timeout", "-s", "KILL", "600", SNAKEMAKE, "-s", str(REPO_ROOT / "Snakefile"), "-d", str(workdir),
                      "--workflow-profile", PROFILE, "--jobs", "2", "--cores", "2", "--latency-wait", "5",
                      "--slurm-keep-successful-logs", "--slurm-status-command", "squeue",
                      "--slurm-init-seconds-before-status-checks", "1", "--configfile", str(cfg), *extra], cwd=workdir)


def test_workflow_runs_as_slurm_jobs(slurm, tmp_path):
    """The model and seed stages of our Snakefile, each a SLURM job with its declared resources."""
    target = "results/slurm/gemma3-270m/seeds.jsonl"
    cfg = tmp_path / "slurm.yaml"
    cfg.write_text("experiment: slurm\nteacher: null\ncorpus: {max_files: 60}\n"
                   "seeds: {pool: 0, count: 3, filters: {judge: false, typecheck: false}}\n")
    out = subprocess.run(_snakemake(slurm, tmp_path, cfg, "--", target), env=slurm.env, capture_output=True, text=True)
    assert out.returncode == 0, (out.stdout[-2000:], out.stderr[-3000:])
    assert sum(1 for _ in open(tmp_path / target)) == 3
    # every job went through sbatch: the plugin keeps one SLURM log per submitted job
    slurm_logs = list((tmp_path / ".snakemake" / "slurm_logs").rglob("*.log"))
    assert {p.parent.parent.name.replace("rule_", "") for p in slurm_logs} >= {"model", "seeds"}, slurm_logs


def test_gpu_rule_job_requests_its_gpu(slurm, tmp_path):
    """A rule with gpu=1 (the seed stage of a vLLM model whose sheet row says 1 GPU), submitted
    through the profile to a GPU partition: its job asks SLURM for the GPU. The partition's node
    never comes up (this machine has no GPU), so the job is only checked while it pends."""
    model = "starcoder2-3b"                     # config/models.tsv: vllm, gpus 1
    (tmp_path / "results" / "_models").mkdir(parents=True)
    (tmp_path / "results" / "_models" / f"{model}.json").write_text("{}")   # its weights: not needed to submit
    cfg = tmp_path / "gpu.yaml"
    cfg.write_text(f"experiment: gpu\nmodel: {model}\nteacher: null\n")
    proc = subprocess.Popen(_snakemake(slurm, tmp_path, cfg, "--set-resources", "seeds:slurm_partition=gpu",
                                       "--rerun-triggers", "mtime", "--", f"results/gpu/{model}/seeds.jsonl"),
                            env=slurm.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        job, deadline = None, time.time() + 120
        while job is None and time.time() < deadline and proc.poll() is None:
            ids = slurm.run(["squeue", "-h", "-p", "gpu", "-o", "%i"]).stdout.split()
            slurm.job_ids |= set(ids)
            job = ids[0] if ids else None
            time.sleep(1)
        assert job, f"no job reached the gpu partition: {proc.stdout.read()[-3000:] if proc.poll() is not None else ''}"
        show = slurm.run(["scontrol", "show", "job", job]).stdout
        assert re.search(r"TresPerJob=\S*gpu:1\b", show), show
        assert "Partition=gpu " in show and "JobState=PENDING" in show, show
        # mem_mb and runtime from the plan (selfalign/plan: vLLM on 1 GPU; cluster.runtime_min.generate)
        assert _min_memory_mb(show) == _plan(model, 'seeds').mem_mb and "TimeLimit=12:00:00" in show, show
        assert "NumTasks=1 " in show and "NumNodes=1" in show, show
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)        # (via timeout) snakemake cancels the jobs it submitted
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if slurm.job_ids:
            slurm.run(["scancel", *sorted(slurm.job_ids)])


def _min_memory_mb(show: str) -> int:
    """scontrol's MinMemoryNode (12800M, or 12.50G) in MB."""
    num, unit = re.search(r"MinMemoryNode=([\d.]+)([MGT])", show).groups()
    return round(float(num) * {"M": 1, "G": 1024, "T": 1024 ** 2}[unit])


def _plan(model: str, stage: str, extra: dict | None = None):
    """The plan of a job as the Snakefile makes it (config/config.yaml, then the test's config)."""
    from selfalign.config import deep_merge, read_yaml
    from selfalign.workflow import Workflow
    cfg = deep_merge(read_yaml(REPO_ROOT / "config" / "config.yaml"), {"experiment": "x", "model": model, "teacher": None, **(extra or {})})
    return Workflow(cfg).plan("x", stage)


def test_a_4_gpu_training_job_is_one_task_that_sees_4_gpus_and_starts_4_processes(slurm, tmp_path):
    """The train rule of a run planned on 4 GPUs, through profiles/slurm to localhost's 4 fake
    GPUs: SLURM allocates one task on one node with the 4 GPUs (the rules' tasks_per_gpu=0,
    nodes=1; the plugin's default --ntasks-per-gpu=1 would make it 4 tasks), the job's one step
    sees CUDA_VISIBLE_DEVICES=0,1,2,3, and its `accelerate launch` starts the 4 planned training
    processes (each logs its rank; with no SFT pair they stop there, train.min_examples: 0)."""
    exp, model = "gpu4", "gemma3-270m"
    extra = {"train": {"method": "full", "gpus": 4, "min_examples": 0, "batch_size": 1, "effective_batch_size": 8},
             "cluster": {"gpus_per_node": 4}}
    cfg = tmp_path / "gpu4.yaml"
    cfg.write_text(f"experiment: {exp}\nmodel: {model}\nteacher: null\n"
                   "train: {method: full, gpus: 4, min_examples: 0, batch_size: 1, effective_batch_size: 8}\n"
                   "cluster: {gpus_per_node: 4}\n")
    plan = _plan(model, "train", extra)
    assert (plan.gpus, plan.strategy) == (4, "ddp")
    (tmp_path / "results" / "_models").mkdir(parents=True)
    (tmp_path / "results" / "_models" / f"{model}.json").write_text("{}")
    (tmp_path / "results" / exp / model).mkdir(parents=True)
    (tmp_path / "results" / exp / model / "sft.jsonl").write_text("")
    out = subprocess.run(_snakemake(slurm, tmp_path, cfg, "--allowed-rules", "train", "stage_config",
                                    "--rerun-triggers", "mtime", "--", f"results/{exp}/{model}/sft_model"),
                         env=slurm.env, capture_output=True, text=True)
    assert out.returncode == 0, (out.stdout[-2000:], out.stderr[-3000:])
    m = json.loads((tmp_path / "results" / exp / model / "sft_model" / "train_manifest.json").read_text())
    assert (m["world_size"], m["cuda_visible_devices"]) == (4, "0,1,2,3"), m
    started = re.findall(r"training process (\d) of (\d) started \(CUDA_VISIBLE_DEVICES=([\d,]+)\)",
                         (tmp_path / "logs" / exp / model / "train.log").read_text())
    assert sorted(started) == [(str(k), "4", "0,1,2,3") for k in range(4)], started
    logs = list((tmp_path / ".snakemake" / "slurm_logs" / "rule_train").rglob("*.log"))
    assert len(logs) == 1, logs
    job = logs[0].stem
    slurm.job_ids.add(job)
    show = slurm.run(["scontrol", "show", "job", job]).stdout
    assert "JobState=COMPLETED" in show and "NumNodes=1 " in show and "NumTasks=1 " in show, show
    assert re.search(r"TresPerJob=\S*gpu:4\b", show) and _min_memory_mb(show) == plan.mem_mb, show
    assert f"CPUs/Task={plan.cpus} " in show, show


def test_skip_reasons_say_what_is_needed(monkeypatch):
    """Without root or without the packages, the test is skipped saying so (not failed)."""
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert _why_not().startswith("needs root")
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    real = shutil.which
    monkeypatch.setattr(shutil, "which", lambda t: None if t == "slurmctld" else real(t))
    assert "needs the system packages slurm-wlm and munge" in _why_not()
