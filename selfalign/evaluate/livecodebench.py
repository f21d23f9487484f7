"""LiveCodeBench (code generation, ``code_generation_lite`` format), scored in our sandbox.

Rows: ``question_content``, ``starter_code``, ``difficulty``, ``contest_date``, ``platform``,
``public_test_cases`` (JSON) and ``private_test_cases`` (JSON, or base64 of zlib of a pickled JSON
string, as released), ``metadata`` (JSON; ``func_name`` for LeetCode-style functional tests).
A sample passes when every public and private test passes: stdin tests compare stdout line by
line (numbers as decimals, like LCB), functional tests call ``Solution().<func_name>(*args)``.
``evaluate.livecodebench_window`` keeps problems released in [start, end) (the paper's
contamination-free window).
"""
from __future__ import annotations

import base64
import json
import pickle
import zlib

from .base import Problem, pass_at_1_by, read_rows

# What LiveCodeBench puts in front of every functional solution.
PRELUDE = ("from typing import *\nfrom collections import *\nfrom functools import *\nfrom itertools import *\n"
           "from heapq import *\nfrom bisect import *\nimport math, string, re, sys, copy, random, heapq, bisect, "
           "itertools, collections, functools\n")

HARNESS = r'''
import contextlib as _cl, io as _io, json as _json, sys as _sys
from decimal import Decimal as _D, InvalidOperation as _IO
_CODE = {code!r}
_TESTS = _json.loads({tests!r})
_FUNC = {func!r}
_PRELUDE = {prelude!r}


def _same_text(got, exp):
    g = [l.strip() for l in got.strip().splitlines()]
    e = [l.strip() for l in exp.strip().splitlines()]
    if g == e:
        return True
    if len(g) != len(e):
        return False
    for a, b in zip(g, e):
        if a == b:
            continue
        ta, tb = a.split(), b.split()
        if len(ta) != len(tb):
            return False
        try:
            if any(_D(x) != _D(y) for x, y in zip(ta, tb)):
                return False
        except _IO:
            return False
    return True


_results = []
for _i, _t in enumerate(_TESTS):
    if _t.get("testtype") == "functional":
        _ns = {{"__name__": "solution"}}
        exec(compile(_PRELUDE + _CODE, "<solution>", "exec"), _ns)
        _args = [_json.loads(x) for x in _t["input"].split("\n") if x.strip()]
        _got = getattr(_ns["Solution"](), _FUNC)(*_args)
        _ok = _json.loads(_json.dumps(_got)) == _json.loads(_t["output"])
    else:
        _out = _io.StringIO()
        _sys.stdin = _io.TextIOWrapper(_io.BytesIO(_t["input"].encode()), encoding="utf-8")
        with _cl.redirect_stdout(_out):
            try:
                exec(compile(_CODE, "<solution>", "exec"), {{"__name__": "__main__"}})
            except SystemExit:
                pass
        _ok = _same_text(_out.getvalue(), _t["output"])
    _results.append(bool(_ok))
    assert _ok, f"test #{{_i}} failed"
'''


def decode_tests(field) -> list[dict]:
    """Test cases as released: a JSON list, or base64(zlib(pickle(JSON string)))."""
    if not field:
        return []
    if isinstance(field, list):
        return field
    try:
        return json.loads(field)
    except ValueError:
        raw = pickle.loads(zlib.decompress(base64.b64decode(field.encode("utf-8"))))  # the release's own encoding
        return json.loads(raw) if isinstance(raw, (str, bytes)) else raw


def program(code: str, tests: list[dict], func: str) -> str:
    return HARNESS.format(code=code, tests=json.dumps(tests), func=func, prelude=PRELUDE)


def instruction(row: dict) -> str:
    q = row["question_content"].strip()
    if row.get("starter_code", "").strip():
        return (f"Solve this programming problem. Complete the starter code below and return the whole "
                f"solution in one Python code block.\n\n{q}\n\nStarter code:\n```python\n{row['starter_code'].rstrip()}\n```")
    return (f"Solve this programming problem. Write a complete Python program that reads the input from "
            f"standard input and writes the answer to standard output, in one Python code block.\n\n{q}")


def load(cfg: dict) -> tuple[list[Problem], dict]:
    rows, info = read_rows(cfg["evaluate"]["data"]["livecodebench"], "livecodebench")
    window = cfg["evaluate"]["livecodebench_window"]
    start, end = window.get("start"), window.get("end")
    probs = []
    for r in rows:
        date = str(r.get("contest_date", ""))[:10]
        if (start and date < start) or (end and date >= end):
            continue
        meta = r.get("metadata") or {}
        meta = json.loads(meta) if isinstance(meta, str) else meta
        tests = decode_tests(r.get("public_test_cases")) + decode_tests(r.get("private_test_cases"))
        func = meta.get("func_name", "")
        starter = r.get("starter_code") or ""
        prompt = f'"""\n{r["question_content"].strip()}\n"""\n' + (starter.rstrip() + "\n" if starter.strip() else "")
        probs.append(Problem(task_id=str(r.get("question_id", len(probs))), prompt=prompt, instruction=instruction(r),
                             programs=lambda code, tests=tests, func=func: {"base": program(code, tests, func)},
                             completion_is_body=True, metrics={"base": ["base"]},
                             stop=['\n"""', "\n```", "\n# Example", "\n# Test"],
                             meta={"group": str(r.get("difficulty", "unknown")), "date": date,
                                   "platform": r.get("platform", "")}))
    info.update(window=window, problems=len(probs), rows=len(rows))
    return probs, info


def summarize(per: list[dict], problems: list[Problem]) -> dict:
    return {"by_difficulty": pass_at_1_by(per)}
