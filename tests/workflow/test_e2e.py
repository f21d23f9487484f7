"""The smallest real end-to-end run (config/ci.yaml): real model, real sandbox, real training,
real evaluation, in a scratch directory; then a re-run does nothing."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from selfalign.config import REPO_ROOT

pytestmark = [pytest.mark.workflow, pytest.mark.slow]
SNAKEMAKE = str(Path(sys.executable).parent / "snakemake")


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    pytest.importorskip("llama_cpp")
    d = tmp_path_factory.mktemp("e2e")
    out = subprocess.run([SNAKEMAKE, "-s", str(REPO_ROOT / "Snakefile"), "-d", str(d), "--cores", "all",
                          "--configfile", str(REPO_ROOT / "config" / "ci.yaml")],
                         capture_output=True, text=True, timeout=1800)
    if out.returncode != 0:
        logs = "\n".join(f"--- {p}\n{p.read_text()[-1500:]}" for p in sorted((d / "logs").rglob("*.log")))
        pytest.fail(f"snakemake failed:\n{out.stderr[-3000:]}\n{logs}")
    return d


def test_every_stage_wrote_its_output(run_dir):
    r = run_dir / "results" / "ci" / "gemma3-270m"
    for f in ("seeds.jsonl", "concepts.jsonl", "instructions.jsonl", "responses.jsonl", "executions.jsonl",
              "sft.jsonl", "funnel.json", "sft_model/adapter.gguf", "sft_model/train_manifest.json",
              "eval/sft/humaneval.json", "dataset/README.md", "dataset/data.jsonl", "manifest.json"):
        assert (r / f).exists(), f
    assert (run_dir / "results" / "_base" / "gemma3-270m" / "eval" / "humaneval.json").exists()
    for t in ("main", "data", "cpu_models", "ablation_exec_filter"):
        assert (run_dir / "paper" / f"{t}.md").exists() and (run_dir / "paper" / f"{t}.tex").exists()
    for f in ("funnel", "pass_rate", "scale", "ablation_exec_filter"):
        assert (run_dir / "figures" / f"{f}.png").exists()


def test_funnel_is_consistent(run_dir):
    r = run_dir / "results" / "ci" / "gemma3-270m"
    steps = json.loads((r / "funnel.json").read_text())["steps"]
    n_seeds = sum(1 for _ in open(r / "seeds.jsonl"))
    seeds = [s for s in steps if s["stage"] == "seeds"]
    assert seeds[-1]["kept"] == n_seeds == 10 and seeds[-1]["step"] == "sample"
    samples = next(s for s in steps if s["stage"] == "responses" and s["step"] == "generated")["kept"]
    n_ins = next(s for s in steps if s["stage"] == "instructions" and s["step"] == "parsed")["kept"]
    assert samples == 4 * n_ins
    sft = sum(1 for _ in open(r / "sft.jsonl"))
    assert next(s for s in steps if s["step"] == "sft")["kept"] == sft >= 1


def test_eval_and_export(run_dir):
    r = run_dir / "results"
    base = json.loads((r / "_base" / "gemma3-270m" / "eval" / "humaneval.json").read_text())
    sft = json.loads((r / "ci" / "gemma3-270m" / "eval" / "sft" / "humaneval.json").read_text())
    assert base["summary"]["problems"] == sft["summary"]["problems"] == 10
    assert base["prompt_style"] == "completion" and sft["prompt_style"] == "instruct" and sft["lora"]
    verify = json.loads((r / "ci" / "gemma3-270m" / "sft_model" / "verify.json").read_text())
    assert verify["first_token_agree"] * 2 >= verify["prompts"]
    manifest = json.loads((r / "ci" / "gemma3-270m" / "sft_model" / "train_manifest.json").read_text())
    assert manifest["steps"] == 4 and manifest["peak_rss_mb"] < 8000


def test_rerun_is_a_no_op(run_dir):
    out = subprocess.run([SNAKEMAKE, "-s", str(REPO_ROOT / "Snakefile"), "-d", str(run_dir), "-n", "--cores", "all",
                          "--configfile", str(REPO_ROOT / "config" / "ci.yaml")], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0 and "Nothing to be done" in out.stdout + out.stderr


def test_report_bundles_figures_and_tables(run_dir):
    report = run_dir / "report.html"
    out = subprocess.run([SNAKEMAKE, "-s", str(REPO_ROOT / "Snakefile"), "-d", str(run_dir), "--cores", "1",
                          "--configfile", str(REPO_ROOT / "config" / "ci.yaml"), "--report", str(report)],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-1500:]
    html = report.read_text(errors="replace")
    assert "funnel.png" in html and "main.md" in html
