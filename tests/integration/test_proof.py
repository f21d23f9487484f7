"""A pass is proven: a solution that leaves before its checks end fails, whatever its exit status,
in the persistent sandbox and the one-shot one, for evaluation and for the execution filter."""
import pytest

from selfalign.sandbox import proof
from selfalign.execute import proven_job
from selfalign.sandbox import Job, Sandbox, SandboxLimits

pytestmark = pytest.mark.integration

WRONG = "def add(a, b):\n    return a - b\n"
CHECKS = "assert add(1, 2) == 3\n"
# each would pass under "exit status 0 = pass": the program ends with 0 before (or despite) the failing check
TRICKS = {
    "sys.exit(0)": WRONG + "import sys\nsys.exit(0)\n",
    "os._exit(0)": WRONG + "import os\nos._exit(0)\n",
    "raise SystemExit(0)": WRONG + "raise SystemExit(0)\n",
    "atexit os._exit(0)": WRONG + "import atexit, os\natexit.register(lambda: os._exit(0))\n",
    "exit() builtin": WRONG + "exit()\n",
}


@pytest.fixture(scope="module", params=[True, False], ids=["persistent", "one-shot"])
def box(request):
    sb = Sandbox(SandboxLimits(timeout_s=10, memory_mb=1024, max_procs=64), workers=2, persistent=request.param)
    yield sb
    sb.close()


def _job(solution, checks):
    n = proof.new_nonce()
    return Job(proof.checked_program(solution, checks, n), nonce=n)


def test_exit_tricks_fail_but_would_pass_on_exit_status(box):
    tricks = list(TRICKS.values())
    plain = box.run_many([t + "\n" + CHECKS for t in tricks], 2)     # the old rule: solution + tests, exit status
    assert [v.verdict for v in plain] == ["pass"] * len(tricks)
    proven = box.run_many([_job(t, CHECKS) for t in tricks], 2)
    assert [v.verdict for v in proven] == ["fail"] * len(tricks), [v.note for v in proven]
    assert all("no pass nonce" in v.note or v.exit_code for v in proven)


def test_right_solution_passes_and_nonce_is_not_shown(box):
    v = box.run(_job("def add(a, b):\n    print('hi')\n    return a + b\n", CHECKS + "print(add(2, 2))\n"))
    assert v.verdict == "pass" and proof.MARK not in v.stdout_tail and "hi" in v.stdout_tail and "4" in v.stdout_tail


def test_main_block_of_the_solution_does_not_run(box):
    # the solution is not __main__: its script part (reading stdin here) is not executed
    v = box.run(_job("def f():\n    return 1\n\nif __name__ == '__main__':\n    input()\n    raise SystemExit(3)\n",
                     "assert f() == 1\n"))
    assert v.verdict == "pass", v.stderr_tail


def test_unittest_main_needs_tests_that_run_and_pass(box):
    right = "def f():\n    return 1\n"
    tests = ("import unittest\nclass T(unittest.TestCase):\n    def test_f(self):\n        self.assertEqual(f(), {})\n"
             "if __name__ == '__main__':\n    unittest.main()\n")
    none = "import unittest\nclass T(unittest.TestCase):\n    pass\nunittest.main()\n"
    vs = box.run_many([_job(right, tests.format(1)), _job(right, tests.format(2)), _job(right, none),
                       _job(right + "import unittest\nunittest.main()\n", "assert f() == 1\n")], 2)
    assert [v.verdict for v in vs] == ["pass", "fail", "fail", "fail"], [v.stderr_tail[-200:] for v in vs]


def test_execution_filter_job_is_proven(box):
    tricks = list(TRICKS.values())
    vs = box.run_many([proven_job(t, CHECKS) for t in tricks] + [proven_job(WRONG.replace("-", "+"), CHECKS)], 2)
    assert [v.verdict for v in vs] == ["fail"] * len(tricks) + ["pass"]


def test_checks_that_exit_zero_fail(box):
    # generated tests are hostile too: tests that stop with status 0 before their asserts fail
    vs = box.run_many([_job(WRONG, "import sys\nsys.exit(0)\n" + CHECKS), _job(WRONG, "import os\nos._exit(0)\n")], 2)
    assert [v.verdict for v in vs] == ["fail", "fail"]


def test_parts_are_proven_one_by_one(box):
    parts = {"a": proof.new_nonce(), "b": proof.new_nonce(), "c": proof.new_nonce()}
    n = proof.new_nonce()
    checks = "_prove_part('a')\nassert add(1, 2) == 3\n_prove_part('b')\n"
    v = box.run(Job(proof.checked_program(WRONG, checks, n, parts), nonce=n, parts=tuple(parts.values())))
    assert v.verdict == "fail" and v.parts_proven == (parts["a"],)


def test_proofs_survive_the_output_that_follows_them(box):
    """A part proven early (a ClassEval test class) and a report line stay readable when the
    program prints far more than the verdict's output tail afterwards (issue 24: a 2000-character
    tail cut them off)."""
    parts = {"a": proof.new_nonce(), "b": proof.new_nonce()}
    n = proof.new_nonce()
    checks = ("_prove_part('a')\nprint('SELFALIGN-REPORT {\"cost\": 7}')\nfor i in range(3000):\n"
              "    print('noise line', i, flush=i % 50 == 0)\n_prove_part('b')\nprint('x' * 5000)\n")
    v = box.run(Job(proof.checked_program(add_right(), checks, n, parts), nonce=n, parts=tuple(parts.values())))
    assert v.verdict == "pass" and v.parts_proven == (parts["a"], parts["b"]), v.note
    from selfalign.evaluate.base import read_report
    assert read_report(v.stdout_tail) == {"cost": 7} and "x" * 1000 in v.stdout_tail
    assert parts["a"] not in v.stdout_tail and len(v.stdout_tail) < 4000


def add_right():
    return "def add(a, b):\n    return a + b\n"


def test_a_file_program_runs_as_python3_runs_a_file(box):
    """CanItEdit's evaluator runs `python3 program.py`: the `__main__` block runs, inspect finds
    the source; an early exit still leaves no nonce."""
    src = ("import inspect\n\nclass A:\n    def f(self):\n        return 1\n\n"
           "assert 'return 1' in inspect.getsource(A)\nran = []\nif __name__ == '__main__':\n    ran.append(1)\n"
           "assert ran == [1]\n")
    n = proof.new_nonce()
    assert box.run(Job(proof.file_program(src, n), nonce=n)).verdict == "pass"
    n = proof.new_nonce()
    v = box.run(Job(proof.file_program(src + "import sys\nsys.exit(0)\nassert False\n", n), nonce=n))
    assert v.verdict == "fail" and "no pass nonce" in v.note
    n = proof.new_nonce()     # the plain checked program: the solution is not __main__ and has no file
    assert box.run(Job(proof.checked_program(src, "", n), nonce=n)).verdict == "fail"
