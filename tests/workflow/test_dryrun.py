"""Every shipped config gives a complete DAG in a dry run."""
import re
import subprocess
import sys
from pathlib import Path

import pytest

from selfalign.config import REPO_ROOT

pytestmark = pytest.mark.workflow
SNAKEMAKE = str(Path(sys.executable).parent / "snakemake")


def dry(*extra):
    return subprocess.run([SNAKEMAKE, "-n", "--cores", "all", *extra], capture_output=True, text=True, cwd=REPO_ROOT,
                          timeout=300)


def jobs(out: str) -> dict:
    table = out.split("Job stats:")[1].split("total")[0]
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.M)}


@pytest.mark.parametrize("configfile", ["config/config.yaml", "config/ci.yaml", "config/cpu-qwen.yaml"])
def test_cpu_configs_dry_run(configfile, tmp_path):
    out = dry("--configfile", configfile, "--config", f"results_dir={tmp_path}/results")
    assert out.returncode == 0, out.stderr[-2000:]
    j = jobs(out.stdout)
    for rule in ("seeds", "concepts", "instructions", "responses", "execute", "select", "train", "evaluate_base",
                 "evaluate_sft", "paper", "dataset_card"):
        assert j.get(rule) == 1, (rule, j)


def test_paper_config_dry_run_has_every_ablation(tmp_path):
    out = dry("--configfile", "config/paper.yaml", "--config", f"results_dir={tmp_path}/results")
    assert out.returncode == 0, out.stderr[-2000:]
    j = jobs(out.stdout)
    assert j["train"] == 4 and j["select"] == 4             # main + 3 ablations
    assert j["evaluate_sft"] == 4 * 8 and j["evaluate_base"] == 8
    # shared upstream: the selection ablations reuse the main run's data; S->I shares only the seeds
    assert j["seeds"] == 1 and j["concepts"] == 1
    assert j["instructions"] == j["responses"] == j["execute"] == 2


def test_bad_config_fails_with_one_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("select: {mode: best}\n")
    out = dry("--configfile", str(bad))
    assert out.returncode != 0
    assert 'select.mode: "best" is not allowed' in out.stderr + out.stdout
