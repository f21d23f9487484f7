"""Score a samples file on a benchmark: every sample's sandbox runs, pass@k with standard errors,
the benchmark's own metrics; one result JSON (``summary[metric]["pass@1"]`` in percent).

A sample passes metric M when every suite M lists passes; a suite passes when every one of its
units (sandbox runs) passes — and a unit passes only with its nonce printed (selfalign/sandbox/proof.py).
A benchmark problem without samples counts as failed, and is listed (``missing_samples``);
samples of unknown tasks are counted and ignored (evalplus warns likewise).
"""
from __future__ import annotations

import logging
import shutil
import tempfile
import time
from pathlib import Path

from .base import Benchmark, DataMissing, Problem, read_report, write_skip
from .samples import read_meta, read_samples

log = logging.getLogger(__name__)


def solution_of(row: dict, problem: Problem) -> str:
    """A row's program: its "solution" as the harness takes a whole program (ClassEval adds the
    task's imports: test_pipeline.py:113-119), else the benchmark's solution of its "completion"."""
    if isinstance(row.get("solution"), str):
        return problem.finish(row["solution"])
    return problem.solution(row["completion"])


def score_benchmark(bench: Benchmark, samples: dict[str, list[dict]], sandbox_factory, workers: int,
                    progress_desc: str = "score") -> dict:
    """Per-problem rows and the summary of ``samples`` (task_id -> rows) on ``bench``."""
    from tqdm import tqdm

    from ..sandbox import Job
    from .metrics import pass_at_k

    data_dir = None
    if bench.files:
        data_dir = tempfile.mkdtemp(prefix="selfalign-data-")
        Path(data_dir).chmod(0o755)
        for name, blob in bench.files().items():
            (Path(data_dir) / name).write_bytes(blob)
            (Path(data_dir) / name).chmod(0o644)
    try:
        known = {p.task_id for p in bench.problems}
        unknown = sorted(set(samples) - known)
        if unknown:
            log.warning("%d task ids in the samples are not in %s (ignored): %s", len(unknown), bench.name, unknown[:5])
        jobs, where = [], []   # where: (problem index, sample index, unit)
        per: list[dict] = []
        for i, p in enumerate(bench.problems):
            rows = samples.get(p.task_id, [])
            per.append({"task_id": p.task_id, "n": len(rows), "samples": [],
                        **({"group": p.meta["group"]} if "group" in p.meta else {})})
            for k, row in enumerate(rows):
                sol = solution_of(row, p)
                units = p.units(sol)
                # "_solution": for the benchmark's own metrics (EvalPerf profiles it); not kept in the result
                per[i]["samples"].append({"sample": k, "suites": {}, "units": [], "parts": {}, "_solution": sol})
                for u in units:
                    jobs.append(Job(u.source, u.timeout_s, u.nonce, tuple(u.parts.values())))
                    where.append((i, k, u))
        suites_named = {x for suites in bench.metrics.values() for x in suites}
        t0 = time.perf_counter()
        sandbox = sandbox_factory(bench.libraries, data_dir)
        try:
            with tqdm(total=len(jobs), desc=f"{progress_desc} sandbox", unit="run", mininterval=2) as bar:
                verdicts = sandbox.run_many(jobs, workers, progress=lambda i, v: bar.update(1))
            for (i, k, u), v in zip(where, verdicts):
                s = per[i]["samples"][k]
                unit = {"suite": u.suite, "name": u.name, "verdict": v.verdict}
                if v.verdict != "pass":
                    unit.update(note=v.note, stderr_tail=v.stderr_tail[-300:])
                report = read_report(v.stdout_tail)
                if report is not None:
                    unit["report"] = report
                s["units"].append(unit)
                for name, nonce in u.parts.items():   # a part passed if its nonce was printed
                    s["parts"][name] = "pass" if nonce in v.parts_proven else "fail"
                    if name in suites_named:          # a part that is a suite of a metric (evalplus's base, plus)
                        s["suites"][name] = s["parts"][name]
                if not (u.parts and set(u.parts) <= suites_named):   # (else its parts are the suites)
                    cur = s["suites"].get(u.suite, "pass")     # a suite's verdict: its first unit that did not pass
                    s["suites"][u.suite] = v.verdict if cur == "pass" else cur
            for row in per:
                row["correct"] = {m: sum(all(s["suites"].get(x) == "pass" for x in suites) for s in row["samples"])
                                  for m, suites in bench.metrics.items()}
            # the benchmark's own metrics; EvalPerf's profile references in the same sandbox
            extra = {}
            if bench.summarize:
                extra = bench.summarize(per, bench.problems, lambda js: sandbox.run_many(js, workers)) \
                    if _takes_runner(bench.summarize) else bench.summarize(per, bench.problems)
        finally:
            sandbox.close()
        for row in per:
            for smp in row["samples"]:
                smp.pop("_solution", None)
        summary: dict = {"problems": len(per), "samples": sum(r["n"] for r in per), "sandbox_runs": len(jobs),
                         "execution_s": round(time.perf_counter() - t0, 1),
                         "missing_samples": [r["task_id"] for r in per if not r["n"]], "unknown_task_ids": len(unknown)}
        # a problem without samples counts as failed: n = the most samples any problem has
        n_max = max((r["n"] for r in per), default=0)
        ns = [r["n"] or n_max for r in per]
        for metric in bench.metrics:
            cs = [r["correct"][metric] for r in per]
            res: dict = {"passed": sum(cs)}
            for k in (1, 10, 100):
                mean, se = pass_at_k(ns, cs, k)
                if mean is not None:
                    res[f"pass@{k}"], res[f"pass@{k}_se"] = mean, se
            summary[metric] = res
        summary.update(extra)
        return {"summary": summary, "problems": per}
    finally:
        if data_dir:
            shutil.rmtree(data_dir, ignore_errors=True)


