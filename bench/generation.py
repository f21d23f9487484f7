"""Generation throughput, measured side by side in one run (same prompts, same machine, same load).

1. Batched decoding: the same prompts through our llamacpp backend with ``parallel`` sequences
   per step vs one sequence at a time (``parallel=1``, the same engine) vs naive llama-cpp-python
   calls that reset the cache every time: generated tokens/s of each and the ratios, for HumanEval
   prompts (no shared prefix, greedy) and I->R prompts (shared 1-shot prefix, n samples each).
2. The I->R stage (prompts, parsing, records, resume bookkeeping) vs the backend alone on the same
   prompts and sampling: the stage's overhead (target ratio >= 0.9).
    python bench/generation.py [--parallel 16] [--problems 32] [--instructions 8] [--max-tokens 128]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def naive(llm, prompts, n, max_tokens, temperature):
    toks = 0
    t = time.perf_counter()
    for p in prompts:
        for _ in range(n):
            llm.reset()
            out = llm.create_completion(p, max_tokens=max_tokens, temperature=temperature, top_k=64, top_p=0.95)
            toks += out["usage"]["completion_tokens"]
    return toks, time.perf_counter() - t


def ours(path, prompts, n, max_tokens, temperature, parallel):
    from selfalign.backends.llamacpp import LlamaCppBackend

    be = LlamaCppBackend(path, n_ctx=2048, seed=1, parallel=parallel)
    try:
        t = time.perf_counter()
        be.generate(prompts, n=n, temperature=temperature, max_tokens=max_tokens, seed=1)
        return be.stats.completion_tokens, time.perf_counter() - t, be
    finally:
        be.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--parallel", type=int, default=16)
    ap.add_argument("--problems", type=int, default=32)
    ap.add_argument("--instructions", type=int, default=8)
    ap.add_argument("--max-tokens", type=int, default=128)
    a = ap.parse_args()
    from llama_cpp import Llama

    from selfalign import prompts as P
    from selfalign.benchdata import load_humaneval
    from selfalign.config import resolve
    from selfalign.model import get_spec, provision

    cfg = resolve({})
    path = str(provision(get_spec(cfg), cfg))
    shots = P.load_fewshot()
    he = [r["prompt"] for r in load_humaneval()[: a.problems]]
    ir = [P.prompt_ir(s.instruction, shots[:1]) for s in shots[1: 1 + a.instructions]]
    llm = Llama(model_path=path, n_ctx=2048, verbose=False)
    for name, prompts, n, temp in (("HumanEval prompts, greedy", he, 1, 0.0), ("I->R prompts, n=3, T=0.7", ir, 3, 0.7)):
        nt, ns = naive(llm, prompts, n, a.max_tokens, temp)
        t1, s1, _ = ours(path, prompts, n, a.max_tokens, temp, 1)
        tp, sp, _ = ours(path, prompts, n, a.max_tokens, temp, a.parallel)
        print(f"{name}: naive {nt / ns:5.1f} tok/s | ours, 1 sequence {t1 / s1:5.1f} tok/s | ours, {a.parallel} sequences "
              f"{tp / sp:5.1f} tok/s -> batched vs 1 sequence {(tp / sp) / (t1 / s1):.2f}x, vs naive {(tp / sp) / (nt / ns):.2f}x")
    llm.close()
    stage_vs_backend(path, cfg, shots, a.instructions, a.parallel)


def stage_vs_backend(path, cfg, shots, n_instructions: int, parallel: int) -> None:
    from selfalign import prompts as P
    from selfalign.backends.llamacpp import LlamaCppBackend
    from selfalign.generate import run_stage
    from selfalign.records import Instruction

    g = cfg["generate"]["responses"]
    g.update(n=3, max_tokens=128)
    ins = [Instruction(id=f"b{k}", parent_id="-", seed_id="-", concepts=[], category=s.category, difficulty=s.difficulty,
                       instruction=s.instruction, fewshot_ids=[]) for k, s in enumerate(shots[-n_instructions:])]
    prompts = [P.prompt_ir(i.instruction, P.pick_shots(P.item_rng(cfg["seed"], "responses", k), shots, g["shots"]))
               for k, i in enumerate(ins)]
    be = LlamaCppBackend(path, n_ctx=2048, seed=cfg["seed"], parallel=parallel)
    t = time.perf_counter()
    be.generate(prompts, n=g["n"], temperature=g["temperature"], max_tokens=g["max_tokens"], stop=P.STOP_IR, seed=cfg["seed"])
    raw_s, raw_tok = time.perf_counter() - t, be.stats.completion_tokens
    be.stats = type(be.stats)()
    with tempfile.TemporaryDirectory() as d:
        t = time.perf_counter()
        stats = run_stage("responses", cfg, ins, lambda: be, f"{d}/responses.jsonl")
        stage_s = time.perf_counter() - t
    be.close()
    gen = stats["generation"]
    print(f"I->R stage: {gen['completion_tokens'] / stage_s:.1f} tok/s ({gen['completion_tokens']} tokens, {stage_s:.1f} s); "
          f"backend alone: {raw_tok / raw_s:.1f} tok/s ({raw_tok} tokens, {raw_s:.1f} s); "
          f"ratio {(gen['completion_tokens'] / stage_s) / (raw_tok / raw_s):.2f} (target >= 0.9); "
          f"prompt tokens from cache: {100 * gen['cache_share']:.0f}%")


if __name__ == "__main__":
    main()
