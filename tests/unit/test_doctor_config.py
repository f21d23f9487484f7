"""`python -m selfalign doctor --configfile config/paper.yaml`: a line per check, pass or fail, exit 1
on a failure, never a traceback. On this machine (no GPU, no driver, no vLLM, no benchmark data,
offline) every missing piece is its own failing line; with a stand-in nvidia-smi on PATH the
driver and GPU checks read what it reports."""
import os
import stat
import subprocess
import sys

import pytest

from selfalign.config import REPO_ROOT, load
from selfalign.plan.checks import check_driver, check_gpus, config_checks

PAPER = "config/paper.yaml"


def doctor(env=None):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", **(env or {})}   # hub checks fail at once instead of retrying
    return subprocess.run([sys.executable, "-m", "selfalign", "doctor", "--configfile", PAPER], capture_output=True,
                          text=True, cwd=REPO_ROOT, timeout=300, env=env)


def fake_smi(tmp_path, driver: str, gpus: int, mib: int) -> dict:
    """An nvidia-smi that answers the two queries the doctor makes, as a driver would."""
    script = tmp_path / "nvidia-smi"
    script.write_text("#!/bin/sh\ncase \"$1\" in\n"
                      f"  --query-gpu=driver_version) for i in $(seq {gpus}); do echo {driver}; done;;\n"
                      f"  --query-gpu=name,memory.total) for i in $(seq {gpus}); do echo 'NVIDIA H100 80GB HBM3, {mib}'; done;;\n"
                      "esac\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return {"PATH": f"{tmp_path}{os.pathsep}{os.environ['PATH']}"}


def test_this_machine_gets_a_failing_line_per_missing_piece():
    if os.path.exists("/dev/nvidia0"):
        pytest.skip("a GPU machine: the lines differ")
    out = doctor()
    assert out.returncode == 1 and "Traceback" not in out.stdout + out.stderr, out.stderr[-2000:]
    lines = out.stdout.splitlines()
    assert lines and all(ln.startswith(("ok   ", "FAIL ")) for ln in lines), lines
    fails = {ln.split(":")[0][5:] for ln in lines if ln.startswith("FAIL")}
    assert {"NVIDIA driver", "vllm", "GPUs vs plan", "hub model Qwen/CodeQwen1.5-7B", "hub dataset bigcode/the-stack-dedup",
            "data humaneval_plus", "data mbpp_plus", "data livecodebench", "data evalperf", "data classeval",
            "data ds1000", "data canitedit", "data mbpp"} <= fails, lines
    assert "driver >= 580.65.06" in out.stdout and "python -m selfalign data fetch" in out.stdout
    assert any(ln.startswith(("ok   SLURM executor plugin: 2.6.1", "FAIL SLURM executor plugin")) for ln in lines)


def test_driver_and_gpus_are_read_from_nvidia_smi(tmp_path, monkeypatch):
    cfg = load(REPO_ROOT / PAPER)
    for k, v in fake_smi(tmp_path, "580.82.07", 8, 81559).items():
        monkeypatch.setenv(k, v)
    assert check_driver(cfg).ok
    c = check_gpus(cfg)
    assert c.ok and c.detail.startswith("8 x NVIDIA H100 80GB HBM3 (79.6 GiB): every job of the plan fits"), c.detail
    for k, v in fake_smi(tmp_path, "570.124.06", 2, 40960).items():
        monkeypatch.setenv(k, v)
    d = check_driver(cfg)
    assert not d.ok and d.detail.startswith("570.124.06; ") and "CUDA 13" in d.detail
    c = check_gpus(cfg)
    assert not c.ok and "deepseek-coder-33b does not fit" in c.detail     # its tensor parallel 4 on 2 GPUs


def test_a_check_that_breaks_is_a_failing_line(monkeypatch):
    import selfalign.plan.checks as D

    def broken(cfg):
        raise KeyError("boom")
    monkeypatch.setattr(D, "CONFIG_CHECKS", (broken, D.check_slurm_plugin))
    out = config_checks(load(REPO_ROOT / PAPER))
    assert out[0] == ("broken", False, "KeyError: 'boom'") and len(out) == 2
