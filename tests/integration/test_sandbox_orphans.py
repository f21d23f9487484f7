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


def _sandbox_procs() -> dict[int, bytes]:
    """Live processes whose command line binds a sandbox program dir: {pid: that dir}."""
    out = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmd = open(f"/proc/{pid}/cmdline", "rb").read()
            state = open(f"/proc/{pid}/stat", "rb").read().rsplit(b")", 1)[1].split()[0]
        except OSError:
            continue
        if state != b"Z" and b"selfalign-sbx-" in cmd:
            out[int(pid)] = next(a for a in cmd.split(b"\0") if b"selfalign-sbx-" in a)
    return out


def test_killed_harness_leaves_no_sandbox_processes(sandbox):
    before = set(_sandbox_procs().values())
    p = subprocess.Popen([sys.executable, "-c", HARNESS], cwd=REPO_ROOT, stdout=subprocess.PIPE, start_new_session=True)
    assert p.stdout.readline().strip() == b"started"
    deadline = time.time() + 20
    mine = set()
    while len(mine) < 2 and time.time() < deadline:
        mine = set(_sandbox_procs().values()) - before
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


@pytest.mark.skipif(os.geteuid() != 0, reason="sandbox uids exist in root mode only")
def test_a_new_sandbox_reaps_orphans_of_a_dead_harness():
    """A process under a sandbox uid whose harness died (re-parented to init) is killed when the
    next sandbox starts; a child of a live parent under the same uid is left alone."""
    from selfalign.sandbox import UID_BASE, Sandbox, reap_orphans

    uid = UID_BASE + 999
    # the shell starts the sleeper in the background and exits: the sleeper is re-parented to init
    subprocess.run(["sh", "-c", f"setpriv --reuid={uid} --regid={uid} --clear-groups sleep 300 >/dev/null 2>&1 &"], check=True)
    live = subprocess.Popen(["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "sleep", "300"])
    time.sleep(0.3)

    def sleepers():
        out = []
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                st = open(f"/proc/{pid}/status").read()
            except OSError:
                continue
            if f"Uid:\t{uid}\t" in st and "State:\tZ" not in st:
                out.append(int(pid))
        return sorted(out)

    assert len(sleepers()) == 2
    Sandbox(workers=1)
    time.sleep(0.3)
    try:
        assert sleepers() == [live.pid]
        assert reap_orphans() == []
    finally:
        live.kill()
        live.wait()
