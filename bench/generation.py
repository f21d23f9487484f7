"""Generation throughput: the same few-shot prompts through (a) naive llama.cpp calls that reset
the KV cache every time and (b) our llamacpp backend (prefix-ordered, cache kept), in one run.
Prints tokens/s of each and the ratio, for prompts that share their instruction prefix and for
prompts that do not.
    python bench/generation.py [--prompts 8] [--max-tokens 32]
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


if __name__ == "__main__":
    main()
