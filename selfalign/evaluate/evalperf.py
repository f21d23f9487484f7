"""EvalPerf: efficiency of correct solutions, as the Differential Performance Score (DPS).

Follows evalplus 0.3.1 evalplus/evalperf.py (dataset version ``evaluate.releases.evalperf``,
20240328: 118 tasks; the result records it):
- correctness (``correctness_check``, 67-83): one ``untrusted_check`` on the task's base + plus
  inputs together, against the **NoExtreme** HumanEval+/MBPP+ releases (``get_evalplus_data``,
  86-99: ``noextreme=True``; ``evaluate.data.humaneval_plus_noextreme`` / ``mbpp_plus_noextreme``).
  Without them, the full releases' inputs (stricter: stated in the result), else differentially
  against the fastest reference on the performance input;
- a task is profiled only with at least ``min_correct`` (10) correct samples, and at most
  ``max_profile`` = min(2 x min_correct, n) of them, identical solutions once (``script``, 303;
  ``perf_worker``, 225-271);
- every reference and every profiled sample: one fresh process, the call on the task's
  performance-exercising input, its CPU instructions counted (selfalign/evaluate/perfcount.py:
  ``evaluate.evalperf_counter``; what was used is in the result), 45 s (PERF_EVAL_TIMEOUT_SECOND);
  a broken reference profile is retried once with 10 s more (177-194); the references and the
  samples of a task are profiled in one batch, side by side;
- a sample's score is that of the fastest reference cluster it is at least as fast as (0 when
  slower than all, or broken); DPS / DPS_norm per task = mean over its profiled samples; the
  benchmark's = mean over profiled tasks (``perf_worker``, 248-275).
"""
from __future__ import annotations

import copy
import hashlib
import json
import pickle
from statistics import mean

from ..sandbox import proof
from .base import Benchmark, DataMissing, Problem, Unit, read_report, read_rows
from .perfcount import unit_source, unit_timeout

OFFICIAL = "evalplus 0.3.1 evalperf.py (NoExtreme correctness, min_correct 10, max_profile 2 x min_correct, DPS per task)"
MIN_CORRECT = 10
PERF_TIMEOUT_S = 45.0          # evalplus/config.py PERF_EVAL_TIMEOUT_SECOND
RETRY_EXTRA_S = 10.0           # evalperf.py:190-192
IMPORT_ALLOWANCE_S = 2.0

