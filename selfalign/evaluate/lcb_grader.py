"""LiveCodeBench's grader as it was when the paper was written (LiveCodeBench/LiveCodeBench at
8eac093, 2024-04-16, lcb_runner/evaluation/testing_util.py, unchanged until the 2025 rewrite
5f46490), run inside our sandbox as a checking program. lcb_runner is not on PyPI: this is our
code for the same steps, cited by line:

- every program gets ``IMPORT_STRING`` first (114; recursion limit 6 x 10^5), and
  ``reliability_guard`` (678-761: ``exit``/``quit`` are None, so ``exit()`` is a runtime error);
- call-based (LeetCode): the code exec'd as a module, ``Solution()`` when it defines one (118-141);
  each test's lines JSON-decoded as arguments; a dict input or output gets int keys (238-257);
  the result, a tuple made a list, ``==`` the expected output, or its first element, or (a list
  of tuples) that as lists (263-303);
- stdin: a trailing ``if __name__ == '__main__':`` block unwrapped (143-158), every line but the
  leading imports indented under ``def code():`` (160-187), stdin/``open``/``sys.stdin.*`` mocked
  with the test's input and stdout captured (651-675, 57-68), then the comparisons of 336-611:
  the output equal to the expected text stripped (whole or line by line), or its non-empty lines
  equal the expected's stripped non-empty lines, or, unless every pair of lines is an integer,
  each line a float and ``np.allclose`` to the expected (the float tolerance the 2025 grader
  dropped for Decimal equality);
- 6 s per test (``signal.alarm``), the first failing test ends the run; the run's global bound
  (6 + 1) x tests + 5 s is the unit's wall limit (compute_code_generation_metrics.py:25-49).
"""
from __future__ import annotations

IMPORT_STRING = (
    "from string import *\nfrom re import *\nfrom datetime import *\nfrom collections import *\nfrom heapq import *\n"
    "from bisect import *\nfrom copy import *\nfrom math import *\nfrom random import *\nfrom statistics import *\n"
    "from itertools import *\nfrom functools import *\nfrom operator import *\nfrom io import *\nfrom sys import *\n"
    "from json import *\nfrom builtins import *\nfrom typing import *\nimport string\nimport re\nimport datetime\n"
    "import collections\nimport heapq\nimport bisect\nimport copy\nimport math\nimport random\nimport statistics\n"
    "import itertools\nimport functools\nimport operator\nimport io\nimport sys\nimport json\n"
    "sys.setrecursionlimit(6*10**5)\n")

