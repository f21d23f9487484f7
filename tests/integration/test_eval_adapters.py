"""LiveCodeBench, EvalPerf, ClassEval, DS-1000, CanItEdit and HumanEval+: each adapter reads a small
fixture in the benchmark's released format (written here), and the real scorer (sandbox, nonce)
scores a known-correct solution as pass and a broken one as fail; the benchmark's own metrics
come out of its summary."""
import base64
import json
import pickle
import zlib

import pytest

from selfalign.evaluate import loader

pytestmark = pytest.mark.integration


def _jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(path)


def _verdicts(res, metric="base"):
    """Per problem: the first sample's verdict on ``metric``."""
    return [row["n"] > 0 and row["correct"][metric] == row["n"] for row in res["problems"]]


# ------------------------------------------------------------------------------- LiveCodeBench
def _encode_private(tests):
    return base64.b64encode(zlib.compress(pickle.dumps(json.dumps(tests)))).decode()


@pytest.fixture
def lcb_file(tmp_path):
    return _lcb_file(tmp_path)


def _lcb_file(tmp_path):
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


def test_livecodebench_stdin_and_functional(cfg, score, lcb_file):
    cfg["evaluate"]["data"]["livecodebench"] = lcb_file
    cfg["evaluate"]["livecodebench_windows"] = [{"start": "2024-05-01", "end": None}, {"start": "2024-09-15", "end": None}]
    b = loader("livecodebench")(cfg)
    assert [p.task_id for p in b.problems] == ["abc000_a", "1"] and b.info["rows"] == 3
    good = ["a, b = map(int, input().split())\nprint(a + b)\n",
            "class Solution:\n    def twoSum(self, nums, target):\n        seen = {}\n        for i, x in enumerate(nums):\n"
            "            if target - x in seen:\n                return [seen[target - x], i]\n            seen[x] = i\n"]
    bad = ["import sys\na, b = map(int, sys.stdin.read().split())\nprint(a - b)\n",
           "class Solution:\n    def twoSum(self, nums, target):\n        return [0, 1]\n"]
    ids = [p.task_id for p in b.problems]
    assert _verdicts(score(b, dict(zip(ids, [[c] for c in good])))) == [True, True]
    # the second wrong solution passes the public test but not the private one
    assert _verdicts(score(b, dict(zip(ids, [[c] for c in bad])))) == [False, False]
    res = score(b, {ids[0]: [good[0]], ids[1]: [bad[1]]})
    s = res["summary"]
    assert s["by_difficulty"] == {"easy": {"problems": 1, "pass@1": 100.0}, "medium": {"problems": 1, "pass@1": 0.0}}
    assert s["by_window"]["start 2024-05-01"] == {"problems": 2, "pass@1": 50.0, "pass@1_se": 50.0}
    assert s["by_window"]["start 2024-09-15"] == {"problems": 1, "pass@1": 0.0, "pass@1_se": 0.0}
    # lcb_runner's semantics: a stdin program under `if __name__ == '__main__':`, sys.stdin.read, recursion,
    # exit() inside the program, and a tuple where the expected output is a list
    more = ["import sys\ndef main():\n    a, b = map(int, sys.stdin.read().split())\n    print(a + b)\n"
            "if __name__ == '__main__':\n    main()\n",
            "class Solution:\n    def twoSum(self, nums, target):\n        def go(i, seen):\n"
            "            if target - nums[i] in seen:\n                return (seen[target - nums[i]], i)\n"
            "            seen[nums[i]] = i\n            return go(i + 1, seen)\n        return go(0, {})\n"]
    assert _verdicts(score(b, dict(zip(ids, [[c] for c in more])))) == [True, True]
    # the paper-era grader (8eac093): reliability_guard sets exit to None, so exit() is a runtime
    # error; sys.exit() raises SystemExit, which call_method catches per test
    leave = "a, b = map(int, input().split())\nprint(a + b)\n"
    res = score(b, {ids[0]: [leave + "exit(0)\n", leave + "import sys\nsys.exit(0)\n"]})
    assert [s["suites"]["base"] for s in res["problems"][0]["samples"]] == ["fail", "pass"]
    # an SFT model's answer to a starter-code problem is the whole class (issue 24: it was put
    # after the prompt's unfinished signature, an IndentationError)
    two = b.problems[1]
    assert "### Answer: (use the provided format with backticks)" in two.instruction and "class Solution" in two.instruction
    answer = two.solution(two.code_of(good[1] + "```\n\nThis runs in O(n)."))
    assert answer == good[1].strip() and _verdicts(score(b, {ids[1]: [answer]})) == [False, True]


