"""What every benchmark shares: its problems, the sandbox runs that score one solution, and the
benchmark-level settings (metrics, stop strings, libraries, the official harness it follows).

A benchmark module's ``load(cfg) -> Benchmark`` reads the data (raising ``DataMissing`` when it
is not there). Generation (``generate.py``) asks each problem for its prompt; scoring
(``score.py``) asks it for the sandbox runs (``Unit``) that check a solution. A *solution* is a
whole program text that defines what the benchmark calls (evalplus's convention); a model's
*completion* becomes one through ``Problem.solution``.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..prompts import sft_prompt

log = logging.getLogger(__name__)


class DataMissing(RuntimeError):
    """The benchmark's data is not available locally; the run reports it as skipped."""


# A scoring program may print one line "SELFALIGN-REPORT {json}" (timings, per-test results); it
# is kept with the unit's verdict for the benchmark's own metrics (EvalPerf's DPS, ...).
REPORT_MARK = "SELFALIGN-REPORT "


def read_report(stdout: str) -> dict | None:
    for line in reversed(stdout.splitlines()):
        if line.startswith(REPORT_MARK):
            try:
                return json.loads(line[len(REPORT_MARK):])
            except ValueError:
                return None
    return None


@dataclass
class Unit:
    """One sandbox run that checks (part of) a solution. A suite passes when all its units pass."""
    suite: str                      # "base", "plus", "class", ...
    source: str
    timeout_s: float
    nonce: str | None               # the pass nonce the program prints (selfalign/sandbox/proof.py)
    name: str = ""
    # parts proven one by one inside the run (name -> nonce; e.g. ClassEval's test classes): a
    # part passes when its nonce was printed, whatever happened to the run after it
    parts: dict[str, str] = field(default_factory=dict)


@dataclass
class Problem:
    task_id: str
    prompt: str                       # what a base model continues
    units: Callable[[str], list[Unit]]  # solution program text -> the sandbox runs that score it
    instruction: str = ""             # what an instruction-tuned model is asked
    entry_point: str = ""
    # completion (or the code of an instruct response) -> solution program; None: prompt + completion (evalplus)
    to_solution: Callable[[str], str] | None = None
    # what the harness does to every whole program before running it, a samples row's "solution"
    # included (ClassEval prepends the task's imports); None: run as given
    program: Callable[[str], str] | None = None
    # the SFT prompt's response opens with this (SelfCodeAlign's ``response_prefix``)
    response_prefix: str = "```python"
    # an instruct response (the text after the prefix) -> its code; None: ``code_of_response``
    extract: Callable[[str], str] | None = None
    meta: dict = field(default_factory=dict)

    def solution(self, completion: str) -> str:
        return self.to_solution(completion) if self.to_solution else self.prompt + completion

    def code_of(self, response: str) -> str:
        return self.extract(response) if self.extract else code_of_response(response)

    def finish(self, solution: str) -> str:
        return self.program(solution) if self.program else solution


@dataclass
class Benchmark:
    name: str
    problems: list[Problem]
    info: dict                                   # where the data came from (path, sha256, counts)
    official: str                                # the official harness whose semantics scoring follows
    metrics: dict[str, list[str]]                # headline metric -> suites a sample must pass, in order
    completion_stop: list[str]                   # stop strings of a base model's completion
    instruct_stop: list[str] = field(default_factory=lambda: ["\n```"])
    libraries: bool | str = False                # the sandbox's site dir (True: the harness's venv)
    # the files the scoring programs read at /data (read-only); computed only when scoring
    files: Callable[[], dict[str, bytes]] | None = None
    summarize: Callable[[list[dict], list[Problem]], dict] | None = None
    limits: str = ""                             # the time limits, in words, for tables and the README


def instruct_prompt(p: Problem, bos: str = "") -> str:
    """The SFT template with the task, the response opened with the problem's response prefix (a
    Python fence, "```python" with no newline: the official SelfCodeAlign evaluation's
    ``response_prefix``, evaluation/text2code_vllm.py:87-97, 176-178; DS-1000's own,
    evaluation/ds_1000.py:137-202). ``bos``: the BOS token's text where the template must bring it
    (selfalign/bos.py ``template_bos``)."""
    task = p.instruction or f"Write a Python function to solve the following task:\n```python\n{p.prompt.strip()}\n```"
    return bos + sft_prompt(task) + p.response_prefix


def code_of_response(text: str) -> str:
    """The code of an instruct response that was opened inside a python fence: up to the fence's
    end (official: ``output.split("```python")[-1].split("```")[0]``)."""
    return text.split("```python")[-1].split("```")[0]


def read_rows(spec: str, name: str) -> tuple[list[dict], dict]:
    """Rows of a benchmark in its published format, and where they came from.

    ``spec`` is a local path — a .jsonl/.json file (optionally .gz), a .parquet file, or a
    directory of those — or ``hf:<dataset id>[:<split>]`` to load from the Hugging Face hub
    (GPU users with network; the CPU default never does)."""
    files, info = data_files(spec, name)
    if files is None:
        return hub_rows(spec, name), info
    from ..benchdata import read_jsonl_any
    rows: list[dict] = []
    for f in files:
        if f.suffix == ".parquet":
            import pyarrow.parquet as pq
            rows += pq.read_table(f).to_pylist()
        else:
            rows += read_jsonl_any(f)
    return rows, info


def data_files(spec: str | None, name: str) -> tuple[list[Path] | None, dict]:
    """The local files of ``spec`` with their sha256 (None for an ``hf:`` id); DataMissing if absent."""
    from ..model import sha256_file

    if spec and spec.startswith("hf:"):
        return None, {"source": spec}
    if not spec or not Path(spec).exists():
        raise DataMissing(f"skipped: {name} data not found at {spec}")
    path = Path(spec)
    files = sorted(f for f in path.rglob("*") if f.is_file()) if path.is_dir() else [path]
    files = [f for f in files if f.name.endswith((".jsonl", ".json", ".jsonl.gz", ".json.gz", ".parquet"))]
    if not files:
        raise DataMissing(f"skipped: {name} data not found at {spec} (no .jsonl/.json/.parquet files)")
    return files, {"source": str(path), "sha256": {f.name: sha256_file(f) for f in files}}


def hub_rows(spec: str, name: str) -> list[dict]:
    ds_id, _, split = spec[3:].partition(":")
    try:
        import datasets
        return datasets.load_dataset(ds_id, split=split or "test").to_list()
    except Exception as e:  # offline, unknown id, ...: the benchmark is skipped, not the run
        raise DataMissing(f"skipped: {name} data not found at {spec} ({type(e).__name__}: {e})") from None


def pass_at_1_by(per: list[dict], metric: str) -> dict:
    """pass@1 per value of each problem's ``group`` (difficulty, library, ...): the estimator's mean
    over the group's problems that have samples (metrics.per_problem)."""
    from .metrics import per_problem

    groups: dict[str, tuple[list[int], list[int]]] = {}
    for row in per:
        if "group" in row and row["n"]:
            ns, cs = groups.setdefault(row["group"], ([], []))
            ns.append(row["n"])
            cs.append(row["correct"][metric])
    return {g: {"problems": len(ns), "pass@1": round(100 * float(per_problem(ns, cs, 1).mean()), 2)}
            for g, (ns, cs) in sorted(groups.items())}


def write_skip(path: str | Path, benchmark: str, reason: str, **extra) -> None:
    from ..records import write_json_atomic
    write_json_atomic(path, {"benchmark": benchmark, "skipped": reason, **extra})