# {tests!r}, {func!r}, {timeout!r}, {imports!r}; the candidate's code is the solution module's source.
CHECKS = r'''
import ast as _ast, json as _json, signal as _signal, sys as _sys
import numpy as _np                  # imported before the guard, as testing_util.py:13 does
from io import StringIO as _StringIO
from types import ModuleType as _ModuleType
from unittest.mock import mock_open as _mock_open, patch as _patch

_TESTS, _FUNC, _T = _json.loads({tests!r}), {func!r}, {timeout!r}
_CODE = _sys.modules["__solution__"].__dict__["__selfalign_code__"]
_IMPORTS = {imports!r}


class TimeoutException(Exception):
    pass


def _alarm(*_a):
    raise TimeoutException


_signal.signal(_signal.SIGALRM, _alarm)


def _guard():                        # testing_util.py::reliability_guard (no memory limit given)
    import builtins, faulthandler, os, shutil, subprocess
    faulthandler.disable()
    builtins.exit = builtins.quit = None
    os.environ["OMP_NUM_THREADS"] = "1"
    for name in ("kill", "system", "putenv", "remove", "removedirs", "rmdir", "fchdir", "setuid", "fork", "forkpty",
                 "killpg", "rename", "renames", "truncate", "replace", "unlink", "fchmod", "fchown", "chmod", "chown",
                 "chroot", "lchflags", "lchmod", "lchown", "getcwd", "chdir"):
        setattr(os, name, None)
    shutil.rmtree = shutil.move = shutil.chown = None
    subprocess.Popen = None
    builtins.help = None
    for name in ("ipdb", "joblib", "resource", "psutil", "tkinter"):
        _sys.modules[name] = None


def _module(src):                    # pyext RuntimeModule.from_string("tmp_sol", "", src)
    mod = _ModuleType("tmp_sol", "")
    exec(src, mod.__dict__)
    return mod


def _stdin_program(code):            # testing_util.py:143-187
    try:
        tree = _ast.parse(code)
        last = tree.body[-1]
        if isinstance(last, _ast.If) and _ast.unparse(last.test).strip() == "__name__ == '__main__'":
            code = _ast.unparse(tree.body[:-1]) + "\n" + _ast.unparse(last.body)
    except Exception:
        pass
    lines = [x + "\n" if x.startswith(("from ", "import ")) else "\t" + x + "\n" for x in code.split("\n")]
    out, started = "", False
    for line in lines:
        if line.startswith("\t") and not started:
            out += "stdin = sys.stdin\nstdout = sys.stdout\ndef code():\n" + line
            started = True
        elif started and line.startswith(("from ", "import ")):
            out += "\t" + line
        else:
            out += line
    return out


def _call(method, text):             # testing_util.py::call_method
    lines = iter(text.split("\n"))

    @_patch("builtins.open", _mock_open(read_data=text))
    @_patch("sys.stdin", _StringIO(text))
    @_patch("sys.stdin.readline", lambda *a: next(lines))
    @_patch("sys.stdin.readlines", lambda *a: text.split("\n"))
    @_patch("sys.stdin.read", lambda *a: text)
    def inner(m):
        try:
            return m()
        except SystemExit:
            pass
    return inner(method)


def _int_like(v):                    # combined_int_check
    return isinstance(v, int) or (isinstance(v, str) and v.isdigit())


def _int_keys(x):                    # testing_util.py:238-257: JSON's string keys made ints again
    return [{{int(k): v for k, v in x.items()}}]


def _stdio_ok(printed, expected):    # testing_util.py:376-611, the comparisons that can still pass
    output = printed.splitlines()
    if "\n".join(output).strip() == expected.strip() or "\n".join(o.strip() for o in output).strip() == expected.strip():
        return True
    if output == [expected]:
        return True
    want = [x.strip() for x in expected.split("\n") if x]
    if output == [want] or output == want:
        return True
    output = [x for x in output if x]
    if output == [want] or output == want:
        return True
    try:
        if not all(_int_like(a) and _int_like(b) for a, b in zip(output, want)):
            got, exp = [float(x) for x in output], [float(x) for x in want]
            return len(got) == len(exp) and bool(_np.allclose(got, exp))
    except Exception:
        pass
    return False


_guard()
if _FUNC:                            # call-based
    _signal.alarm(_T)
    try:
        _mod = _module(_IMPORTS + _CODE)
        _sol = _mod.Solution() if "class Solution" in _CODE else _mod
    finally:
        _signal.alarm(0)
    _method = getattr(_sol, _FUNC)
    for _i, _t in enumerate(_TESTS):
        _args = [_json.loads(x) for x in _t["input"].split("\n")]
        _exp = _json.loads(_t["output"])
        try:
            if isinstance(_args[0], dict):
                _args = _int_keys(_args[0])
        except Exception:
            pass
        try:
            if isinstance(_exp, dict):
                _exp = _int_keys(_exp)
        except Exception:
            pass
        try:
            if isinstance(_exp[0], dict):
                _exp = _int_keys(_exp[0])
        except Exception:
            pass
        _signal.alarm(_T)
        try:
            _got = _method(*_args)
        finally:
            _signal.alarm(0)
        if isinstance(_got, tuple):
            _got = list(_got)
        _ok = _got == _exp or (isinstance(_exp, list) and bool(_exp) and _got == _exp[0])
        try:
            if isinstance(_got[0], tuple):
                _ok = _ok or [list(x) for x in _got] == _exp[0]
        except Exception:
            pass
        assert _ok, f"test #{{_i}}: wrong answer"
else:                                # standard input
    _signal.alarm(_T)
    try:
        _method = getattr(_module(_IMPORTS + _stdin_program(_CODE)), "code")
    finally:
        _signal.alarm(0)
    for _i, _t in enumerate(_TESTS):
        _out, _old = _StringIO(), _sys.stdout
        _sys.stdout = _out
        _signal.alarm(_T)
        try:
            _call(_method, _t["input"])
        finally:
            _signal.alarm(0)
            _sys.stdout = _old
        assert _stdio_ok(_out.getvalue(), _t["output"]), f"test #{{_i}}: wrong answer"
'''

# The solution module only records the code: the grader compiles it itself, with its own prelude.
SOLUTION = "__selfalign_code__ = {code!r}\n"
