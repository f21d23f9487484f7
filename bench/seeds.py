"""Seed stage speed: the whole stdlib through extraction and every filter except the LLM judge,
and MinHash-LSH dedup scaling at 10k vs 100k synthetic functions (ratio; linear = 10x).
    python bench/seeds.py [--skip-stdlib]
"""
from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def synthetic(n: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    ops = ["+", "-", "*", "//", "%"]
    names = ["value", "total", "count", "item", "index", "left", "right", "acc", "key", "size"]
    out = []
    for i in range(n):
        a, b, c = rng.sample(names, 3)
        body = "\n".join(f"    {rng.choice(names)} = {a} {rng.choice(ops)} {rng.randint(1, 99)}" for _ in range(rng.randint(3, 8)))
        out.append(f'def f{i}({a}, {b}):\n    """Compute {c} number {i}."""\n{body}\n    return {a} {rng.choice(ops)} {b}\n')
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--skip-stdlib", action="store_true")
    a = ap.parse_args()
    from selfalign.config import resolve
    from selfalign.seeds import run_seed_stage
    from selfalign.textsim import near_duplicates

    if not a.skip_stdlib:
        cfg = resolve({"seeds": {"filters": {"judge": False}}})
        t = time.perf_counter()
        seeds, funnel = run_seed_stage(cfg)
        dt = time.perf_counter() - t
        steps = " → ".join(f"{s['step']} {s['kept']}" for s in funnel.as_list())
        print(f"stdlib, every filter but the judge: {dt:.1f} s (target < 60 s); {steps}")
    times = {}
    for n in (10_000, 100_000):
        texts = synthetic(n)
        t = time.perf_counter()
        near_duplicates(texts, threshold=0.5, num_perm=128, shingle=5)
        times[n] = time.perf_counter() - t
        print(f"dedup {n} functions: {times[n]:.1f} s")
    print(f"dedup scaling 100k/10k: {times[100_000] / times[10_000]:.1f}x (linear = 10x)")


if __name__ == "__main__":
    main()
