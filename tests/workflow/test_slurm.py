"""Our workflow through Snakemake's SLURM executor plugin, against a real single-node SLURM
(Debian slurm-wlm + munge) that this test starts on localhost and stops afterwards."""
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from selfalign.config import REPO_ROOT

pytestmark = [pytest.mark.workflow, pytest.mark.slow]
SNAKEMAKE = str(Path(sys.executable).parent / "snakemake")

CONF = """ClusterName=selfalign
SlurmctldHost=localhost
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
StateSaveLocation={d}/state
SlurmdSpoolDir={d}/spool
SlurmctldPidFile={d}/slurmctld.pid
SlurmdPidFile={d}/slurmd.pid
SlurmctldLogFile={d}/slurmctld.log
SlurmdLogFile={d}/slurmd.log
MpiDefault=none
ReturnToService=2
MinJobAge=300
NodeName=localhost NodeAddr=127.0.0.1 CPUs={cpus} RealMemory=16000 State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
"""


def _why_not() -> str | None:
    if os.geteuid() != 0:
        return "needs root to start slurmctld/slurmd"
    for tool in ("munged", "slurmctld", "slurmd", "sinfo", "sbatch"):
        if shutil.which(tool) is None:
            return f"{tool} not installed (apt-get install slurm-wlm munge; scripts/setup.sh does it)"
    try:
        import snakemake_executor_plugin_slurm  # noqa: F401
    except ImportError:
        return "snakemake-executor-plugin-slurm not installed"
    return None


@pytest.fixture(scope="module")
def slurm(tmp_path_factory):
    why = _why_not()
    if why:
        pytest.skip(why)
    d = Path("/tmp/selfalign-slurm")      # short path: the munge socket path has a length limit
    shutil.rmtree(d, ignore_errors=True)
    for sub in ("state", "spool"):
        (d / sub).mkdir(parents=True)
    os.chmod(d, 0o711)
    key = d / "munge.key"
    key.write_bytes(os.urandom(1024))
    os.chmod(key, 0o400)
    conf = CONF.format(d=d, cpus=os.cpu_count() or 2)
    (d / "slurm.conf").write_text(conf)
    # the job step drops SLURM_CONF, so the config must also be where slurm looks by default
    Path("/etc/slurm").mkdir(exist_ok=True)
    etc = Path("/etc/slurm/slurm.conf")
    backup = etc.read_text() if etc.exists() else None
    etc.write_text(conf)
    env = {**os.environ, "SLURM_CONF": str(d / "slurm.conf")}
    procs = [subprocess.Popen(["munged", "-F", "--force", f"--key-file={key}", f"--socket={d}/munge.sock",
                               f"--pid-file={d}/munged.pid", f"--log-file={d}/munged.log", f"--seed-file={d}/munged.seed"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    time.sleep(1)
    procs.append(subprocess.Popen(["slurmctld", "-D", "-i", "-f", str(d / "slurm.conf")], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    procs.append(subprocess.Popen(["slurmd", "-D", "-N", "localhost", "-f", str(d / "slurm.conf")], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            out = subprocess.run(["sinfo", "-h", "-o", "%T"], env=env, capture_output=True, text=True)
            if out.stdout.strip() in ("idle", "mixed"):
                break
            if any(p.poll() is not None for p in procs):
                break
            time.sleep(1)
        else:
            out = None
        if not out or out.stdout.strip() not in ("idle", "mixed"):
            logs = "".join((d / f).read_text()[-800:] for f in ("slurmctld.log", "slurmd.log") if (d / f).exists())
            pytest.skip(f"SLURM did not come up on this machine: {logs[-1500:]}")
        yield env
    finally:
        subprocess.run(["scancel", "--user=root"], env=env, capture_output=True)
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        if backup is None:
            etc.unlink(missing_ok=True)
        else:
            etc.write_text(backup)


def test_workflow_runs_as_slurm_jobs(slurm, tmp_path):
    """The model and seed stages of our Snakefile, each a SLURM job with its declared resources."""
    target = "results/slurm/gemma3-270m/seeds.jsonl"
    cfg = tmp_path / "slurm.yaml"
    cfg.write_text("experiment: slurm\ncorpus: {max_files: 60}\n"
                   "seeds: {pool: 0, count: 3, filters: {judge: false, typecheck: false}}\n")
    cmd = [SNAKEMAKE, "-s", str(REPO_ROOT / "Snakefile"), "-d", str(tmp_path), "--executor", "slurm", "--jobs", "2",
           "--cores", "2", "--slurm-no-account", "--slurm-keep-successful-logs", "--slurm-status-command", "squeue",
           "--slurm-init-seconds-before-status-checks", "1", "--default-resources", "slurm_partition=debug", "runtime=10",
           "--configfile", str(cfg), "--", target]
    out = subprocess.run(["timeout", "-s", "KILL", "600", *cmd], env=slurm, capture_output=True, text=True)
    assert out.returncode == 0, (out.stdout[-2000:], out.stderr[-3000:])
    assert sum(1 for _ in open(tmp_path / target)) == 3
    # every job went through sbatch: the plugin keeps one SLURM log per submitted job
    slurm_logs = list((tmp_path / ".snakemake" / "slurm_logs").rglob("*.log"))
    assert {p.parent.parent.name.replace("rule_", "") for p in slurm_logs} >= {"model", "seeds"}, slurm_logs
