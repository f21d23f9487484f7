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
    for rule in ("seeds", "concepts", "instructions", "responses", "execute", "select", "train", "eval_generate_base",
                 "eval_score_base", "eval_generate_sft", "eval_score_sft", "paper", "dataset_card"):
        assert j.get(rule) == 1, (rule, j)


def test_paper_config_dry_run_has_every_ablation(tmp_path):
    out = dry("--configfile", "config/paper.yaml", "--config", f"results_dir={tmp_path}/results")
    assert out.returncode == 0, out.stderr[-2000:]
    j = jobs(out.stdout)
    # main + 6 ablations of its own (2 selection, S->I, random snippets, 2 sample counts) + 5 teachers
    # (codeqwen1.5-7b teaching itself is self-alignment at the teacher learning rate)
    assert j["train"] == 12 and j["select"] == 12
    assert j["eval_generate_sft"] == j["eval_score_sft"] == 12 * 8
    assert j["eval_generate_base"] == j["eval_score_base"] == 8
    # shared upstream: the selection ablations reuse the main run's data; S->I shares only the seeds,
    # random snippets nothing; the sample counts share the instructions; each other teacher
    # generates its own data (seeds judged by it, too) with its own weights
    assert j["seeds"] == 6 and j["concepts"] == 6 and j["model"] == 5
    assert j["instructions"] == 7 and j["responses"] == j["execute"] == 9
    # scatter/gather: 8 shards per generation stage, 4 per execution stage
    assert j["generate_shard"] == 8 * (6 + 7 + 9) and j["execute_shard"] == 4 * 9
    assert "results/teacher-starcoder2-15b/starcoder2-15b/instructions.jsonl" in out.stdout
    assert "results/teacher-starcoder2-15b/codeqwen1.5-7b/sft_model" in out.stdout


def test_sharded_cpu_dry_run(tmp_path):
    overlay = tmp_path / "shards.yaml"
    overlay.write_text("shards: {generate: 3, execute: 2}\n")
    out = dry("--configfile", "config/ci.yaml", str(overlay), "--config", f"results_dir={tmp_path}/results")
    assert out.returncode == 0, out.stderr[-2000:]
    j = jobs(out.stdout)
    assert j["generate_shard"] == 9 and j["execute_shard"] == 2 and j["responses"] == 1


def test_bad_config_fails_with_one_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("select: {mode: best}\n")
    out = dry("--configfile", str(bad))
    assert out.returncode != 0
    assert 'select.mode: "best" is not allowed' in out.stderr + out.stdout
