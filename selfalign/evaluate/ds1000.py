"""DS-1000 (``ds1000.jsonl(.gz)`` of the 2024 release): data-science problems on 7 libraries.

Rows: ``prompt`` (ends where the solution goes), ``reference_code``, ``code_context`` (defines
``test_execution(solution)`` and sometimes ``test_string(solution)``), ``metadata`` (``library``,
``problem_id``, ``perturbation_type``). Scoring is the release's own (xlang-ai/DS-1000
test_ds1000.py): the context, ``code = <the solution as a string>``, ``test_execution(code)``
(+ ``test_string(code)``), one program per sample, 120 s. Generated code is post-processed the
official SelfCodeAlign way (evaluation/ds_1000.py::postprocess: up to the first fence) and the
release's way (up to ``</code>`` / ``END SOLUTION``).

The programs import the libraries, so the sandbox mounts the ``ds1000`` library environment
(``python -m selfalign evaluate env build ds1000``). A problem whose library is not in it is
scored as **failed**, and the result counts those problems per library (``missing_library``):
the headline number is over all problems, never over a silent subset.
"""
from __future__ import annotations

import json

from ..sandbox import proof
from .base import Benchmark, Problem, Unit, pass_at_1_by, read_rows

OFFICIAL = "DS-1000 2024 release (test_ds1000.py: code_context + test_execution/test_string), 120 s"
TIMEOUT_S = 120.0
MODULES = {"Numpy": "numpy", "Pandas": "pandas", "Scipy": "scipy", "Sklearn": "sklearn",
           "Matplotlib": "matplotlib", "Tensorflow": "tensorflow", "Pytorch": "torch"}


def checks(context: str) -> str:
    return "test_execution(code)\n" + ("test_string(code)\n" if "test_string(" in context else "")


def postprocess(code: str) -> str:
    """What the harnesses strip from a generated solution: a closing fence (SelfCodeAlign), the
    prompt's ``</code>`` / ``END SOLUTION`` markers (the release)."""
    code = code.split("</code>")[0].replace("```python", "").split("```")[0]
    return code.split("\nEND SOLUTION")[0].replace("<code>", "")


def load(cfg: dict) -> Benchmark:
    from .envs import available_modules, site_for

    rows, info = read_rows(cfg["evaluate"]["data"]["ds1000"], "ds1000")
    site, env_info = site_for("ds1000", cfg)
    have = available_modules(site)
    timeout = TIMEOUT_S * cfg["evaluate"]["timeout_scale"]
    probs, missing = [], {}
    for k, r in enumerate(rows):
        meta = r.get("metadata") or {}
        meta = json.loads(meta) if isinstance(meta, str) else meta
        lib = meta.get("library", "")
        mod = MODULES.get(lib, lib.lower())
        lacking = have is not None and mod not in have
        if lacking:
            missing[lib] = missing.get(lib, 0) + 1
        ctx = r["code_context"]

        def units(solution: str, ctx=ctx) -> list[Unit]:
            n = proof.new_nonce()
            # the solution module is the release's context with the code as a string, as test_ds1000.py builds it
            return [Unit("base", proof.checked_program(f"{ctx}\ncode = {solution!r}\n", checks(ctx), n), timeout, n)]

        probs.append(Problem(
            task_id=str(meta.get("problem_id", k)), prompt=r["prompt"],
            instruction=("Write the Python code that goes in place of the solution in the problem below (only that "
                         f"code, no explanation).\n\n{r['prompt'].strip()}"),
            units=units, to_solution=postprocess,
            meta={"group": lib, "canonical_solution": r.get("reference_code", ""),
                  "perturbation": meta.get("perturbation_type", ""), "library_missing": lacking}))
    info.update(problems=len(probs), missing_library=missing, environment=env_info)
    return Benchmark("ds1000", probs, info, OFFICIAL, metrics={"base": ["base"]},
                     completion_stop=["</code>", "# SOLUTION END", "\n```"], instruct_stop=["```"], libraries=site,
                     summarize=summarize, limits=f"{TIMEOUT_S:g} s per sample")


def summarize(per: list[dict], problems: list[Problem]) -> dict:
    missing = sum(p.meta["library_missing"] for p in problems)
    return {"by_library": pass_at_1_by(per, "base"), "failed_missing_library": missing}