def _takes_runner(fn) -> bool:
    """Whether a benchmark's summarize() runs sandbox jobs of its own (EvalPerf's references)."""
    import inspect
    return "run" in inspect.signature(fn).parameters


def default_sandbox_factory(cfg: dict, workers: int):
    from ..sandbox import Sandbox, SandboxLimits

    def make(libraries, data_dir):
        return Sandbox(SandboxLimits.from_config(cfg), unsafe_no_sandbox=cfg["sandbox"]["unsafe_no_sandbox"],
                       workers=workers, libraries=libraries, persistent=cfg["sandbox"]["persistent"], data_dir=data_dir)
    return make


def score_file(cfg: dict, benchmark: str, samples_path: str | Path, out: str | Path, workers: int | None = None) -> dict:
    """``python -m selfalign evaluate score``: the result JSON of ``samples_path`` on ``benchmark``."""
    from . import loader
    from ..model import sha256_file
    from ..report.provenance import provenance
    from ..records import write_json_atomic
    from ..sandbox import default_workers

    meta = read_meta(samples_path)
    if meta.get("skipped"):
        write_skip(out, benchmark, meta["skipped"], **{k: v for k, v in meta.items() if k not in ("skipped", "benchmark")})
        return {"skipped": meta["skipped"]}
    try:
        bench = loader(benchmark)(cfg)
    except DataMissing as exc:
        log.warning("%s", exc)
        write_skip(out, benchmark, str(exc))
        return {"skipped": str(exc)}
    limit = meta.get("limit", cfg["evaluate"]["limit"])
    if limit:
        bench.problems = bench.problems[:limit]
    samples = read_samples(samples_path)
    workers = default_workers(workers or cfg["sandbox"]["workers"])
    res = score_benchmark(bench, samples, default_sandbox_factory(cfg, workers), workers,
                          progress_desc=f"{meta.get('variant', '')}/{benchmark}".lstrip("/"))
    result = {"benchmark": benchmark, **{k: meta[k] for k in ("variant", "model", "prompt_style", "sampling", "limit",
                                                               "model_info", "lora", "generation") if k in meta},
              "official": bench.official, "limits": bench.limits, "timeout_scale": cfg["evaluate"]["timeout_scale"],
              "samples_file": {"path": str(samples_path), "sha256": sha256_file(samples_path)},
              # the benchmark's release (LiveCodeBench tag, DS-1000 release, EvalPerf version) beside the data's sha256
              "release": bench.info.get("release"), "data": bench.info, "provenance": provenance(), **res}
    write_json_atomic(out, result)
    return result
