"""HumanEval+ and MBPP+ in evalplus's format, scored differentially in our sandbox.

evalplus downloads its data from GitHub at run time, which fails offline; it reads a local file
from HUMANEVAL_OVERRIDE_PATH / MBPP_OVERRIDE_PATH at import time, so we set those from the config
before importing it. Scoring does not use evalplus's own guard (not a sandbox): each suite (base
inputs, plus inputs) is one program that runs the candidate and the canonical solution on every
input inside bubblewrap and compares outputs (with the task's atol for floats).
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from ..models import sha256_file
from .base import DataMissing, Problem

HARNESS = r'''
import copy as _copy, json as _json, math as _math
_INPUTS = _json.loads({inputs!r})
_ATOL = {atol!r}
_ns = {{}}
exec(compile({canonical!r}, "<canonical>", "exec"), _ns)
_ref = _ns[{entry!r}]
_cand = {entry}

def _eq(a, b):
    if isinstance(a, float) or isinstance(b, float):
        if isinstance(a, (int, float)) and isinstance(b, (int, float)):
            if _math.isnan(a) and _math.isnan(b):
                return True
            return _math.isclose(a, b, rel_tol=1e-6, abs_tol=max(_ATOL, 1e-9))
        return False
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return type(a) == type(b) and len(a) == len(b) and all(_eq(x, y) for x, y in zip(a, b))
    return a == b

for _i, _inp in enumerate(_INPUTS):
    _exp = _ref(*_copy.deepcopy(_inp))
    _got = _cand(*_copy.deepcopy(_inp))
    assert _eq(_got, _exp), f"input #{{_i}}: expected {{_exp!r}}, got {{_got!r}}"
'''


def harness_program(code: str, canonical: str, entry: str, inputs: list, atol: float) -> str:
    return code + "\n\n" + HARNESS.format(inputs=json.dumps(inputs), atol=float(atol or 0), canonical=canonical, entry=entry)


def _rows(kind: str, path: str | None) -> list[dict]:
    env = {"humaneval_plus": "HUMANEVAL_OVERRIDE_PATH", "mbpp_plus": "MBPP_OVERRIDE_PATH"}[kind]
    path = path or os.environ.get(env)
    if not path or not Path(path).exists():
        raise DataMissing(f"skipped: {kind} data not found at {path} (set evaluate.data.{kind} to a local "
                          f"{'HumanEvalPlus' if kind == 'humaneval_plus' else 'MbppPlus'}.jsonl)")
    os.environ[env] = str(path)  # evalplus reads it at import time
    try:
        from evalplus import data as epd
        problems = epd.get_human_eval_plus() if kind == "humaneval_plus" else epd.get_mbpp_plus()
        return list(problems.values())
    except ImportError:
        from ..benchdata import read_jsonl_any
        return read_jsonl_any(path)


def _load(kind: str, cfg: dict) -> tuple[list[Problem], dict]:
    path = cfg["evaluate"]["data"][kind]
    rows = _rows(kind, path)
    probs = []
    for r in rows:
        entry = r["entry_point"]
        canonical = (r["prompt"] + r["canonical_solution"]) if kind == "humaneval_plus" else r["canonical_solution"]
        atol = r.get("atol", 0) or 0

        def programs(code, r=r, canonical=canonical, entry=entry, atol=atol):
            return {"base": harness_program(code, canonical, entry, r.get("base_input", []), atol),
                    "plus": harness_program(code, canonical, entry, r.get("plus_input", []), atol)}

        if kind == "humaneval_plus":
            probs.append(Problem(task_id=r["task_id"], prompt=r["prompt"], entry_point=entry, programs=programs))
        else:
            # MBPP+: the prompt is a task description; base models complete a function header
            instruction = (f"{r['prompt'].strip()}")
            probs.append(Problem(task_id=str(r["task_id"]), prompt=f'"""\n{r["prompt"].strip()}\n"""\n', entry_point=entry,
                                 instruction=instruction, programs=programs, completion_is_body=True))
    src = path or os.environ.get("HUMANEVAL_OVERRIDE_PATH" if kind == "humaneval_plus" else "MBPP_OVERRIDE_PATH")
    return probs, {"source": src, "sha256": sha256_file(src)}


def load_humaneval_plus(cfg: dict):
    return _load("humaneval_plus", cfg)


def load_mbpp_plus(cfg: dict):
    return _load("mbpp_plus", cfg)
