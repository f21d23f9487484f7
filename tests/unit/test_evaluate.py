import math

import pytest

from selfalign.evaluate import REGISTRY, loader
from selfalign.evaluate.base import DataMissing, Problem, pass_at_k, solution_code


def test_pass_at_k_unbiased():
    assert pass_at_k(10, 0, 1) == 0.0
    assert pass_at_k(10, 10, 1) == 1.0
    assert math.isclose(pass_at_k(10, 3, 1), 0.3)
    assert math.isclose(pass_at_k(5, 1, 2), 1 - (4 / 5) * (3 / 4))


def test_solution_code_styles():
    p = Problem(task_id="t", prompt='def f(x):\n    """Double."""\n', entry_point="f")
    assert solution_code(p, "    return 2 * x\n", "completion") == p.prompt + "    return 2 * x\n"
    code = solution_code(p, "def f(x):\n    return x + x\n```\nExplanation", "instruct")
    ns = {}
    exec(code, ns)
    assert ns["f"](3) == 6


def test_humaneval_loads_164_offline(cfg):
    probs, info = loader("humaneval")(cfg)
    assert len(probs) == 164 and info["sha256"]
    assert "check(" in probs[0].programs("pass")["base"]


@pytest.mark.parametrize("name", ["humaneval_plus", "mbpp_plus", "livecodebench", "evalperf", "classeval", "ds1000", "canitedit"])
def test_missing_data_is_a_skip_naming_the_path(cfg, name, monkeypatch):
    monkeypatch.delenv("HUMANEVAL_OVERRIDE_PATH", raising=False)
    monkeypatch.delenv("MBPP_OVERRIDE_PATH", raising=False)
    cfg["evaluate"]["data"][name] = "/nonexistent/data.jsonl"
    with pytest.raises(DataMissing, match=f"skipped: {name} data not found at /nonexistent/data.jsonl"):
        loader(name)(cfg)


def test_registry_complete():
    from selfalign.config import load_schema
    names = load_schema()["properties"]["evaluate"]["properties"]["benchmarks"]["items"]["enum"]
    assert set(names) == set(REGISTRY)
