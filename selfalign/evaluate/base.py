"""What every benchmark shares: problems, prompts, sandboxed scoring, pass@k."""
from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from ..prompts import code_blocks, sft_prompt

log = logging.getLogger(__name__)

# A completion of a function body ends at the first line back at column 0 (evalplus stops likewise).
COMPLETION_STOP = ["\ndef ", "\nclass ", "\nif ", "\nprint(", "\n#", "\nassert ", "\n@", "\nimport ", "\nfrom ",
                   '\n"""', "\n```", "\nfor ", "\nwhile "]
INSTRUCT_STOP = ["\n```", "\n### "]


class DataMissing(RuntimeError):
    """The benchmark's data is not available locally; the run reports it as skipped."""


# A scoring program may print one line "SELFALIGN-REPORT {json}" (timings, per-test results); it
# is kept with the sample's verdict for the benchmark's own metrics (EvalPerf's DPS, ...).
REPORT_MARK = "SELFALIGN-REPORT "


def read_report(stdout: str) -> dict | None:
    for line in reversed(stdout.splitlines()):
        if line.startswith(REPORT_MARK):
            try:
                return json.loads(line[len(REPORT_MARK):])
            except ValueError:
                return None
    return None


def read_rows(spec: str, name: str) -> tuple[list[dict], dict]:
    """Rows of a benchmark in its published format, and where they came from.

    ``spec`` is a local path — a .jsonl/.json file (optionally .gz), a .parquet file, or a
    directory of those — or ``hf:<dataset id>[:<split>]`` to load from the Hugging Face hub
    (GPU users with network; the CPU default never does)."""
    from ..benchdata import read_jsonl_any
    from ..models import sha256_file

    if spec and spec.startswith("hf:"):
        ds_id, _, split = spec[3:].partition(":")
        try:
            import datasets
            rows = datasets.load_dataset(ds_id, split=split or "test").to_list()
        except Exception as e:  # offline, unknown id, ...: the benchmark is skipped, not the run
            raise DataMissing(f"skipped: {name} data not found at {spec} ({type(e).__name__}: {e})") from None
        return rows, {"source": spec}
    if not spec or not Path(spec).exists():
        raise DataMissing(f"skipped: {name} data not found at {spec}")
    path = Path(spec)
    files = sorted(f for f in path.rglob("*") if f.is_file()) if path.is_dir() else [path]
    files = [f for f in files if f.name.endswith((".jsonl", ".json", ".jsonl.gz", ".json.gz", ".parquet"))]
    if not files:
        raise DataMissing(f"skipped: {name} data not found at {spec} (no .jsonl/.json/.parquet files)")
    rows: list[dict] = []
    for f in files:
        if f.suffix == ".parquet":
            import pyarrow.parquet as pq
            rows += pq.read_table(f).to_pylist()
        else:
            rows += read_jsonl_any(f)
    return rows, {"source": str(path), "sha256": {f.name: sha256_file(f) for f in files}}


@dataclass
class Problem:
    task_id: str
    prompt: str                       # what a base model completes (code prefix) or the task text
    entry_point: str = ""
    instruction: str = ""             # what an instruction-tuned model is asked
    # build the sandbox program(s) from the model's solution code; several = several test suites
    programs: Callable[[str], dict[str, str]] = field(default=lambda code: {})
    completion_is_body: bool = True   # completion mode: solution = prompt + completion
    meta: dict = field(default_factory=dict)
    # headline metrics: name -> suites that must all pass (None: each suite alone, "plus" after "base")
    metrics: dict[str, list[str]] | None = None
    stop: list[str] | None = None     # extra stop strings of this benchmark's completion format


def instruct_prompt(p: Problem) -> str:
    task = p.instruction or f"Write a Python function to solve the following task:\n```python\n{p.prompt.strip()}\n```"
    return sft_prompt(task) + "```python\n"


