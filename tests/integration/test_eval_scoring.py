"""Every benchmark module scores a known-correct solution as pass and a broken one as fail, in the
sandbox; the evalplus path reads a HumanEval+-format file the test writes."""
import gzip
import json

import pytest

from selfalign.evaluate import loader

pytestmark = pytest.mark.integration


def _score(sandbox, programs):
    return {suite: v.verdict for suite, v in zip(programs, sandbox.run_many(list(programs.values()), 4))}


def test_humaneval_canonical_passes_broken_fails(cfg, sandbox):
    probs, _ = loader("humaneval")(cfg)
    for p in probs[:5]:
        good = p.prompt + p.meta["canonical_solution"]
        assert _score(sandbox, p.programs(good)) == {"base": "pass"}, p.task_id
        assert _score(sandbox, p.programs(p.prompt + "    return None\n")) == {"base": "fail"}, p.task_id


@pytest.fixture
def humaneval_plus_file(tmp_path, cfg):
    from selfalign.benchdata import load_humaneval
    rows = []
    for r in load_humaneval()[:2]:
        rows.append({**r, "contract": "", "atol": 0,
                     "base_input": [[[1.0, 2.0, 3.0], 0.5], [[1.0, 2.8, 3.0], 0.3]] if r["entry_point"] == "has_close_elements"
                     else [["(()()) ((())) () ((())()())"], ["() (()) ((())) (((())))"]],
                     "plus_input": [[[1.0, 1.05], 0.1], [[0.0, 10.0, 20.0], 5.0]] if r["entry_point"] == "has_close_elements"
                     else [["((()))"], ["() () ()"]]})
    p = tmp_path / "HumanEvalPlus.jsonl.gz"
    with gzip.open(p, "wt") as f:
        f.write("\n".join(json.dumps(r) for r in rows) + "\n")
    return p


def test_humaneval_plus_base_and_plus_suites(cfg, sandbox, humaneval_plus_file, monkeypatch):
    monkeypatch.delenv("HUMANEVAL_OVERRIDE_PATH", raising=False)
    cfg["evaluate"]["data"]["humaneval_plus"] = str(humaneval_plus_file)
    probs, info = loader("humaneval_plus")(cfg)
    assert len(probs) == 2 and info["sha256"]
    from selfalign.benchdata import load_humaneval
    canon = {r["task_id"]: r["canonical_solution"] for r in load_humaneval()}
    for p in probs:
        assert _score(sandbox, p.programs(p.prompt + canon[p.task_id])) == {"base": "pass", "plus": "pass"}
        assert set(_score(sandbox, p.programs(p.prompt + "    return []\n")).values()) == {"fail"}
