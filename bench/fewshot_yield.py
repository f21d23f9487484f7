"""Few-shot yield: our 21 examples vs the official file's, on the CPU teacher (issue 25).

The same instructions go through I->R once with each few-shot set (the CPU settings of
config/cpu-replication.yaml: 1 shot, n=5, 512 new tokens, T=0.7), and every parsed sample runs in
the sandbox. Prints, per set: samples parsed, passing, instructions with a passing sample, the
instructions with a pass under both, and the ratios official / ours.

The instructions: stdlib seeds (the seed stage's extraction and cheap filters; no pyright or judge:
they only need to be realistic tasks), S->C and C->I by the same teacher, half of them with our
few-shot set and half with the official one, so neither set's style favours its own I->R.

    python bench/fewshot_yield.py --official ../shared/reference/official/self-ossinstruct-fewshot.txt \
        [--instructions 24] [--out bench-out/fewshot_yield]

Records (seeds, concepts, instructions, responses, executions per set) stay in --out: a re-run
reuses what is there (the stages resume), and bench/fence_reparse.py re-parses the responses.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

TEACHER = "qwen2.5-coder-0.5b-instruct"


def config(official: str):
    from selfalign.config import REPO_ROOT, deep_merge, read_yaml, resolve
    raw = deep_merge(read_yaml(REPO_ROOT / "config" / "config.yaml"), read_yaml(REPO_ROOT / "config" / "cpu-replication.yaml"))
    raw.pop("ablations", None)
    raw.update(model=TEACHER, teacher=None)
    cfg = resolve(raw)
    # the seeds only need to be realistic functions: extraction and the cheap filters
    cfg["seeds"]["filters"].update(typecheck=False, judge=False)
    cfg["seeds"].update(autoimport=False, pool=0)
    return cfg


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--official", required=True, help="the official few-shot file (path or pinned URL)")
    ap.add_argument("--instructions", type=int, default=24)
    ap.add_argument("--out", default="bench-out/fewshot_yield")
    a = ap.parse_args()

    from selfalign.backends import load_backend
    from selfalign.execute import run_executions
    from selfalign.generate import run_stage
    from selfalign.records import Concepts, Instruction, Response, Seed, iter_jsonl, read_records, write_jsonl_atomic
    from selfalign.seeds.stage import run_seed_stage

    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    cfg = config(a.official)
    sets = {"ours": None, "official": a.official}
    backend = None

    def factory():
        nonlocal backend
        backend = backend or load_backend(cfg)
        return backend

    t0 = time.perf_counter()
    seeds_path = out / "seeds.jsonl"
    if not seeds_path.exists():
        cfg["seeds"]["count"] = a.instructions + 2            # a few C->I may not parse
        seeds, _ = run_seed_stage(cfg, None)
        write_jsonl_atomic(seeds_path, seeds)
    seeds = read_records(seeds_path, Seed)
    half = len(seeds) // 2
    instructions: list[Instruction] = []
    for k, (name, spec) in enumerate(sets.items()):       # half the instructions from each set
        cfg["generate"]["fewshot"] = spec
        part = seeds[:half] if k == 0 else seeds[half:]
        # a finished stage's file is reused as it is (run_stage resumes only from its work file)
        if not (out / f"concepts.{name}.jsonl").exists():
            run_stage("concepts", cfg, part, factory, out / f"concepts.{name}.jsonl")
        concepts = [c for c in read_records(out / f"concepts.{name}.jsonl", Concepts) if c.ok]
        if not (out / f"instructions.{name}.jsonl").exists():
            run_stage("instructions", cfg, concepts, factory, out / f"instructions.{name}.jsonl")
        instructions += [i for i in read_records(out / f"instructions.{name}.jsonl", Instruction) if i.ok]
    instructions = instructions[: a.instructions]
    t_ins = time.perf_counter() - t0

    report = {"teacher": TEACHER, "instructions": len(instructions), "n": cfg["generate"]["responses"]["n"],
              "max_tokens": cfg["generate"]["responses"]["max_tokens"], "sets": {}}
    passed_by: dict[str, set[str]] = {}
    for name, spec in sets.items():
        cfg["generate"]["fewshot"] = spec
        t = time.perf_counter()
        if not (out / f"responses.{name}.jsonl").exists():
            run_stage("responses", cfg, instructions, factory, out / f"responses.{name}.jsonl")
        t_gen = time.perf_counter() - t
        responses = read_records(out / f"responses.{name}.jsonl", Response)
        run_executions(cfg, responses, out / f"executions.{name}.jsonl")
        verdict = {e["id"]: e["verdict"] for e in iter_jsonl(out / f"executions.{name}.jsonl")}
        parsed = [r for r in responses if r.ok]
        passing = [r for r in parsed if verdict.get(r.id) == "pass"]
        passed_by[name] = {r.instruction_id for r in passing}
        drops: dict[str, int] = {}
        for r in responses:
            if not r.ok:
                key = r.drop_reason.split(":")[0] + (": " + r.drop_reason.split(": ", 1)[1] if r.drop_reason.startswith("unparseable") else "")
                drops[key] = drops.get(key, 0) + 1
        report["sets"][name] = {"samples": len(responses), "parsed": len(parsed), "passing": len(passing),
                                "instructions_with_a_pass": len(passed_by[name]), "drops": dict(sorted(drops.items())),
                                "responses_seconds": round(t_gen, 1)}
    if backend is not None:
        backend.close()
    o, u = report["sets"]["official"], report["sets"]["ours"]
    report["instructions_with_a_pass_under_both"] = len(passed_by["ours"] & passed_by["official"])
    report["ratio_official_over_ours"] = {k: (round(o[k] / u[k], 2) if u[k] else None)
                                          for k in ("parsed", "passing", "instructions_with_a_pass")}
    report["instructions_seconds"] = round(t_ins, 1)
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    for name, r in report["sets"].items():
        print(f"{name:9s}: {r['parsed']}/{r['samples']} parsed, {r['passing']} passing, "
              f"{r['instructions_with_a_pass']}/{len(instructions)} instructions with a pass "
              f"(I->R {r['responses_seconds']:.0f} s); drops {r['drops']}")
    print(f"both     : {report['instructions_with_a_pass_under_both']} instructions with a pass under both sets")
    print(f"official / ours: {report['ratio_official_over_ours']}")


if __name__ == "__main__":
    main()
