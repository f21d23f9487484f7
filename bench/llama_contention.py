"""llama.cpp on a shared machine: OpenMP's wait policy and thread count, idle and beside one busy process.

llama-cpp-python's build here uses OpenMP (system_info: OPENMP = 1); its threads meet at a barrier
several times per decoded token and, by default (OMP_WAIT_POLICY active), spin there. When another
process holds one of the cores (the other pytest-xdist worker, a compiler, a second job) a spinning
thread waits for a descheduled one every step. This measures, in one run, batched greedy and sampled
decoding (bench/vllm_cpu.py's prompts, 16 sequences) with all cores and OMP_WAIT_POLICY active or
passive, and with 1 thread, on an idle machine, beside one CPU-bound Python process and beside torch
matmuls on all cores (OpenMP threads that spin too); each setting runs
in a fresh subprocess (the OpenMP runtime reads the policy once, when it loads).

    python bench/llama_contention.py [--problems 8] [--instructions 4] [--max-tokens 96]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = [("all cores, active", 0, "active"), ("all cores, passive", 0, "passive"), ("1 thread", 1, "active")]


def child(a) -> None:
    sys.path[:0] = [str(ROOT), str(ROOT / "bench")]
    import vllm_cpu
    res = vllm_cpu.measure("llamacpp", argparse.Namespace(parallel=16, problems=a.problems, instructions=a.instructions,
                                                          max_tokens=a.max_tokens), a.threads)
    print(json.dumps({k: v["tok_per_s"] for k, v in res["runs"].items()}), flush=True)


HOGS = {"beside 1 busy process": "while True: pass",
        # what the other test worker often is: torch (training, a transformers check) on all cores
        "beside 2-thread torch matmuls": "import torch\nx = torch.rand(512, 512)\nwhile True: x @ x"}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--problems", type=int, default=8)
    ap.add_argument("--instructions", type=int, default=4)
    ap.add_argument("--max-tokens", type=int, default=96)
    ap.add_argument("--threads", type=int, help=argparse.SUPPRESS)    # the child's
    a = ap.parse_args()
    if a.threads is not None:
        return child(a)
    rows = {}
    for load in ("idle", *HOGS):
        hog = subprocess.Popen([sys.executable, "-c", HOGS[load]]) if load != "idle" else None
        try:
            for name, threads, policy in SETTINGS:
                out = subprocess.run([sys.executable, __file__, "--threads", str(threads), "--problems", str(a.problems),
                                      "--instructions", str(a.instructions), "--max-tokens", str(a.max_tokens)],
                                     env={**os.environ, "OMP_WAIT_POLICY": policy}, capture_output=True, text=True, check=True)
                rows[(load, name)] = json.loads(out.stdout.strip().splitlines()[-1])
                print(load, "|", name, "|", rows[(load, name)], flush=True)
        finally:
            if hog:
                hog.kill()
    kinds = list(next(iter(rows.values())))
    print(f"\n{os.cpu_count()} cores; tok/s (16 sequences)")
    print("| machine | setting | " + " | ".join(kinds) + " |")
    print("|---|---|" + "---|" * len(kinds))
    for (load, name), r in rows.items():
        base = rows[(load, SETTINGS[0][0])]
        print(f"| {load} | {name} | " + " | ".join(f"{r[k]:.1f} ({r[k] / base[k]:.2f}x)" for k in kinds) + " |")


if __name__ == "__main__":
    main()
