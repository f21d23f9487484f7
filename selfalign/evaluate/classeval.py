"""ClassEval (``ClassEval_data.json``): generate a whole class from its skeleton, run its unit tests.

Scoring follows ClassEval's own pipeline (FudanSELab/ClassEval classeval_evaluation/test_pipeline.py):
the program is the task's ``import_statement`` lines + the generated class (``add_static_statement``
applied; whether it came as a completion or as a samples row's whole "solution") + the task's
test code, imported as a module (its ``__main__`` block does not run); **each test class runs on
its own** under ``func_set_timeout(5)``: in a thread that is abandoned after 5 s (the next class
starts; the timeout is raised in it every 2 s until it ends), one after the other in one process,
and a test class succeeds when it ran > 0 tests with no error and no failure (``get_test_answer``
== "success"). Class-level pass@k: every test class of the class succeeds; method-level: pass@k
per test class, over all test classes (``cal_metrics_pass_at_k``'s ``class_success`` /
``fun_success``). Here a sample is one sandbox run (the solution module, then its test classes in
turn, each proving its own pass with a nonce), with 5 s per test class and
``IMPORT_ALLOWANCE_S`` on top; the module's import is not inside the first class's 5 s
(**deviation**: ClassEval imports it inside ``run_unit_test``; a slow library import on a loaded
machine would otherwise fail a class).

12 of the 100 tasks import third-party libraries (numpy, pandas, docx, openpyxl, bs4, gensim, PIL,
nltk, PyPDF2, reportlab): the benchmark's sandbox mounts the ``classeval`` library environment
(``python -m selfalign evaluate env build classeval``; ``selfalign/evaluate/envs.py``). Without it
those tasks fail, and the result says how many tasks needed a missing library.
"""
from __future__ import annotations

import json
import re

from ..sandbox import proof
from .base import Benchmark, Problem, Unit, read_rows

OFFICIAL = ("ClassEval (classeval_evaluation/test_pipeline.py): the program imported as a module, each test class "
            "alone under func_timeout's 5 s, success = testsRun > 0, no errors/failures")
TEST_CLASS_TIMEOUT_S = 5.0
IMPORT_ALLOWANCE_S = 5.0
RAISE_EVERY_S = 2.0       # func_timeout (StoppableThread.JoinThread): the timeout is raised again every 2 s

# The checks: ClassEval writes import_statement + class + test code to one file and imports it as a
# module (test_pipeline.py:27-33, 124), so the test file's `if __name__ == '__main__':` block never
# runs (ClassEval_44 has one). Its test classes then run one after the other (same process, same
# working directory: a test class may read what an earlier one wrote), each through
# `func_set_timeout(5)` (test_pipeline.py:122-130): in a thread, abandoned after 5 s with an
# exception raised in it (again every 2 s until it ends) while the next class starts; any
# exception out of a class counts it as not run (test_pipeline.py:143-153). A test class that
# succeeds proves its part at once.
RUN_CLASSES = r'''

import ctypes as _cc, sys as _cs, threading as _ct, types as _cty, unittest as _cu

_mod = _cty.ModuleType({module!r})
_mod.__file__ = "/tmp/{module}.py"          # the working directory, where ClassEval writes the file
_mod.__dict__.update({{k: v for k, v in _cs.modules["__solution__"].__dict__.items() if not k.startswith("__")}})
_cs.modules[{module!r}] = _mod
exec(compile({test!r}, "/tmp/{module}.py", "exec"), _mod.__dict__)


class _TimedOut(BaseException):
    pass


def _stop(t):                       # func_timeout's JoinThread: raise in the thread until it ends
    while t.is_alive():
        _cc.pythonapi.PyThreadState_SetAsyncExc(_cc.c_ulong(t.ident), _cc.py_object(_TimedOut))
        t.join({every!r})


def _run_class(cls):                # func_set_timeout({limit:g}) around run_unit_test
    box = {{}}

    def target():
        try:
            box["result"] = _cu.TextTestRunner(stream=_cs.stderr, verbosity=0).run(
                _cu.TestLoader().loadTestsFromTestCase(cls))
        except Exception as e:      # func_timeout hands back Exceptions only
            box["error"] = e

    t = _ct.Thread(target=target, daemon=True)
    t.start()
    t.join({limit!r})
    if t.is_alive():
        _ct.Thread(target=_stop, args=(t,), daemon=True).start()
        t.join(min(0.1, {limit!r} / 50))
        raise TimeoutError("test class over {limit:g} s")
    t.join(0.5)
    if "error" in box:
        raise box["error"]
    return box["result"]


_all_ok = True
for _name in {names!r}:
    try:
        _cr = _run_class(getattr(_mod, _name))
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


def extract_code(text: str) -> str:
    """test_pipeline.py::extract_code (43-91, the non-incoder branch): the text after a response
    marker, the first fenced block (```python, then other tags, then an unclosed ```python), else
    the lines from the first `class` on (imports kept), re-indented when the class is indented."""
    text = text.rstrip()
    for mark in ("### Response:", "@@ Response:", "[/INST]"):
        if mark in text:
            text = text.split(mark)[1]
            break
    for pattern in (r"```python(.*?)```", r"```ruby(.*?)```", r"```scss(.*?)```", r"```python(.*?)",
                    r"```(.*?)```", r"\[PYTHON\](.*?)\[/PYTHON\]"):
        found = re.findall(pattern, text, re.S)
        if found:
            return found[0]
    lines = text.split("\n")
    dropped = []
    for line in lines:
        if line.strip().startswith("class"):
            break
        if not line.strip().startswith(("import", "from")):
            dropped.append(line)
    text = "\n".join(line for line in lines if line not in dropped)
    lead = next((len(x) - len(x.lstrip()) for x in text.split("\n") if x.strip().startswith("class")), 0)
    if lead:
        text = "\n".join(" " * (len(x) - len(x.lstrip()) - lead) + x.lstrip() for x in text.split("\n"))
    return text


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
            checks = RUN_CLASSES.format(module=f"{r['task_id']}_0", test=r["test"], limit=limit, every=RAISE_EVERY_S,
                                        names=names, part=proof.part_passed_var("_name"))
            return [Unit("class", proof.checked_program(solution, checks, n, parts),
                         limit * len(names) + IMPORT_ALLOWANCE_S, n, parts=parts)]

        probs.append(Problem(
            task_id=r["task_id"],
            # base models: the skeleton, then the full class is written out after it
            prompt=f"{skel}\n\n\n# The complete implementation of {r['class_name']}:\n{imports(r)}\n",
            # generation/inference_pipeline.py (holistic): the instruction ClassEval gives a model
            instruction=f"Please complete the class {r['class_name']} in the following code.\n```python\n{skel}\n```",
            units=units, to_solution=lambda code, r=r: solution_of(code, r),
            program=lambda code, r=r: solution_of(code, r),
            # the response as ClassEval's extract_code sees a model's output: the fence our stop cut, closed again
            extract=lambda text: extract_code("```python\n" + text + "\n```"),
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
