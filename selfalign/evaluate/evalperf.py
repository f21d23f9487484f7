"""EvalPerf: efficiency of correct solutions, as the Differential Performance Score (DPS).

Follows evalplus 0.3.1 evalplus/evalperf.py:
- correctness: evalplus's checker on the task's HumanEval+/MBPP+ base + plus inputs
  (``correctness_check``; needs ``evaluate.data.humaneval_plus`` / ``mbpp_plus``); without that
  data, differentially against the fastest reference on the performance input (stated in the result);
- a task is profiled only with at least ``min_correct`` (10) correct samples, and at most
  ``max_profile`` = min(2 x min_correct, n) of them (``script``);
- each reference is profiled once per task, in its own sandbox run with the profiling budget
  (``PERF_EVAL_TIMEOUT_SECOND`` = 45 s), never inside a candidate's budget (``perf_worker``);
- a sample's score is that of the fastest reference cluster it is at least as fast as (0 when
  slower than all); DPS / DPS_norm per task = mean over its profiled samples; the benchmark's =
  mean over profiled tasks (``perf_worker``, ``script``).
Deviation, stated in the result: cost is CPU time (``time.process_time``, best of 3) instead of
evalplus's CPU instruction count (perf counters, which the sandbox does not expose).
"""
from __future__ import annotations

import hashlib
import json
import pickle
from statistics import mean

from ..sandbox import proof
from .base import Benchmark, DataMissing, Problem, Unit, read_rows, read_report

OFFICIAL = "evalplus 0.3.1 evalperf.py (min_correct 10, max_profile 2 x min_correct, DPS per task); cost = CPU time"
MIN_CORRECT = 10
PERF_TIMEOUT_S = 45.0          # evalplus/config.py PERF_EVAL_TIMEOUT_SECOND
IMPORT_ALLOWANCE_S = 2.0

PROFILE = r'''
import copy as _copy, pickle as _pickle, time as _time
with open({data!r}, "rb") as _f:
    _pe = _pickle.load(_f)["pe"]
_ns = {{}}
exec(compile({code!r}, "/sandbox/profiled.py", "exec"), _ns)
_fn = _ns[{entry!r}]
_best = None
for _ in range(3):
    _args = _copy.deepcopy(_pe)
    _t = _time.process_time()
    _fn(*_args)
    _dt = _time.process_time() - _t
    _best = _dt if _best is None else min(_best, _dt)
print("SELFALIGN-REPORT " + __import__("json").dumps({{"cost": _best}}))
'''

# Without HumanEval+/MBPP+ data: the candidate must agree with the fastest reference on pe_input.
DIFFERENTIAL = r'''
import copy as _copy, math as _math, pickle as _pickle
with open({data!r}, "rb") as _f:
    _pe = _pickle.load(_f)["pe"]
_ref = {{}}
exec(compile({reference!r}, "/sandbox/reference.py", "exec"), _ref)
_exp = _ref[{entry!r}](*_copy.deepcopy(_pe))
_got = {entry}(*_copy.deepcopy(_pe))
assert _got == _exp or (isinstance(_exp, float) and _math.isclose(_got, _exp, rel_tol=1e-6)), "differs from the fastest reference"
'''


def dps(cost: float, refs: list[float], scores: list[float]) -> tuple[float, float, int]:
    """(DPS, DPS_norm, matched cluster) — references ordered slow to fast, as released."""
    n = len(refs)
    for j in range(n - 1, -1, -1):
        if cost <= refs[j]:
            return float(scores[j]), 100.0 * (j + 1) / n, j
    return 0.0, 0.0, -1