def test_livecodebench_release_window_and_float_tolerance(cfg, score, tmp_path):
    """release_v1 reads test.jsonl only; a window's end is inclusive at 00:00 (lcb_runner); the
    paper-era stdio grading accepts floats within np.allclose, the 2025 grader's Decimal equality
    does not."""
    row = {"question_title": "Third", "question_content": "Print 1/N.", "platform": "atcoder", "question_id": "t3",
           "contest_id": "c", "contest_date": "2023-09-01T00:00:00", "starter_code": "", "difficulty": "easy",
           "metadata": "{}", "public_test_cases": json.dumps([{"input": "3\n", "output": "0.3333333333\n",
                                                              "testtype": "stdin"}]), "private_test_cases": "[]"}
    later = {**row, "question_id": "late", "contest_date": "2023-09-01T19:30:00"}
    d = tmp_path / "lcb"
    d.mkdir()
    _jsonl(d / "test.jsonl", [row, later])
    _jsonl(d / "test2.jsonl", [{**row, "question_id": "v2"}])
    cfg["evaluate"]["data"]["livecodebench"] = str(d)
    cfg["evaluate"]["livecodebench_windows"] = [{"start": "2023-08-01", "end": "2023-09-01"}]
    b = loader("livecodebench")(cfg)
    assert [p.task_id for p in b.problems] == ["t3"] and b.info["release"] == "release_v1"
    assert b.info["release_files"] == ["test.jsonl"] and b.info["rows"] == 2
    res = score(b, {"t3": ["n = int(input())\nprint(1 / n)\n", "print(0.34)\n", "print('0.3333333333 ')\n"]})
    assert [s["suites"]["base"] for s in res["problems"][0]["samples"]] == ["pass", "fail", "pass"]
    cfg["evaluate"]["releases"]["livecodebench"] = "release_v2"
    cfg["evaluate"]["livecodebench_windows"] = [{"start": "2023-09-01", "end": None}]
    assert [p.task_id for p in loader("livecodebench")(cfg).problems] == ["t3", "late", "v2"]
    cfg["evaluate"]["releases"]["livecodebench"] = "release_v3"
    with pytest.raises(Exception, match="test3.jsonl"):
        loader("livecodebench")(cfg)
    assert "### Question\n" in b.problems[0].prompt and b.completion_stop == ["###"]


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


def test_classeval_class_and_method_level(cfg, score, classeval_file):
    cfg["evaluate"]["data"]["classeval"] = classeval_file
    b = loader("classeval")(cfg)
    (p,) = b.problems
    assert "Please complete the class Counter" in p.instruction
    assert _verdicts(score(b, {p.task_id: [p.meta["canonical_solution"]]}), "class") == [True]
    half = CLASS_SOLUTION.replace("        return self.n\n\n", "        return 0\n\n", 1)  # increment broken, value right
    res = score(b, {p.task_id: [half]})
    assert _verdicts(res, "class") == [False]
    assert res["summary"]["method_level"] == {"test_classes": 2, "pass@1": 50.0, "pass@1_se": 50.0}
    assert res["problems"][0]["samples"][0]["parts"] == {"CounterTestIncrement": "fail", "CounterTestValue": "pass"}
    assert score(b, {p.task_id: ["syntax error("]})["summary"]["method_level"]["pass@1"] == 0.0
    # unittest.main() in the completion runs no test of ours: it cannot make the class pass
    assert _verdicts(score(b, {p.task_id: [half + "\nimport unittest\nunittest.main()\n"]}), "class") == [False]


