"""SIGKILL of the harness in the middle of a run leaves no sandbox process behind."""
import os
import signal
import subprocess
import sys
import time

import pytest

from selfalign.config import REPO_ROOT

pytestmark = pytest.mark.integration

HARNESS = """
import sys
from selfalign.sandbox import Sandbox, SandboxLimits
print("started", flush=True)
Sandbox(SandboxLimits(timeout_s=60), workers=2).run_many(["import time\\ntime.sleep(50)"] * 2, 2)
"""


def _sandbox_procs(bwrap_only: bool = False) -> dict[int, bytes]:
    """Live processes whose command line binds a sandbox program dir: {pid: that dir}
    (``bwrap_only``: only chains that have reached bwrap, i.e. past setpriv's --pdeathsig)."""
    out = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmd = open(f"/proc/{pid}/cmdline", "rb").read()
            state = open(f"/proc/{pid}/stat", "rb").read().rsplit(b")", 1)[1].split()[0]
            comm = open(f"/proc/{pid}/comm", "rb").read().strip()
        except OSError:
            continue
        if state != b"Z" and b"selfalign-sbx-" in cmd and (comm == b"bwrap" or not bwrap_only):
            out[int(pid)] = next(a for a in cmd.split(b"\0") if b"selfalign-sbx-" in a)
    return out


def test_killed_harness_leaves_no_sandbox_processes(sandbox):
    before = set(_sandbox_procs().values())
    p = subprocess.Popen([sys.executable, "-c", HARNESS], cwd=REPO_ROOT, stdout=subprocess.PIPE, start_new_session=True)
    assert p.stdout.readline().strip() == b"started"
    deadline = time.time() + 20
    mine = set()
    # kill it once both chains have their parent-death signal (a harness killed earlier leaves an
    # orphan for the next Sandbox() to reap: the tests below)
    while len(mine) < 2 and time.time() < deadline:
        mine = set(_sandbox_procs(bwrap_only=True).values()) - before
        time.sleep(0.1)
    assert len(mine) == 2, "the sandboxed programs never started"
    os.kill(p.pid, signal.SIGKILL)      # the harness only; its children are in other process groups
    p.wait()
    deadline = time.time() + 10
    left = mine
    while left and time.time() < deadline:
        left = {d for d in _sandbox_procs().values() if d in mine}
        time.sleep(0.2)
    assert not left, f"sandbox processes outlived the harness: {left}"
    # what it leaves is empty cgroups at most, which the next sandbox's reaper removes
    from selfalign.sandbox.reaper import CGROUP_PREFIX, cgroup2_root, reap_orphans
    reap_orphans()
    root = cgroup2_root()
    assert not (root and list(root.rglob(f"{CGROUP_PREFIX}{p.pid}.*"))), "the dead harness's cgroups were left"


DEAD_HARNESS = """
import os, subprocess, sys
from selfalign.sandbox.reaper import Containment
uid = int(sys.argv[1])
c = Containment()
cmd = c.wrap(["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "sleep", "300"], 0)
p = subprocess.Popen(cmd, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
while open(f"/proc/{p.pid}/comm").read().strip() != "sleep":   # the chain is in place
    pass
print(p.pid, c.cgroup or "", flush=True)
os._exit(0)   # gone without cleaning up, as a harness killed before setpriv set the death signal
"""


def _alive(pid: int) -> bool:
    try:
        return open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _orphan(uid: int) -> int:
    """A sleeper under ``uid`` whose parent shell has exited (re-parented to init), unmarked."""
    out = subprocess.run(["sh", "-c", f"setpriv --reuid={uid} --regid={uid} --clear-groups sleep 300 "
                                      ">/dev/null 2>&1 & echo $!"], capture_output=True, text=True, check=True)
    return int(out.stdout)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root: sandbox uids and the orphan reaper exist in root mode only")
@pytest.mark.parametrize("cgroup", ["1", "0"], ids=["cgroup", "marker-only"])
def test_a_new_sandbox_reaps_only_what_a_dead_harness_left(cgroup):
    """A new Sandbox() kills the chain a dead harness left (found by its cgroup, or by its marker
    alone), and nothing else: not a process in systemd's DynamicUser range, not an unmarked
    orphan under a sandbox uid, not a live harness's chain."""
    from selfalign.sandbox.reaper import UID_BASE, Containment
    from selfalign.sandbox import Sandbox, reap_orphans

    if cgroup == "1" and Containment().cgroup is None:
        pytest.skip("no writable cgroup v2 here (needs root, or a cgroup delegated to this user)")
    env = {**os.environ, "SELFALIGN_SANDBOX_CGROUP": cgroup}
    out = subprocess.run([sys.executable, "-c", DEAD_HARNESS, str(UID_BASE + 999)], cwd=REPO_ROOT, env=env,
                         capture_output=True, text=True, timeout=30, check=True).stdout.split()
    left, cg = int(out[0]), (out[1] if len(out) > 1 else "")
    assert bool(cg) == (cgroup == "1")
    if cg:
        assert cg.rsplit("/", 1)[1] in open(f"/proc/{left}/cgroup").read()
    dynamic = _orphan(61184 + 100)            # a systemd DynamicUser= service's uid
    unmarked = _orphan(UID_BASE + 998)         # our uid range, but not started by us
    live_c = Containment()
    live = subprocess.Popen(live_c.wrap(["setpriv", f"--reuid={UID_BASE + 997}", f"--regid={UID_BASE + 997}",
                                         "--clear-groups", "sleep", "300"], 0))
    time.sleep(0.3)
    try:
        assert all(_alive(p) for p in (left, dynamic, unmarked, live.pid))
        Sandbox(workers=1)
        deadline = time.time() + 5
        while _alive(left) and time.time() < deadline:
            time.sleep(0.05)
        assert not _alive(left), "the dead harness's sandbox process survived"
        assert _alive(dynamic) and _alive(unmarked) and _alive(live.pid)
        assert not (cg and os.path.exists(cg)), "the dead harness's cgroup was not removed"
        assert reap_orphans() == []
    finally:
        for p in (left, dynamic, unmarked):
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
        live.kill()
        live.wait()
        live_c.close()


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root: cgroups for the sandbox are made in root mode here")
def test_persistent_workers_live_in_their_cgroup_and_close_removes_it():
    from selfalign.sandbox.cgroups import cgroup_pids
    from selfalign.sandbox import Sandbox

    sb = Sandbox(workers=2)
    cg = sb.containment.cgroup
    if cg is None:
        pytest.skip("no writable cgroup v2 here (needs root, or a cgroup delegated to this user)")
    assert [v.verdict for v in sb.run_many(["pass"] * 4, 2)] == ["pass"] * 4
    servers = {z.proc.pid for z in sb.servers.values()}
    inside = set(cgroup_pids(cg))
    assert servers and servers <= inside, (servers, inside)   # each worker's whole chain is in it
    assert sorted(p.name for p in cg.iterdir() if p.is_dir()) == ["w0", "w1"]
    sb.close()
    assert not cg.exists()
    assert not any(_alive(p) for p in inside)
