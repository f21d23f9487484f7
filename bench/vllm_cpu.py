"""vLLM's CPU build vs the batched llama.cpp engine, on the same prompts and sampling, one machine,
one run: generated tokens/s of each (engine load apart) and their ratio.

- llama.cpp: the project's llamacpp backend, ``--parallel`` sequences per step, on the Q4_K_M
  GGUF (the CPU default), in this interpreter (.venv), with each of ``--llama-threads`` (0 = all
  cores; vLLM's worker runs on one core, leaving the other to its front end).
- vLLM: the project's vllm backend (``backend.name: vllm``, its CPU defaults: fp32, eager, 0.2 of
  RAM) on the fp32 HF conversion of the same model, in .venv-vllm (``make vllm-env``): this file
  re-runs itself there with ``--engine vllm`` and reads one JSON line back.

    .venv/bin/python bench/vllm_cpu.py [--problems 16] [--instructions 6] [--max-tokens 128] [--llama-threads 0,1]
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


def workloads(problems: int, instructions: int) -> list[tuple[str, list[str], int, float]]:
    from selfalign import prompts as P
    from selfalign.benchdata import load_humaneval

    shots = P.load_fewshot()
    he = [r["prompt"] for r in load_humaneval()[:problems]]
    ir = [P.prompt_ir(s.instruction, shots[:1]) for s in shots[1: 1 + instructions]]
    return [("HumanEval prompts, greedy", he, 1, 0.0), ("I->R prompts, n=3, T=0.7", ir, 3, 0.7)]


def measure(engine: str, a, threads: int = 0) -> dict:
    """Load ``engine`` through load_backend, then time each workload: {name: tok/s, ...}."""
    from selfalign.backends import load_backend
    from selfalign.config import resolve

    backend = {"n_ctx": 2048, "parallel": a.parallel, "n_threads": threads} if engine == "llamacpp" else \
        {"n_ctx": 2048, "name": "vllm"}
    cfg = resolve({"backend": backend})
    t = time.perf_counter()
    be = load_backend(cfg)
    out = {"engine": engine, "load_s": round(time.perf_counter() - t, 1), "describe": be.describe(), "runs": {}}
    try:
        for name, prompts, n, temp in workloads(a.problems, a.instructions):
            tok0 = be.stats.completion_tokens
            t = time.perf_counter()
            be.generate(prompts, n=n, temperature=temp, max_tokens=a.max_tokens, seed=1,
                        keys=[f"b{i}" for i in range(len(prompts))])
            s = time.perf_counter() - t
            toks = be.stats.completion_tokens - tok0
            out["runs"][name] = {"tokens": toks, "seconds": round(s, 1), "tok_per_s": round(toks / s, 1)}
    finally:
        be.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--engine", choices=["both", "llamacpp", "vllm"], default="both")
    ap.add_argument("--parallel", type=int, default=16)
    ap.add_argument("--problems", type=int, default=16)
    ap.add_argument("--instructions", type=int, default=6)
    ap.add_argument("--max-tokens", type=int, default=128)
    ap.add_argument("--llama-threads", default="0", help="llama.cpp threads to try, comma-separated (0 = all)")
    ap.add_argument("--vllm-python", default=os.environ.get("SELFALIGN_VLLM_VENV", str(ROOT / ".venv-vllm"))
                    + "/bin/python")
    a = ap.parse_args()
    if a.engine != "both":
        os.environ.setdefault("VLLM_LOGGING_STREAM", "ext://sys.stderr")
        print(json.dumps(measure(a.engine, a)), flush=True)
        return
    lcs = [measure("llamacpp", a, int(t)) for t in a.llama_threads.split(",")]
    args = [a.vllm_python, __file__, "--engine", "vllm", "--problems", str(a.problems), "--instructions",
            str(a.instructions), "--max-tokens", str(a.max_tokens)]
    res = subprocess.run(args, stdout=subprocess.PIPE, text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    if res.returncode != 0:
        sys.exit(f"the vLLM run failed (exit {res.returncode}); is {a.vllm_python} built (make vllm-env)?")
    vl = json.loads(res.stdout.strip().splitlines()[-1])
    print(f"vLLM CPU ({vl['describe'].get('dtype')} HF, eager {vl['describe'].get('enforce_eager')}): load {vl['load_s']} s; "
          f"llama.cpp ({a.parallel} sequences, Q4_K_M GGUF): load {lcs[0]['load_s']} s")
    for name in vl["runs"]:
        y = vl["runs"][name]
        line = f"{name}: vLLM CPU {y['tok_per_s']:6.1f} tok/s ({y['tokens']} tokens)"
        for t, lc in zip(a.llama_threads.split(","), lcs):
            x = lc["runs"][name]
            line += (f" | llama.cpp {'all cores' if t == '0' else t + ' thread(s)'} {x['tok_per_s']:6.1f} tok/s "
                     f"-> vLLM / llama.cpp {y['tok_per_s'] / x['tok_per_s']:.2f}x")
        print(line)


if __name__ == "__main__":      # vLLM's engine core is a spawned process that imports this file again
    main()