def test_classeval_test_classes_share_the_working_directory(cfg, score, tmp_path):
    """run_unit_test imports the module once and runs the test classes in one directory: a test
    class may read the file an earlier one wrote (ClassEval_25 does)."""
    test = ("import unittest\n\nclass StoreTestSave(unittest.TestCase):\n    def test_save(self):\n"
            "        Store().save('x.txt')\n\nclass StoreTestLoad(unittest.TestCase):\n    def test_load(self):\n"
            "        self.assertEqual(Store().load('x.txt'), 'hi')\n")
    sol = ("class Store:\n    def save(self, p):\n        open(p, 'w').write('hi')\n\n"
           "    def load(self, p):\n        return open(p).read()\n")
    row = {"task_id": "ClassEval_1", "skeleton": "class Store:\n    pass\n", "test": test, "solution_code": sol,
           "import_statement": [], "class_name": "Store", "test_classes": ["StoreTestSave", "StoreTestLoad"]}
    (tmp_path / "c.json").write_text(json.dumps([row]))
    cfg["evaluate"]["data"]["classeval"] = str(tmp_path / "c.json")
    b = loader("classeval")(cfg)
    assert _verdicts(score(b, {"ClassEval_1": [sol]}), "class") == [True]


def test_classeval_solution_rows_get_the_imports_and_hanging_classes_are_abandoned(cfg, score, tmp_path):
    """Issue 24, ClassEval's own pipeline: (1) a samples row's whole "solution" gets the task's
    import_statement lines too (gen_code_list adds them to every program); (2) a test class with
    two hanging tests is abandoned after its 5 s and the next class still runs (func_set_timeout);
    (3) the test file is imported as a module: its `if __name__ == '__main__': unittest.main()`
    does not run (ClassEval_44)."""
    test = ("import unittest\n\nclass ClockTestHang(unittest.TestCase):\n    def test_a(self):\n        Clock().hang()\n\n"
            "    def test_b(self):\n        Clock().hang()\n\nclass ClockTestYear(unittest.TestCase):\n"
            "    def test_year(self):\n        self.assertEqual(Clock().year(), datetime.date(2020, 5, 1).year)\n\n"
            "class ClockTestWrong(unittest.TestCase):\n    def test_wrong(self):\n        self.assertEqual(1, 2)\n\n"
            "if __name__ == '__main__':\n    unittest.main()\n")
    sol = ("class Clock:\n    def year(self):\n        return datetime.date(2020, 1, 1).year\n\n"
           "    def hang(self):\n        while True:\n            try:\n                sum(range(10000))\n"
           "            except BaseException:\n                pass\n")
    row = {"task_id": "ClassEval_2", "skeleton": "class Clock:\n    pass\n", "test": test, "solution_code": sol,
           "import_statement": ["import datetime"], "class_name": "Clock",
           "test_classes": ["ClockTestHang", "ClockTestYear", "ClockTestWrong"]}
    (tmp_path / "c.json").write_text(json.dumps([row]))
    cfg["evaluate"]["data"]["classeval"] = str(tmp_path / "c.json")
    b = loader("classeval")(cfg)
    res = score(b, {"ClassEval_2": [sol]})      # a "solution" row: no import of datetime in it
    parts = res["problems"][0]["samples"][0]["parts"]
    assert parts == {"ClockTestHang": "fail", "ClockTestYear": "pass", "ClockTestWrong": "fail"}, res["problems"][0]
    assert res["summary"]["method_level"]["pass@1"] == round(100 / 3, 2)
    # an instruct response: ClassEval's extract_code takes the fenced class
    p = b.problems[0]
    assert p.solution(p.code_of(sol + "```\nSome words.\n")).startswith("import datetime\n\nclass Clock:")


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


