"""ClassEval (``ClassEval_data.json``): generate a whole class from its skeleton, run its unit tests.

Scoring follows ClassEval's own pipeline (FudanSELab/ClassEval classeval_evaluation/test_pipeline.py):
the program is the task's ``import_statement`` lines + the generated class (``add_static_statement``
applied) + the task's test code; **each test class runs on its own** under a 5 s limit
(``run_unit_test``'s ``func_set_timeout(5)``), one after the other in one process, and a test class succeeds when it ran > 0 tests with
no error and no failure (``get_test_answer`` == "success"). Class-level pass@k: every test class
of the class succeeds; method-level: pass@k per test class, over all test classes
(``cal_metrics_pass_at_k``'s ``class_success`` / ``fun_success``). Here a sample is one sandbox
run (the solution module, then its test classes in turn, each proving its own pass with a nonce),
with 5 s per test class and ``IMPORT_ALLOWANCE_S`` on top for the interpreter and libraries.

12 of the 100 tasks import third-party libraries (numpy, pandas, docx, openpyxl, bs4, gensim, PIL,
nltk, PyPDF2, reportlab): the benchmark's sandbox mounts the ``classeval`` library environment
(``python -m selfalign evaluate env build classeval``; ``selfalign/evaluate/envs.py``). Without it
those tasks fail, and the result says how many tasks needed a missing library.
"""
from __future__ import annotations

import json

from ..sandbox import proof
from .base import Benchmark, Problem, Unit, read_rows

OFFICIAL = "ClassEval (classeval_evaluation/test_pipeline.py): each test class alone, 5 s, success = testsRun > 0, no errors/failures"
TEST_CLASS_TIMEOUT_S = 5.0
IMPORT_ALLOWANCE_S = 5.0

# Runs the test classes one after the other, as run_unit_test does (same process, same working
# directory: a test class may read what an earlier one wrote), each under its own 5 s alarm; a
# test class that succeeds proves its part at once.
RUN_CLASSES = r'''

import signal as _csig, sys as _cs, unittest as _cu


def _over(*_a):
    raise TimeoutError("test class over {limit:g} s")


_csig.signal(_csig.SIGALRM, _over)
_all_ok = True
for _name in {names!r}:
    try:
        _csig.setitimer(_csig.ITIMER_REAL, {limit!r})
        try:
            _cr = _cu.TextTestRunner(stream=_cs.stderr, verbosity=0).run(
                _cu.TestLoader().loadTestsFromTestCase(globals()[_name]))
        finally:
            _csig.setitimer(_csig.ITIMER_REAL, 0)
        _ok = _cr.testsRun > 0 and not _cr.errors and not _cr.failures   # get_test_answer == "success"
    except BaseException as _e:   # run_unit_test's except: the class counts as not run
        print(f"{{_name}}: {{type(_e).__name__}}: {{_e}}", file=_cs.stderr)
        _ok = False
    if _ok:
        {part}
    _all_ok = _all_ok and _ok
if not _all_ok:
    _cs.exit(1)
'''


def imports(row: dict) -> str:
    imp = row.get("import_statement") or []
    return "\n".join(imp) if isinstance(imp, list) else str(imp)


def add_static_statement(code: str) -> str:
    """test_pipeline.py::add_static_statement: drop ``@staticmethod`` lines, then put one before
    every method (4-space ``def``) that takes neither self nor cls."""
    lines = [line for line in code.split("\n") if "@staticmethod" not in line]
    out = []
    for line in lines:
        if line.strip().startswith("def ") and "self" not in line and "cls" not in line \
                and len(line) - len(line.lstrip()) == 4:
            out.append("    @staticmethod")
        out.append(line)
    return "\n".join(out)


def solution_of(code: str, row: dict) -> str:
    """test_pipeline.py::gen_code_list: the import statements, then the class."""
    return imports(row) + "\n" + add_static_statement(code)


def load(cfg: dict) -> Benchmark:
    from .envs import site_for

    rows, info = read_rows(cfg["evaluate"]["data"]["classeval"], "classeval")
    scale = cfg["evaluate"]["timeout_scale"]
    limit = TEST_CLASS_TIMEOUT_S * scale
    probs = []
    for r in rows:
        if isinstance(r.get("test_classes"), str):
            r["test_classes"] = json.loads(r["test_classes"])
        skel = r["skeleton"].rstrip()

        def units(solution: str, r=r) -> list[Unit]:
            n, names = proof.new_nonce(), list(r["test_classes"])
            parts = {name: proof.new_nonce() for name in names}
            checks = r["test"] + RUN_CLASSES.format(limit=limit, names=names, part=proof.part_passed_var("_name"))
            return [Unit("class", proof.checked_program(solution, checks, n, parts),
                         limit * len(names) + IMPORT_ALLOWANCE_S, n, parts=parts)]

        probs.append(Problem(
            task_id=r["task_id"],
            # base models: the skeleton, then the full class is written out after it
            prompt=f"{skel}\n\n\n# The complete implementation of {r['class_name']}:\n{imports(r)}\n",
            # generation/inference_pipeline.py (holistic): the instruction ClassEval gives a model
            instruction=f"Please complete the class {r['class_name']} in the following code.\n```python\n{skel}\n```",
            units=units, to_solution=lambda code, r=r: solution_of(code, r),
            meta={"canonical_solution": r.get("solution_code", ""), "test_classes": list(r["test_classes"])}))
    site, env_info = site_for("classeval", cfg)
    info.update(problems=len(probs), test_classes=sum(len(p.meta["test_classes"]) for p in probs), environment=env_info)
    return Benchmark("classeval", probs, info, OFFICIAL, metrics={"class": ["class"]},
                     completion_stop=["\nif __name__", "\nclass Test", "\n```", "\n# Test"], libraries=site,
                     summarize=summarize, limits=f"{TEST_CLASS_TIMEOUT_S:g} s per test class, each run alone")


def summarize(per: list[dict], problems: list[Problem]) -> dict:
    """Method-level pass@k (the share of test classes, one per method, that pass), with its SE."""
    from .metrics import pass_at_k
    ns, cs = [], []
    for row, prob in zip(per, problems):
        for name in prob.meta["test_classes"]:
            ns.append(row["n"])
            cs.append(sum(s["parts"].get(name) == "pass" for s in row["samples"]))
    res: dict = {"test_classes": len(ns)}
    for k in (1, 10, 100):
        mean, se = pass_at_k(ns, cs, k)
        if mean is not None:
            res[f"pass@{k}"], res[f"pass@{k}_se"] = mean, se
    return {"method_level": res}
