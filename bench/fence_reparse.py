"""The hidden effect of a response parser change, measured on samples already generated: every
I->R completion of the given responses files is parsed by two versions of the code (each a
checkout on PYTHONPATH in its own process), each version's programs run in today's sandbox, and
today's selection picks the SFT pairs from each. Prints parsed / passing / instructions with a
pass / SFT pairs for both versions and what moved. Its input is a folder of responses.<name>.jsonl
and instructions.<name>.jsonl (bench/fewshot_yield.py's output, or copies of a run's stage files).
Run on the CPU replication's teacher samples (355, commit 059a858) with the parser of commit
298e3ef before issue 25 and today's: docs/evidence/fence-reparse-replication.json.

    git archive 298e3ef | tar -x -C /tmp/before
    python bench/fence_reparse.py --before /tmp/before --dir DIR [--official FILE] [--out FILE]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def emit(path: str) -> None:
    """Child mode: this process's selfalign parses every sample of ``path``; one JSON line each."""
    from selfalign import prompts as P
    from selfalign.records import iter_jsonl

    strip = getattr(P, "strip_main_input", lambda code: code)   # the old execute stage applied it
    for r in iter_jsonl(path):
        out = {"id": r["id"], "instruction_id": r["instruction_id"], "ok": False, "reason": r.get("drop_reason", "")}
        cut = (r.get("sampling") or {}).get("loop_cut")
        if r.get("drop_reason", "").split(":")[0] in ("truncated", "prompt_too_long"):
            print(json.dumps(out))
            continue
        text = P.close_open_fence(r["raw"][:cut]) if cut is not None else r["raw"]
        try:
            resp, tests, code, tcode = P.parse_response(text)
            out.update(ok=True, reason="", response=resp, tests=tests, code=strip(code), test_code=strip(tcode))
        except P.ParseError as e:
            out["reason"] = f"unparseable: {e}"
        print(json.dumps(out))


def parse_with(code_dir: str, path: Path) -> list[dict]:
    env = {**os.environ, "PYTHONPATH": code_dir}
    proc = subprocess.run([sys.executable, __file__, "--emit", str(path)], env=env, cwd=code_dir,
                          capture_output=True, text=True, check=True)
    return [json.loads(ln) for ln in proc.stdout.splitlines() if ln.startswith("{")]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--emit", help=argparse.SUPPRESS)
    ap.add_argument("--before", help="a checkout of the code before the change")
    ap.add_argument("--after", default=str(ROOT), help="a checkout of the code after it (default: this one)")
    ap.add_argument("--dir", default="bench-out/fewshot_yield", help="bench/fewshot_yield.py's output folder")
    ap.add_argument("--official", default=None, help="the official few-shot file the samples were made with")
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    if a.emit:
        emit(a.emit)
        return
    sys.path[:0] = [str(ROOT), str(ROOT / "bench")]
    from fewshot_yield import config
    from selfalign.execute import run_executions
    from selfalign.fewshot import load_fewshot
    from selfalign.records import Execution, Instruction, Response, iter_jsonl, read_records
    from selfalign.select import select_sft

    d = Path(a.dir)
    report: dict = {}
    for resp_file in sorted(d.glob("responses.*.jsonl")):
        name = resp_file.name.split(".")[1]
        official = a.official
        cfg = config(official or "")
        instructions = [i for f in d.glob("instructions.*.jsonl") for i in read_records(f, Instruction) if i.ok]
        shots = load_fewshot() + (load_fewshot(official) if official else [])
        originals = {r["id"]: r for r in iter_jsonl(resp_file)}
        for version, code_dir in (("before", a.before), ("after", a.after)):
            rows = parse_with(code_dir, resp_file)
            recs = [Response(id=x["id"], instruction_id=x["instruction_id"], instruction=originals[x["id"]]["instruction"],
                             response=x.get("response", ""), tests=x.get("tests", ""), code=x.get("code", ""),
                             test_code=x.get("test_code", ""), fewshot_ids=originals[x["id"]]["fewshot_ids"], ok=x["ok"],
                             drop_reason=x["reason"]) for x in rows]
            ex_path = d / f"reparse.{name}.{version}.executions.jsonl"
            run_executions(cfg, recs, ex_path)
            ex = read_records(ex_path, Execution)
            verdict = {e.id: e.verdict for e in ex}
            passing = [r for r in recs if r.ok and verdict.get(r.id) == "pass"]
            sft, _ = select_sft(cfg, instructions, recs, ex, shots, None)
            report.setdefault(name, {})[version] = {
                "samples": len(recs), "parsed": sum(r.ok for r in recs), "passing": len(passing),
                "instructions_with_a_pass": len({r.instruction_id for r in passing}), "sft_pairs": len(sft)}
        b, f = report[name]["before"], report[name]["after"]
        print(f"{name}: before {b['parsed']} parsed, {b['passing']} passing, {b['instructions_with_a_pass']} instructions "
              f"with a pass, {b['sft_pairs']} SFT pairs | after {f['parsed']}, {f['passing']}, "
              f"{f['instructions_with_a_pass']}, {f['sft_pairs']} (of {f['samples']} samples)")
    if a.out:
        Path(a.out).write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