def test_ds1000_scores_with_its_libraries(cfg, score, ds1000_file, tmp_path):
    cfg["evaluate"]["data"]["ds1000"] = ds1000_file
    cfg["evaluate"]["envs_dir"] = str(tmp_path / "envs")           # no environment built there
    b = loader("ds1000")(cfg)
    assert len(b.problems) == 2 and b.info["missing_library"] == {"Numpy": 1, "NoSuchLib": 1} and b.libraries is False
    # a problem whose library is missing counts as failed (not left out), and the result says why
    res = score(b, {p.task_id: [p.meta["canonical_solution"]] for p in b.problems})
    assert _verdicts(res) == [False, False] and res["summary"]["failed_missing_library"] == 2
    assert res["summary"]["base"]["pass@1"] == 0.0 and res["summary"]["problems"] == 2
    # with the libraries mounted (here: the harness's venv, which has numpy) the release's test decides
    b.libraries = True
    p = b.problems[0]
    sols = {p.task_id: [p.meta["canonical_solution"], "result = a + 2\n", "result = a * 2\nwhile False:\n    pass\n",
                        "import sys\nsys.exit(0)\n"]}
    res = score(b, sols)
    assert [s["suites"]["base"] for s in res["problems"][0]["samples"]] == ["pass", "fail", "fail", "fail"]


# ------------------------------------------------------------------------------------ CanItEdit
@pytest.fixture
def canitedit_file(tmp_path):
    row = {"id": 0, "name": "fix_add", "full_name": "0_fix_add",
           "before": "def add(a, b):\n    return a - b\n", "after": "def add(a, b):\n    return a + b\n",
           "tests": "### Unit tests below ###\ndef check(candidate):\n    assert candidate(1, 2) == 3\n    assert candidate(-1, 1) == 0\n\ncheck(add)\n",
           "instruction_descriptive": "Change the subtraction in add to an addition so that it returns a + b.",
           "instruction_lazy": "fix add", "taxonomy": {"change_kind": "corrective"}}
    return _jsonl(tmp_path / "canitedit.jsonl", [row])


def test_canitedit_both_instruction_kinds(cfg, score, canitedit_file):
    cfg["evaluate"]["data"]["canitedit"] = canitedit_file
    b = loader("canitedit")(cfg)
    probs = b.problems
    assert [p.task_id for p in probs] == ["0_fix_add/descriptive", "0_fix_add/lazy"]   # keyed by full_name
    # the official direct prompt: no code fences around the code before
    assert probs[0].prompt.startswith("## Code Before:\ndef add") and probs[0].prompt.endswith("## Code After:\n")
    assert "fix add" in probs[1].instruction
    good = {p.task_id: [p.meta["canonical_solution"]] for p in probs}
    assert _verdicts(score(b, good)) == [True, True]
    assert _verdicts(score(b, {p.task_id: [p.meta["before"]] for p in probs})) == [False, False]
    res = score(b, {probs[0].task_id: [probs[0].meta["canonical_solution"]], probs[1].task_id: [probs[1].meta["before"]]})
    assert res["summary"]["by_instruction"] == {"descriptive": {"problems": 1, "pass@1": 100.0},
                                                "lazy": {"problems": 1, "pass@1": 0.0}}
    assert res["summary"]["by_change_kind"] == {"corrective": {"problems": 2, "pass@1": 50.0}}
    assert res["summary"]["by_change_and_instruction"]["corrective/lazy"] == {"problems": 1, "pass@1": 0.0}
    # run as `python3 file`: the edited program's __main__ block runs, and inspect reads its source
    main = probs[0].meta["canonical_solution"] + "if __name__ == '__main__':\n    assert add(2, 2) == 5\n"
    insp = "import inspect\n" + probs[0].meta["canonical_solution"] + "assert 'a + b' in inspect.getsource(add)\n"
    assert _verdicts(score(b, {probs[0].task_id: [main], probs[1].task_id: [insp]})) == [False, True]
    assert probs[0].code_of("def add(a, b):\n    return a + b\n```\nDone.") == "def add(a, b):\n    return a + b\n"
    # a fenced completion is cut to its code block, as the official post-processing does
    assert probs[0].solution("```python\ndef add(a, b):\n    return a + b\n```\n") == "def add(a, b):\n    return a + b"


