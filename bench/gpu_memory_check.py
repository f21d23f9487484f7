"""Peak GPU memory of the training path against the plan's estimate, on one GPU (no network).

Builds Gemma-3-270M's architecture exactly (config/model_configs.json) with random weights — memory
does not depend on the weights' values — and a byte-level BPE tokenizer trained on our few-shot data
(bench/gpu_train_check.py), writes SFT pairs long enough that every example is cut to
train.max_length, then runs `python -m selfalign train` with the paper's recipe (full fine-tuning,
bf16, Adafactor, batch 1, 1280 tokens) in a process of its own, once without and once with
activation checkpointing, and prints each run's peak (torch.cuda.max_memory_allocated, and
reserved) beside the plan's estimate (selfalign/plan/memory.py, less the CUDA context it adds,
which torch does not count). scripts/gpu_check.sh runs it.

    python bench/gpu_memory_check.py --out /tmp/gpumem
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def build(out: Path) -> Path:
    import torch
    from transformers import Gemma3ForCausalLM, Gemma3TextConfig

    from gpu_train_check import build_tokenizer
    from selfalign.prompts import load_fewshot

    model_dir = out / "gemma3-270m-random"
    if (model_dir / "config.json").exists():
        return model_dir
    shots = load_fewshot()
    tok = build_tokenizer([s.instruction + "\n" + s.response + "\n" + s.tests for s in shots] * 4, model_dir)
    fields = dict(json.loads((ROOT / "config" / "model_configs.json").read_text())["gemma3-270m"]["config"])
    fields.pop("model_type")
    cfg = Gemma3TextConfig(**fields, pad_token_id=tok.pad_token_id, bos_token_id=tok.bos_token_id,
                           eos_token_id=tok.eos_token_id)
    torch.manual_seed(0)
    Gemma3ForCausalLM(cfg).to(torch.bfloat16).save_pretrained(model_dir)
    return model_dir


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="/tmp/gpumem")
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--max-length", type=int, default=1280)
    a = ap.parse_args()
    import torch

    from selfalign.config import resolve
    from selfalign.model import get_spec
    from selfalign.plan import arch_for
    from selfalign.plan.memory import GIB, GPU_RUNTIME, train_memory
    from selfalign.prompts import load_fewshot
    from selfalign.records import SFTExample, write_jsonl_atomic

    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    model_dir = build(out)
    sheet = out / "models.tsv"
    sheet.write_text("name\tfamily\tsize_b\tbackend\tweights\tsha256\tgpus\tcontext\tbase_model\tlicense\tnotes\n"
                     f"gemma3-270m\tgemma3\t0.27\tvllm\tpath:{model_dir}\t\t1\t32768\tyes\t-\trandom weights, exact architecture\n")
    shots = load_fewshot()
    long = "\n\n".join(s.response + "\n" + s.tests for s in shots) * 2
    write_jsonl_atomic(out / "sft.jsonl", [
        SFTExample(id=f"x{k}", instruction=s.instruction, response=long, response_id="-", seed_id="-", concepts=[],
                   category="function", difficulty="easy", verdict="pass") for k, s in enumerate(shots)])
    gpu = torch.cuda.is_available()      # (without one the script runs on the CPU: a smoke test of itself)
    report = {"device": torch.cuda.get_device_name(0) if gpu else "cpu", "torch": torch.__version__, "runs": []}
    for ckpt in (False, True):
        cfg = resolve({"model": "gemma3-270m", "models_sheet": str(sheet), "cache_dir": str(out / "cache"), "train": {
            "method": "full", "precision": "bf16", "optimizer": "adafactor", "batch_size": 1, "effective_batch_size": 1,
            "max_length": a.max_length, "max_steps": a.steps, "save_steps": 1000, "overlong": "truncate", "gpus": 1}})
        name = f"ckpt-{ckpt}"
        (out / f"{name}.json").write_text(json.dumps(cfg))
        t0 = time.perf_counter()
        p = subprocess.run([sys.executable, "-m", "selfalign", "train", "--config", str(out / f"{name}.json"),
                            "--sft", str(out / "sft.jsonl"), "--out", str(out / name)]
                           + (["--activation-checkpointing"] if ckpt else []), capture_output=True, text=True,
                           cwd=ROOT, env={**os.environ, "CUDA_VISIBLE_DEVICES": os.environ.get("CUDA_VISIBLE_DEVICES", "0")})
        (out / f"{name}.log").write_text(p.stdout + p.stderr)
        if p.returncode:
            report["runs"].append({"checkpointing": ckpt, "error": (p.stderr or p.stdout)[-1500:]})
            continue
        m = json.loads((out / name / "train_manifest.json").read_text())
        est = train_memory(arch_for(get_spec(cfg)), strategy="single", processes=1, precision="bf16", method="full",
                           seq=a.max_length, batch=1, checkpointing=ckpt)
        torch_est = (est.peak - GPU_RUNTIME) / 2**20
        report["runs"].append({
            "checkpointing": ckpt, "ran_with_checkpointing": m["activation_checkpointing"], "steps": m["steps"],
            "s_per_step": m["s_per_step"], "wall_s": round(time.perf_counter() - t0, 1),
            "peak_allocated_mb": m["peak_gpu_mb"], "peak_reserved_mb": m.get("peak_gpu_reserved_mb"),
            "estimate_mb (less CUDA context)": round(torch_est, 1), "estimate": est.describe() + " GiB",
            "allocated / estimate": round(m["peak_gpu_mb"] / torch_est, 3) if m["peak_gpu_mb"] else None,
            "peak_rss_mb": m["peak_rss_mb"]})
    print(json.dumps(report, indent=1))
    (out / "gpu_memory_check.json").write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
