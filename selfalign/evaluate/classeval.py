"""ClassEval (``ClassEval_data.json``): generate a whole class from its skeleton, run its unit tests.

Rows: ``task_id``, ``class_name``, ``skeleton``, ``test`` (unittest code), ``test_classes``,
``import_statement``, ``solution_code``. Class-level pass@1: every test class passes; method-level:
the share of test classes (one per method) that pass, over all classes — both as in the paper.
"""
from __future__ import annotations

import json

from .base import Problem, read_rows

RUNNER = r'''

import json as _json, sys as _sys, unittest as _ut
_res = {{}}
for _name in {classes!r}:
    _suite = _ut.defaultTestLoader.loadTestsFromTestCase(globals()[_name])
    _r = _ut.TextTestRunner(stream=_sys.stderr, verbosity=0).run(_suite)
    _res[_name] = _r.wasSuccessful() and _r.testsRun > 0
print("SELFALIGN-REPORT " + _json.dumps({{"methods": _res}}))
_sys.exit(0 if all(_res.values()) else 1)
'''


def imports(row: dict) -> str:
    imp = row.get("import_statement") or []
    return "\n".join(imp) if isinstance(imp, list) else str(imp)


def program(code: str, row: dict) -> str:
    return f"{imports(row)}\n{code}\n\n{row['test']}\n" + RUNNER.format(classes=list(row["test_classes"]))


def load(cfg: dict) -> tuple[list[Problem], dict]:
    rows, info = read_rows(cfg["evaluate"]["data"]["classeval"], "classeval")
    probs = []
    for r in rows:
        if isinstance(r.get("test_classes"), str):
            r["test_classes"] = json.loads(r["test_classes"])
        skel = r["skeleton"].rstrip()
        probs.append(Problem(
            task_id=r["task_id"],
            # base models: the skeleton, then the full class is written out after it
            prompt=f"{skel}\n\n\n# The complete implementation of {r['class_name']}:\n{imports(r)}\n",
            instruction=f"Please complete the class {r['class_name']} in the following code.\n```python\n{skel}\n```",
            programs=lambda code, r=r: {"class": program(code, r)}, completion_is_body=False,
            metrics={"class": ["class"]}, stop=["\nif __name__", "\nclass Test", "\n```", "\n# Test"],
            meta={"canonical_solution": r.get("solution_code", ""), "methods": len(r["test_classes"])}))
    info.update(problems=len(probs))
    return probs, info


def summarize(per: list[dict], problems: list[Problem]) -> dict:
    ok = total = 0
    for row, prob in zip(per, problems):
        rep = row["samples"][0]["suites"].get("class", {}).get("report") if row["samples"] else None
        methods = (rep or {}).get("methods")
        n = prob.meta["methods"]
        if methods:
            ok += sum(bool(v) for v in methods.values())
            total += len(methods)
        else:  # crashed before its tests ran: every method of the class counts as failed
            total += n
    return {"method_level": {"methods": total, "pass@1": round(100 * ok / total, 2) if total else None}}