# ------------------------------------------------------------------------------------- EvalPerf
SLOW = ("def count_primes(n):\n    c = 0\n    for k in range(2, n):\n        d = 2\n        while d * d <= k:\n"
        "            if k % d == 0:\n                break\n            d += 1\n        else:\n            c += 1\n    return c\n")
FAST = ("def count_primes(n):\n    s = bytearray([1]) * max(n, 2)\n    s[0] = s[1] = 0\n    for i in range(2, int(n ** 0.5) + 1):\n"
        "        if s[i]:\n            s[i * i::i] = bytearray(len(s[i * i::i]))\n    return sum(s[:n])\n")
# issue 24: best of 3 calls in one process measured this at 0 s (the cache answered calls 2 and 3)
CACHED = "import functools\n\n" + SLOW.replace("def count_primes", "@functools.lru_cache(None)\ndef count_primes")


def _evalperf_file(tmp_path, n):
    row = {"task_id": "HumanEval/900", "entry_point": "count_primes", "pe_input": json.dumps([[n]]),
           "prompt": "def count_primes(n):\n    \"\"\"How many primes are below n.\"\"\"\n",
           "reference": [SLOW, FAST], "scores": [40.0, 100.0]}
    return _jsonl(tmp_path / f"evalperf{n}.jsonl", [row])


@pytest.fixture
def evalperf_file(tmp_path):
    return _evalperf_file(tmp_path, 6000)    # small: valgrind counts ~20x slower than a bare run


def _evalperf(cfg, evalperf_file, monkeypatch, counter):
    from selfalign.evaluate import evalperf
    monkeypatch.setattr(evalperf, "MIN_CORRECT", 2)      # the official 10, scaled to this fixture
    cfg["evaluate"]["data"]["evalperf"] = evalperf_file
    cfg["evaluate"]["evalperf_counter"] = counter
    return loader("evalperf")(cfg)


def test_evalperf_counts_instructions_in_fresh_processes(cfg, score, evalperf_file, monkeypatch):
    """auto: perf where the machine exposes a PMU, else valgrind's instruction count (this VM has
    no PMU: "software events only"). Each profile is one call in a fresh process."""
    import shutil
    from selfalign.evaluate.evalperf import dps
    if shutil.which("valgrind") is None:
        pytest.skip("valgrind is not installed (apt-get install valgrind): the instruction count where no PMU is exposed")
    b = _evalperf(cfg, evalperf_file, monkeypatch, "auto")
    (p,) = b.problems
    assert p.meta["correctness"] == "differential on pe_input" and b.info["release"] == "20240328"
    wrong = FAST.replace("sum(s[:n])", "sum(s[:n]) + 1")
    res = score(b, {p.task_id: [FAST, FAST, CACHED, wrong]})
    samples = res["problems"][0]["samples"]
    assert [s["suites"]["correct"] for s in samples] == ["pass", "pass", "pass", "fail"]
    t = res["summary"]["tasks"][p.task_id]
    assert t["correct"] == 3 and t["profiled"] == 3 and res["summary"]["counter"] in ("perf", "valgrind")
    slow_ref, fast_ref = t["reference_costs"]
    assert slow_ref > 5 * fast_ref, t
    assert samples[0]["dps"] == samples[1]["dps"] == 100.0 and samples[0]["cost"] == samples[1]["cost"]
    assert samples[2]["cost"] >= 0.9 * slow_ref and samples[2]["dps"] < 100.0     # the cache does not help one call
    if res["summary"]["counter"] == "valgrind":     # deterministic: the same count as the reference's
        assert abs(samples[0]["cost"] - fast_ref) <= 0.01 * fast_ref
    assert res["summary"]["profiled_tasks"] == 1 and res["summary"]["dps"] == round(t["dps"], 2)
    # below min_correct a task is not profiled (evalplus skips it)
    res = score(b, {p.task_id: [FAST, wrong]})
    assert res["summary"]["dps"] is None and res["summary"]["tasks"][p.task_id]["profiled"] == 0
    assert dps(1.0, [5.0, 2.0], [40, 100]) == (100.0, 100.0, 1) and dps(3.0, [5.0, 2.0], [40, 100]) == (40.0, 50.0, 0)


