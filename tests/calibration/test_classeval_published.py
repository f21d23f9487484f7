"""ClassEval on held-out published outputs: GPT-4's and GPT-3.5's greedy holistic generations as
ClassEval published them (tests/fixtures/classeval/), scored by our ClassEval harness from
``solution`` rows (ClassEval's ``extract_code`` of each output: the imports are the harness's to
add), land near ClassEval's own published class- and method-level pass@1 (bounds below).

Before issue 24's fixes, a row given as ``solution`` lacked the task's import_statement lines
(31 test classes lost on one model) and a test class with a second hanging test ran unbounded
until the sample's wall limit (every later class lost): 6-7 points low on one model.
Needs the ClassEval data (``../shared/benchdata``) and its library environment.
"""
import gzip
import json
import os
from pathlib import Path

import pytest

from selfalign.evaluate import loader

from test_calibration import CLASSEVAL, CLASSEVAL_EXCEPTIONS, _need

pytestmark = [pytest.mark.integration, pytest.mark.calibration]

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "classeval"
# ClassEval README, output/images/C_pass1_bar.png (greedy): class-level, method-level pass@1 (%)
PUBLISHED = {"GPT-4_100_c_t0": (37.0, 62.5), "ChatGPT_100_c_t0": (27.0, 52.5)}
# method-level tolerance: GPT-4's is the CI check (without issue 24's fixes it read 58.76: 3.7 low);
# GPT-3.5's measured +3.3 is kept as measured
METHOD_TOL = {"GPT-4_100_c_t0": 2.5, "ChatGPT_100_c_t0": 3.5}
# CI scores GPT-4's (12 of its outputs lack an import their task needs); both with SELFALIGN_CALIBRATION_FULL=1
RUN = list(PUBLISHED) if os.environ.get("SELFALIGN_CALIBRATION_FULL") == "1" else ["GPT-4_100_c_t0"]


@pytest.fixture(scope="module")
def classeval():
    from selfalign.config import resolve
    from selfalign.evaluate.envs import site_for
    _need(CLASSEVAL)
    cfg = resolve({})
    cfg["evaluate"]["data"]["classeval"] = str(CLASSEVAL)
    if not site_for("classeval", cfg)[0]:
        pytest.skip("ClassEval's library environment is not built (python -m selfalign evaluate env build classeval)")
    return loader("classeval")(cfg)


@pytest.mark.parametrize("outputs", RUN)
def test_published_outputs_score_as_classeval_scored_them(classeval, score, outputs):
    """Method level within METHOD_TOL points of ClassEval's own figure; class level within 2 points
    once the tasks that cannot pass offline here (CLASSEVAL_EXCEPTIONS: today's date, network,
    nltk corpora, 5 s on a slower machine, ...) are allowed for. Measured (README "Benchmarks"):
    GPT-4 30 / 63.15 (published 37.0 / 62.5), GPT-3.5 23 / 55.78 (27.0 / 52.5); each fails all 7
    exception tasks here."""
    from selfalign.evaluate.classeval import extract_code
    predict = json.loads(gzip.open(FIXTURES / f"{outputs}.predict.json.gz").read())
    assert sorted(predict) == sorted(p.task_id for p in classeval.problems)
    res = score(classeval, {tid: [extract_code(text)] for tid, text in predict.items()})
    class_level, method_level = res["summary"]["class"]["pass@1"], res["summary"]["method_level"]["pass@1"]
    want_class, want_method = PUBLISHED[outputs]
    offline = sum(r["task_id"] in CLASSEVAL_EXCEPTIONS and r["correct"]["class"] == 0 for r in res["problems"])
    assert abs(method_level - want_method) <= METHOD_TOL[outputs], (class_level, method_level)
    assert want_class - 2.0 - offline <= class_level <= want_class + 2.0, (class_level, method_level, offline)