# evalperf.py::correctness_check: base + plus inputs in one untrusted_check
CORRECT = r'''
import pickle as _pickle
_o.environ["EVALPLUS_MAX_MEMORY_BYTES"] = {memory!r}
with open({data!r}, "rb") as _f:
    _d = _pickle.load(_f)
from evalplus.eval import PASS as _PASS, untrusted_check as _check
_stat, _det = _check(_d["dataset"], {solution!r}, _d["inputs"]["base"] + list(_d["inputs"]["plus"]), _d["entry_point"],
                     expected=_d["expected"]["base"] + _d["expected"]["plus"], atol=_d["atol"],
                     ref_time=_d["ref_time"]["base"] + _d["ref_time"]["plus"], fast_check=True, min_time_limit=1.0,
                     gt_time_limit_factor=4.0)
if _stat != _PASS:
    _s.stderr.write("evalplus: %s after %d inputs\n" % (_stat, len(_det)))
    _s.exit(1)
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


def correctness_benchmarks(cfg: dict) -> tuple[dict, str]:
    """task id -> (benchmark, problem) of the HumanEval+/MBPP+ data EvalPerf checks correctness on,
    and what it is (the NoExtreme releases where configured, as the official)."""
    from . import evalplus_data as ep
    data = cfg["evaluate"]["data"]
    out, used = {}, []
    for kind in ("humaneval_plus", "mbpp_plus"):
        c = copy.deepcopy(cfg)
        noext = data.get(f"{kind}_noextreme")
        if noext:
            c["evaluate"]["data"][kind] = noext
        try:
            bench = ep._load(kind, c)
        except DataMissing:
            continue
        out.update({p.task_id: (bench, p) for p in bench.problems})
        used.append(f"{kind}: {'NoExtreme' if noext else 'full release (NoExtreme not configured)'}")
    return out, "; ".join(used)


def load(cfg: dict) -> Benchmark:
    from ..benchdata import load_humaneval

    rows, info = read_rows(cfg["evaluate"]["data"]["evalperf"], "evalperf")
    checked, used = correctness_benchmarks(cfg)
    prompts = {r["task_id"]: r["prompt"] for r in load_humaneval()}
    scale = cfg["evaluate"]["timeout_scale"]
    memory = str(cfg["sandbox"]["memory_mb"] << 20)
    counter = cfg["evaluate"]["evalperf_counter"]
    limit = PERF_TIMEOUT_S * scale
    probs, no_prompt, files, timeouts = [], [], {}, {}
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

        def units(solution: str, base=base, data=data, refs=refs, entry=entry, tid=tid) -> list[Unit]:
            n = proof.new_nonce()
            if base:
                if tid not in timeouts:
                    raise RuntimeError("evalperf: the benchmark's files() (ground truth) must be prepared before scoring")
                checks = CORRECT.format(memory=memory, data=base[1].meta["data"], solution=solution)
                return [Unit("correct", proof.prologue(n) + checks + proof.epilogue(), timeouts[tid], n)]
            return [Unit("correct", proof.checked_program(
                solution, DIFFERENTIAL.format(data=data, reference=refs[-1], entry=entry), n),
                limit + IMPORT_ALLOWANCE_S, n)]

        probs.append(Problem(task_id=tid, prompt=prompt, units=units, entry_point=entry,
                             instruction=base[1].instruction if base else "",
                             to_solution=base[1].to_solution if base else None,
                             meta={"scores": list(r["scores"]), "references": refs, "data": data,
                                   "correctness": used if base else "differential on pe_input"}))
    benches = {id(b): b for b, _ in checked.values()}

    def all_files() -> dict[str, bytes]:
        from .evalplus_data import TASK_TIMEOUT_CAP, time_limits
        out = dict(files)
        for b in benches.values():
            out.update(b.files())
        for tid, (_, p) in checked.items():   # one untrusted_check over base + plus: its own wait
            d = pickle.loads(out[p.meta["data"].removeprefix("/data/")])
            times = d["ref_time"]["base"] + d["ref_time"]["plus"]
            timeouts[tid] = min(TASK_TIMEOUT_CAP, sum(time_limits(times, scale))) + 2.5 + IMPORT_ALLOWANCE_S
        return out

    info.update(problems=len(probs), without_prompt=no_prompt, release=cfg["evaluate"]["releases"]["evalperf"],
                correctness=used or "differential on pe_input (no HumanEval+/MBPP+ data)",
                counter_requested=counter, min_correct=MIN_CORRECT)
    from . import evalplus_data as ep
    return Benchmark("evalperf", probs, info, OFFICIAL, metrics={"base": ["correct"]},
                     completion_stop=ep.BASE_STOP, instruct_stop=ep.INSTRUCT_STOP, libraries=True, files=all_files,
                     summarize=lambda per, probs, run=None: summarize(per, probs, run, counter, limit),
                     limits=f"correctness as evalplus; {PERF_TIMEOUT_S:g} s per profiling run")


def _profile_job(counter: str, prob: Problem, code: str, limit: float):
    from ..sandbox import Job
    n = proof.new_nonce()
    return Job(proof.checked_program("", unit_source(counter, prob.meta["data"], code, prob.entry_point, limit), n),
               unit_timeout(counter, limit), n)


def _cost(v) -> dict | None:
    return read_report(v.stdout_tail) if v.verdict == "pass" else None


def summarize(per: list[dict], problems: list[Problem], run=None, counter: str = "auto",
              limit: float = PERF_TIMEOUT_S) -> dict:
    """DPS / DPS_norm per task and over tasks: each task's references and its profiled samples in
    one batch of fresh runs."""
    tasks, todo = {}, []          # todo: (task, "ref"/"sample", index, job)
    for row, prob in zip(per, problems):
        passing = [s for s in row["samples"] if s["suites"].get("correct") == "pass"]
        max_profile = min(2 * MIN_CORRECT, row["n"])
        if len(passing) < MIN_CORRECT or run is None:
            tasks[prob.task_id] = {"correct": len(passing), "profiled": 0, "dps": None, "dps_norm": None}
            continue
        chosen = passing[:max_profile]
        sources = list(dict.fromkeys(s["_solution"] for s in chosen))     # evalperf.py's profile_cache
        tasks[prob.task_id] = {"correct": len(passing), "samples": chosen, "sources": sources}
        todo += [(prob, "ref", j, _profile_job(counter, prob, ref, limit)) for j, ref in enumerate(prob.meta["references"])]
        todo += [(prob, "sample", k, _profile_job(counter, prob, src, limit)) for k, src in enumerate(sources)]
    reports: dict = {}
    if todo:
        for (prob, kind, j, _), v in zip(todo, run([t[3] for t in todo])):
            reports[(prob.task_id, kind, j)] = _cost(v) or {"error": f"{v.verdict}: {(v.note or v.stderr_tail[-200:]).strip()}"}
        retry = [(p, k, j, _profile_job(counter, p, p.meta["references"][j], limit + RETRY_EXTRA_S))
                 for (p, k, j, _) in todo if k == "ref" and "cost" not in reports[(p.task_id, k, j)]]
        if retry:
            for (p, k, j, _), v in zip(retry, run([t[3] for t in retry])):
                reports[(p.task_id, k, j)] = _cost(v) or reports[(p.task_id, k, j)]
    counters = sorted({r["counter"] for r in reports.values() if "counter" in r})
    for prob in problems:
        t = tasks[prob.task_id]
        if "samples" not in t:
            continue
        samples, sources = t.pop("samples"), t.pop("sources")
        refs = [reports[(prob.task_id, "ref", j)] for j in range(len(prob.meta["references"]))]
        if any("cost" not in r for r in refs):
            t.update(profiled=0, dps=None, dps_norm=None, note="a reference failed to profile: " +
                     next(r["error"] for r in refs if "cost" not in r))
            continue
        ref_cost = [r["cost"] for r in refs]
        scores = []
        for s in samples:
            rep = reports[(prob.task_id, "sample", sources.index(s["_solution"]))]
            d, dn, j = dps(rep["cost"], ref_cost, prob.meta["scores"]) if "cost" in rep else (0.0, 0.0, -1)  # broken: 0
            s.update(dps=d, dps_norm=dn, cluster=j, cost=rep.get("cost"))
            scores.append((d, dn))
        t.update(profiled=len(scores), dps=mean(x for x, _ in scores), dps_norm=mean(y for _, y in scores),
                 reference_costs=ref_cost)
    done = [t for t in tasks.values() if t["dps"] is not None]
    return {"dps": round(mean(t["dps"] for t in done), 2) if done else None,
            "dps_norm": round(mean(t["dps_norm"] for t in done), 2) if done else None,
            "profiled_tasks": len(done), "counter": counters[0] if len(counters) == 1 else (counters or None),
            "tasks": tasks}