def test_evalperf_cpu_time_and_perf_counters(cfg, score, evalperf_file, monkeypatch, tmp_path):
    b = _evalperf(cfg, _evalperf_file(tmp_path, 40000), monkeypatch, "cpu_time")   # CPU time ticks are coarse here
    res = score(b, {"HumanEval/900": [FAST, FAST, CACHED]})
    t = res["summary"]["tasks"]["HumanEval/900"]
    assert res["summary"]["counter"] == "cpu_time" and t["profiled"] == 3
    assert res["problems"][0]["samples"][2]["cost"] > 0.3 * t["reference_costs"][0] > 0   # one call: no cache hit
    b = _evalperf(cfg, evalperf_file, monkeypatch, "perf")
    res = score(b, {"HumanEval/900": [FAST, FAST]})
    t = res["summary"]["tasks"]["HumanEval/900"]
    if res["summary"]["counter"] == "perf":      # a machine with a PMU
        assert t["profiled"] == 2 and t["dps"] == 100.0
    else:                                        # here: no hardware counter, said so, nothing scored
        assert t["dps"] is None and "perf_event_open" in t["note"], t


def test_evalperf_correctness_on_noextreme_inputs(cfg, score, tmp_path, monkeypatch):
    """evalperf.py checks correctness on the NoExtreme HumanEval+/MBPP+ releases, base + plus
    inputs in one untrusted_check; the result says which data it used."""
    import gzip
    from selfalign.benchdata import load_humaneval
    monkeypatch.delenv("HUMANEVAL_OVERRIDE_PATH", raising=False)
    r = {x["task_id"]: x for x in load_humaneval()}["HumanEval/0"]
    noext = tmp_path / "HumanEvalPlus-NoExtreme.jsonl.gz"
    with gzip.open(noext, "wt") as f:
        f.write(json.dumps({**r, "contract": "", "atol": 0, "base_input": [[[1.0, 2.0, 3.0], 0.5]],
                            "plus_input": [[[1.0, 1.05], 0.1], [[0.0, 10.0, 20.0], 5.0]]}) + "\n")
    slow = r["prompt"] + r["canonical_solution"]
    row = {"task_id": "HumanEval/0", "entry_point": r["entry_point"], "pe_input": json.dumps([[[1.0, 4.0], 0.5]]),
           "reference": [slow, slow], "scores": [50.0, 100.0]}
    cfg["evaluate"]["data"].update(evalperf=_jsonl(tmp_path / "evalperf.jsonl", [row]),
                                   humaneval_plus_noextreme=str(noext))
    b = loader("evalperf")(cfg)
    (p,) = b.problems
    assert p.meta["correctness"] == "humaneval_plus: NoExtreme" == b.info["correctness"]
    wrong = r["prompt"] + "    return len(numbers) > 2\n"      # right on the base input, wrong on a plus one
    res = score(b, {p.task_id: [slow, wrong]})
    assert [s["suites"]["correct"] for s in res["problems"][0]["samples"]] == ["pass", "fail"]
    assert "after" in res["problems"][0]["samples"][1]["units"][0]["stderr_tail"]
