"""Samples files: what generation writes and what scoring reads (evalplus's convention).

One JSON object a line: ``{"task_id", "solution"}`` (a whole program that defines the solution)
or ``{"task_id", "completion"}`` (a continuation of the task's prompt, turned into a solution by
the benchmark: for HumanEval(+) and MBPP+, prompt + completion). Several rows for one task are
several samples (pass@k). Other fields are kept but not needed. Beside it,
``<name>.samples.json`` may say how the samples were made (model, prompt style, sampling), or
that the benchmark was skipped and why.
"""
from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path


class SamplesError(ValueError):
    """A samples file that cannot be scored; the message names the file and line."""


def meta_path(samples: str | Path) -> Path:
    p = Path(samples)
    return p.with_name(p.name.removesuffix(".jsonl") + ".json") if p.name.endswith(".jsonl") else p.with_suffix(".json")


def read_meta(samples: str | Path) -> dict:
    p = meta_path(samples)
    return json.loads(p.read_text()) if p.exists() else {}


def read_samples(path: str | Path) -> dict[str, list[dict]]:
    """task_id -> its sample rows, in file order (a corrupt line is a RecordError naming it)."""
    from ..records import iter_jsonl
    path = Path(path)
    if not path.exists():
        raise SamplesError(f"samples file not found: {path}")
    out: dict[str, list[dict]] = defaultdict(list)
    for n, row in enumerate(iter_jsonl(path), 1):
        if "task_id" not in row:
            raise SamplesError(f"{path}: sample {n} has no task_id")
        if not isinstance(row.get("solution", row.get("completion")), str):
            raise SamplesError(f"{path}: sample {n} ({row['task_id']}) needs a 'solution' or a 'completion' string")
        out[str(row["task_id"])].append(row)
    return dict(out)