def load(cfg: dict) -> Benchmark:
    from . import evalplus_data as ep
    from ..benchdata import load_humaneval

    rows, info = read_rows(cfg["evaluate"]["data"]["evalperf"], "evalperf")
    checked = {}
    for kind in ("humaneval_plus", "mbpp_plus"):
        try:
            bench = ep._load(kind, cfg)
            checked.update({p.task_id: (bench, p) for p in bench.problems})
        except DataMissing:
            pass
    prompts = {r["task_id"]: r["prompt"] for r in load_humaneval()}
    scale = cfg["evaluate"]["timeout_scale"]
    probs, no_prompt, files = [], [], {}
    for r in rows:
        tid = r["task_id"]
        pe = json.loads(r["pe_input"]) if isinstance(r["pe_input"], str) else r["pe_input"]
        if tid.startswith("Mbpp/"):
            from evalplus.data.mbpp import mbpp_deserialize_inputs
            pe = mbpp_deserialize_inputs(tid, pe)
        base = checked.get(tid)
        prompt = r.get("prompt") or (base[1].prompt if base else prompts.get(tid))
        if not prompt:
            no_prompt.append(tid)
            continue
        data = f"/data/perf-{hashlib.sha1(tid.encode()).hexdigest()}.pkl"
        files[data.removeprefix("/data/")] = pickle.dumps({"pe": pe[0]})
        refs, entry = list(r["reference"]), r["entry_point"]

        def units(solution: str, base=base, data=data, refs=refs, entry=entry) -> list[Unit]:
            out = [u for u in base[1].units(solution)] if base else []
            if not base:
                n = proof.new_nonce()
                out.append(Unit("base", proof.checked_program(
                    solution, DIFFERENTIAL.format(data=data, reference=refs[-1], entry=entry), n),
                    PERF_TIMEOUT_S * scale + IMPORT_ALLOWANCE_S, n))
            for u in out:
                u.suite = "correct"
            n = proof.new_nonce()
            out.append(Unit("perf", proof.checked_program("", PROFILE.format(data=data, code=solution, entry=entry), n),
                            PERF_TIMEOUT_S * scale + IMPORT_ALLOWANCE_S, n))
            return out

        probs.append(Problem(task_id=tid, prompt=prompt, units=units, entry_point=entry,
                             instruction=base[1].instruction if base else "",
                             to_solution=base[1].to_solution if base else None,
                             meta={"scores": list(r["scores"]), "references": refs, "data": data,
                                   "correctness": "evalplus base+plus" if base else "differential on pe_input"}))
    benches = {id(b): b for b, _ in checked.values()}

    def all_files() -> dict[str, bytes]:
        out = dict(files)
        for b in benches.values():
            out.update(b.files())
        return out

    info.update(problems=len(probs), without_prompt=no_prompt, cost="CPU time (process_time, best of 3)",
                min_correct=MIN_CORRECT)
    return Benchmark("evalperf", probs, info, OFFICIAL, metrics={"base": ["correct"]},
                     completion_stop=ep.BASE_STOP, instruct_stop=ep.INSTRUCT_STOP, libraries=True, files=all_files,
                     summarize=summarize, limits=f"correctness as evalplus; {PERF_TIMEOUT_S:g} s per profiling run")


def summarize(per: list[dict], problems: list[Problem], run=None) -> dict:
    """DPS / DPS_norm per task and over tasks, profiling the references once per task."""
    from ..sandbox import Job
    tasks, todo = {}, []
    for row, prob in zip(per, problems):
        passing = [s for s in row["samples"] if s["suites"].get("correct") == "pass"]
        max_profile = min(2 * MIN_CORRECT, row["n"])
        if len(passing) < MIN_CORRECT or run is None:
            tasks[prob.task_id] = {"correct": len(passing), "profiled": 0, "dps": None, "dps_norm": None}
            continue
        tasks[prob.task_id] = {"correct": len(passing), "samples": passing[:max_profile]}
        for j, ref in enumerate(prob.meta["references"]):
            n = proof.new_nonce()
            todo.append(((prob.task_id, j), Job(proof.checked_program(
                "", PROFILE.format(data=prob.meta["data"], code=ref, entry=prob.entry_point), n),
                PERF_TIMEOUT_S + IMPORT_ALLOWANCE_S, n)))
    ref_cost: dict = {}
    if todo:
        for (key, _), v in zip(todo, run([j for _, j in todo])):
            rep = read_report(v.stdout_tail) if v.verdict == "pass" else None
            ref_cost[key] = rep["cost"] if rep else None
    for row, prob in zip(per, problems):
        t = tasks[prob.task_id]
        if "samples" not in t:
            continue
        refs = [ref_cost.get((prob.task_id, j)) for j in range(len(prob.meta["references"]))]
        if None in refs:
            t.update(profiled=0, dps=None, dps_norm=None, note="a reference failed to profile")
            del t["samples"]
            continue
        scores = []
        for s in t.pop("samples"):
            rep = next((u.get("report") for u in s["units"] if u["suite"] == "perf" and u["verdict"] == "pass"), None)
            d, dn, j = dps(rep["cost"], refs, prob.meta["scores"]) if rep else (0.0, 0.0, -1)  # errored: scored 0
            s.update(dps=d, dps_norm=dn, cluster=j)
            scores.append((d, dn))
        t.update(profiled=len(scores), dps=mean(x for x, _ in scores), dps_norm=mean(y for _, y in scores))
    done = [t for t in tasks.values() if t["dps"] is not None]
    return {"dps": round(mean(t["dps"] for t in done), 2) if done else None,
            "dps_norm": round(mean(t["dps_norm"] for t in done), 2) if done else None,
            "profiled_tasks": len(done), "tasks": tasks}
