"""DS-1000 (``ds1000.jsonl(.gz)`` of the 2024 release): data-science problems on 7 libraries.

Rows: ``prompt`` (ends where the solution goes), ``reference_code``, ``code_context`` (defines
``test_execution(solution)`` and sometimes ``test_string(solution)``), ``metadata`` (``library``,
``problem_id``, ``perturbation_type``). The scoring program is the release's own: the context, the
solution as a string, ``test_execution`` (+ ``test_string``). Programs import the libraries, so
this benchmark's sandbox sees the harness's site-packages read-only; problems on a library that
is not installed are left out and counted (``skipped_libraries``), not scored as failures.
"""
from __future__ import annotations

import importlib.util
import json

from .base import Problem, pass_at_1_by, read_rows

NEEDS_LIBRARIES = True
MODULES = {"Numpy": "numpy", "Pandas": "pandas", "Scipy": "scipy", "Sklearn": "sklearn",
           "Matplotlib": "matplotlib", "Tensorflow": "tensorflow", "Pytorch": "torch"}


def program(code: str, context: str) -> str:
    prog = f"{context}\ncode = {code!r}\ntest_execution(code)\n"
    if "test_string(" in context:
        prog += "test_string(code)\n"
    return prog


def load(cfg: dict) -> tuple[list[Problem], dict]:
    rows, info = read_rows(cfg["evaluate"]["data"]["ds1000"], "ds1000")
    probs, skipped = [], {}
    for k, r in enumerate(rows):
        meta = r.get("metadata") or {}
        meta = json.loads(meta) if isinstance(meta, str) else meta
        lib = meta.get("library", "")
        mod = MODULES.get(lib, lib.lower())
        if not mod or importlib.util.find_spec(mod) is None:
            skipped[lib] = skipped.get(lib, 0) + 1
            continue
        ctx = r["code_context"]
        probs.append(Problem(
            task_id=str(meta.get("problem_id", k)), prompt=r["prompt"],
            instruction=("Write the Python code that goes in place of the solution in the problem below (only that "
                         f"code, no explanation).\n\n{r['prompt'].strip()}"),
            programs=lambda code, ctx=ctx: {"base": program(code, ctx)}, completion_is_body=False,
            metrics={"base": ["base"]}, stop=["</code>", "# SOLUTION END", "\n```"],
            meta={"group": lib, "canonical_solution": r.get("reference_code", ""),
                  "perturbation": meta.get("perturbation_type", "")}))
    info.update(problems=len(probs), skipped_libraries=skipped)
    return probs, info


def summarize(per: list[dict], problems: list[Problem]) -> dict:
    return {"by_library": pass_at_1_by(per)}