def solution_code(p: Problem, completion: str, style: str) -> str:
    """The program text that defines the solution, from a completion in either style."""
    if style == "completion":
        return p.prompt + completion if p.completion_is_body else completion
    # instruct: the response was opened with a python fence; keep the code up to its end
    code = completion.split("\n```")[0]
    if "```" in code:  # the model opened another fence
        blocks = code_blocks("```python\n" + code + "\n```")
        code = blocks[0] if blocks else code
    # keep the problem's own imports/helpers in front; the model's definition comes later and wins
    return (p.prompt + "\n    pass\n\n" if p.entry_point and p.completion_is_body else "") + code


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased estimator of Chen et al. (2021)."""
    if n - c < k:
        return 1.0
    return float(1.0 - np.prod(1.0 - k / np.arange(n - c + 1, n + 1)))


def evaluate_problems(problems: list[Problem], backend, sandbox, style: str, n: int, temperature: float,
                      max_tokens: int, seed: int, workers: int, progress_desc: str = "eval") -> dict:
    """Generate n samples per problem, score each in the sandbox; per-problem results + summary."""
    from tqdm import tqdm

    prompts = [p.prompt if style == "completion" else instruct_prompt(p) for p in problems]
    stop = COMPLETION_STOP if style == "completion" else INSTRUCT_STOP
    if style == "completion" and problems and problems[0].stop is not None:
        stop = problems[0].stop
    t0 = time.perf_counter()
    bar = tqdm(total=len(prompts), desc=f"{progress_desc} generate", unit="problem", mininterval=2)
    outs = backend.generate(prompts, n=n, temperature=temperature, max_tokens=max_tokens, stop=stop, seed=seed,
                            progress=lambda i, c: bar.update(1))
    bar.close()
    gen_s = time.perf_counter() - t0
    jobs = []  # (problem index, sample index, suite, program)
    for i, (p, comps) in enumerate(zip(problems, outs)):
        for k, c in enumerate(comps):
            code = solution_code(p, c.text, style)
            for suite, prog in p.programs(code).items():
                jobs.append((i, k, suite, prog))
    t1 = time.perf_counter()
    bar = tqdm(total=len(jobs), desc=f"{progress_desc} sandbox", unit="run", mininterval=2)
    verdicts = sandbox.run_many([j[3] for j in jobs], workers, progress=lambda i, v: bar.update(1))
    bar.close()
    exec_s = time.perf_counter() - t1
    per: list[dict] = [{"task_id": p.task_id, "samples": [{"completion": c.text, "finish_reason": c.finish_reason,
                                                            "suites": {}} for c in comps]}
                       for p, comps in zip(problems, outs)]
    for (i, k, suite, _), v in zip(jobs, verdicts):
        per[i]["samples"][k]["suites"][suite] = {"verdict": v.verdict, "stderr_tail": v.stderr_tail[-300:]}
        report = read_report(v.stdout_tail)
        if report is not None:
            per[i]["samples"][k]["suites"][suite]["report"] = report
    metrics = problems[0].metrics if problems and problems[0].metrics else None
    suites = list(metrics) if metrics else sorted({j[2] for j in jobs})
    summary: dict = {"problems": len(problems), "samples_per_problem": n, "generation_s": round(gen_s, 1),
                     "execution_s": round(exec_s, 1), "completion_tokens": backend.stats.completion_tokens}
    for suite in suites:
        # a sample passes suite S when S and every suite listed before it pass (plus implies base)
        if metrics:
            order = metrics[suite]
        else:
            order = suites[: suites.index(suite) + 1] if suite != "base" else ["base"]
        ks = [k for k in (1, 10, 100) if k <= n]
        res = {}
        for k in ks:
            vals = []
            for row in per:
                c = sum(all(s["suites"].get(x, {}).get("verdict") == "pass" for x in order) for s in row["samples"])
                vals.append(pass_at_k(n, c, k))
            res[f"pass@{k}"] = round(100 * float(np.mean(vals)), 2) if vals else None
        res["passed"] = sum(all(s["suites"].get(x, {}).get("verdict") == "pass" for x in order)
                            for row in per for s in row["samples"][:1])
        summary[suite] = res
    for row in per:
        row["passed"] = {suite: sum(s["suites"].get(suite, {}).get("verdict") == "pass" for s in row["samples"]) for suite in suites}
    for p, row in zip(problems, per):
        if p.meta.get("group"):
            row["group"] = p.meta["group"]
    return {"summary": summary, "problems": per}


def pass_at_1_by(per: list[dict], suite: str = "base") -> dict:
    """pass@1 (first sample) per value of each problem's ``group`` (difficulty, library, ...)."""
    groups: dict[str, list[bool]] = {}
    for row in per:
        if "group" in row:
            ok = bool(row["samples"]) and row["samples"][0]["suites"].get(suite, {}).get("verdict") == "pass"
            groups.setdefault(row["group"], []).append(ok)
    return {g: {"problems": len(v), "pass@1": round(100 * sum(v) / len(v), 2)} for g, v in sorted(groups.items())}


def write_skip(path: str | Path, benchmark: str, reason: str) -> None:
    from ..records import write_json_atomic
    write_json_atomic(path, {"benchmark": benchmark, "skipped": reason})


def read_result(path: str | Path) -> dict:
    with open(path) as f:
        return json.load(f)
