"""Generation throughput, measured side by side in one run.

1. The same few-shot prompts through (a) naive llama.cpp calls that reset the KV cache every time
   and (b) our llamacpp backend (prefix-ordered, cache kept): tokens/s of each and the ratio, for
   prompts that share their instruction prefix and for prompts that do not.
2. The I->R stage (prompts, parsing, records, resume bookkeeping) vs raw llama.cpp generation of
   the same prompts with the same sampling: generated tokens/s of each, the ratio (target >= 0.9),
   and the share of prompt tokens served from the cache.
    python bench/generation.py [--prompts 8] [--max-tokens 32] [--instructions 4]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def naive(llm, prompts, max_tokens):
    toks = 0
    t = time.perf_counter()
    for p in prompts:
        llm.reset()
        out = llm.create_completion(p, max_tokens=max_tokens, temperature=0.0)
        toks += out["usage"]["completion_tokens"]
    return toks, time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--prompts", type=int, default=8)
    ap.add_argument("--max-tokens", type=int, default=32)
    ap.add_argument("--instructions", type=int, default=4)
    a = ap.parse_args()
    from selfalign import prompts as P
    from selfalign.backends.llamacpp import LlamaCppBackend
    from selfalign.config import resolve
    from selfalign.models import get_spec, provision

    cfg = resolve({})
    path = str(provision(get_spec(cfg), cfg))
    shots = P.load_fewshot()
    seeds = [s.seed for s in shots]
    shared = [P.prompt_sc(seeds[i % len(seeds)], shots[:8]) for i in range(a.prompts)]        # same 8-shot block
    distinct = [P.prompt_sc(seeds[i % len(seeds)], shots[i % 13:i % 13 + 8]) for i in range(a.prompts)]
    be = LlamaCppBackend(path, n_ctx=4096, seed=1)
    for name, prompts in (("shared prefix", shared), ("no shared prefix", distinct)):
        n_tok, dt_naive = naive(be.llm, prompts, a.max_tokens)
        be.llm.reset()
        be.stats.completion_tokens = 0
        t = time.perf_counter()
        be.generate(prompts, n=1, temperature=0.0, max_tokens=a.max_tokens)
        dt_ours = time.perf_counter() - t
        ours_tok = be.stats.completion_tokens
        print(f"{name:17s}: naive {n_tok / dt_naive:6.1f} tok/s ({dt_naive:.1f} s), ours {ours_tok / dt_ours:6.1f} tok/s "
              f"({dt_ours:.1f} s), ratio {dt_naive / dt_ours:.2f}x (target: >= 2x shared, >= 1x otherwise)")
    stage_vs_raw(be, cfg, shots, a.instructions)


def stage_vs_raw(be, cfg, shots, n_instructions: int) -> None:
    import tempfile

    from selfalign import prompts as P
    from selfalign.backends.llamacpp import sample_seed
    from selfalign.generate import run_stage
    from selfalign.records import Instruction

    g = cfg["generate"]["responses"]
    g.update(n=2, max_tokens=128)
    ins = [Instruction(id=f"b{k}", parent_id="-", seed_id="-", concepts=[], category=s.category, difficulty=s.difficulty,
                       instruction=s.instruction, fewshot_ids=[]) for k, s in enumerate(shots[-n_instructions:])]
    prompts = [P.prompt_ir(i.instruction, P.pick_shots(P.item_rng(cfg["seed"], "responses", k), shots, g["shots"]))
               for k, i in enumerate(ins)]
    be.llm.reset()
    raw_tok, t = 0, time.perf_counter()
    for p in sorted(prompts):
        for k in range(g["n"]):
            out = be.llm.create_completion(p, max_tokens=g["max_tokens"], temperature=g["temperature"], top_p=be.top_p,
                                           top_k=be.top_k, min_p=0.0, repeat_penalty=1.0, stop=P.STOP_IR,
                                           seed=sample_seed(cfg["seed"], p, k))
            raw_tok += out["usage"]["completion_tokens"]
    raw_s = time.perf_counter() - t
    be.llm.reset()
    be.stats = type(be.stats)()
    with tempfile.TemporaryDirectory() as d:
        t = time.perf_counter()
        stats = run_stage("responses", cfg, ins, lambda: be, f"{d}/responses.jsonl")
        stage_s = time.perf_counter() - t
    gen = stats["generation"]
    print(f"I->R stage: {gen['completion_tokens'] / stage_s:.1f} tok/s ({gen['completion_tokens']} tokens, {stage_s:.1f} s); "
          f"raw llama.cpp: {raw_tok / raw_s:.1f} tok/s ({raw_tok} tokens, {raw_s:.1f} s); "
          f"ratio {(gen['completion_tokens'] / stage_s) / (raw_tok / raw_s):.2f} (target >= 0.9); "
          f"prompt tokens from cache: {100 * gen['cache_share']:.0f}%")


if __name__ == "__main__":
    main()
