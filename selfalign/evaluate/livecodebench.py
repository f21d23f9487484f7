"""LiveCodeBench (code generation, ``code_generation_lite`` format), scored in our sandbox with
lcb_runner's semantics (LiveCodeBench/LiveCodeBench lcb_runner/evaluation/testing_util.py and
compute_code_generation_metrics.py; lcb_runner is not on PyPI, so this is a line-for-line match,
cited per step in HARNESS):

- call-based (LeetCode) problems: ``import_string`` + the code exec'd as a module; the method of
  ``Solution()`` called with each test's JSON-decoded lines; a tuple result becomes a list; ``==``
  against the JSON-decoded output (``grade_call_based``);
- stdin problems: a trailing ``if __name__ == '__main__':`` block unwrapped (``clean_if_name``),
  the code wrapped into ``wrapped_function`` after ``import_string`` (``make_function``), stdin,
  ``sys.stdin.read/readline/readlines`` and ``open`` mocked with the test's input, stdout
  captured and compared line by line after stripping, numbers as Decimals (``grade_stdio``);
- ``sys.setrecursionlimit(50000)`` (in ``import_string``), ``sys.set_int_max_str_digits(50000)``;
  6 s per test (``signal.alarm``), and the run's global bound (6 + 1) x tests + 5 s
  (``check_correctness``); the first failing test ends the run.

Data: rows are read one line at a time and kept only inside one of ``evaluate.livecodebench_windows``
(the released file is 4.5 GB: the whole of it is never in memory).
"""
from __future__ import annotations

import base64
import json
import pickle
import zlib

from ..sandbox import proof
from .base import Benchmark, Problem, Unit, data_files, hub_rows, pass_at_1_by

OFFICIAL = "LiveCodeBench lcb_runner (evaluation/testing_util.py::run_test), 6 s per test + global bound"
TEST_TIMEOUT_S = 6
IMPORT_STRING = (
    "from string import *\nfrom re import *\nfrom datetime import *\nfrom collections import *\nfrom heapq import *\n"
    "from bisect import *\nfrom copy import *\nfrom math import *\nfrom random import *\nfrom statistics import *\n"
    "from itertools import *\nfrom functools import *\nfrom operator import *\nfrom io import *\nfrom sys import *\n"
    "from json import *\nfrom builtins import *\nfrom typing import *\nimport string\nimport re\nimport datetime\n"
    "import collections\nimport heapq\nimport bisect\nimport copy\nimport math\nimport random\nimport statistics\n"
    "import itertools\nimport functools\nimport operator\nimport io\nimport sys\nimport json\nsys.setrecursionlimit(50000)\n")

# The checks: {tests!r}, {func!r}, {timeout!r}; the candidate's code is the solution module's source.
CHECKS = r'''
import ast as _ast, json as _json, signal as _signal, sys as _sys
from decimal import Decimal as _Decimal
from io import StringIO as _StringIO
from types import ModuleType as _ModuleType
from unittest.mock import mock_open as _mock_open, patch as _patch

_sys.set_int_max_str_digits(50000)
_TESTS, _FUNC, _T = _json.loads({tests!r}), {func!r}, {timeout!r}
_CODE = _sys.modules["__solution__"].__dict__["__selfalign_code__"]
_IMPORTS = {imports!r}


class _Timeout(Exception):
    pass


def _alarm(*_a):
    raise _Timeout("timeout: alarm went off")


_signal.signal(_signal.SIGALRM, _alarm)


def _guard():                        # testing_util.py::reliability_guard (no memory limit given)
    import builtins, faulthandler, os, shutil, subprocess
    faulthandler.disable()
    builtins.quit = None
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


_guard()


def _clean_if_name(code):            # testing_util.py::clean_if_name
    try:
        tree = _ast.parse(code)
        last = tree.body[-1]
        if isinstance(last, _ast.If) and _ast.unparse(last.test).strip() == "__name__ == '__main__'":
            code = _ast.unparse(tree.body[:-1]) + "\n" + _ast.unparse(last.body)
    except Exception:
        pass
    return code


def _make_function(code):            # testing_util.py::make_function
    try:
        tree = _ast.parse(code)
        imports = [s for s in tree.body if isinstance(s, (_ast.Import, _ast.ImportFrom))]
        other = [s for s in tree.body if not isinstance(s, (_ast.Import, _ast.ImportFrom))]
        fn = _ast.FunctionDef(name="wrapped_function", args=_ast.arguments(posonlyargs=[], args=[], kwonlyargs=[],
                              kw_defaults=[], defaults=[]), body=other, decorator_list=[], lineno=-1)
        return _IMPORTS + "\n" + _ast.unparse(imports) + "\n" + _ast.unparse(fn)
    except Exception:
        return code


def _compile(code):                  # testing_util.py::compile_code
    _signal.alarm(_T)
    try:
        mod = _ModuleType("tmp_sol", "")
        exec(code, mod.__dict__)
        return mod.Solution() if "class Solution" in code else mod
    finally:
        _signal.alarm(0)


class _Stdin:                        # testing_util.py::MockStdinWithBuffer
    def __init__(self, text):
        self.text, self._io = text, _StringIO(text)
        self.buffer = type("B", (), {{"read": lambda s, *a: text.encode(),
                                      "readline": lambda s, *a: text.encode().split(b"\n")[0] + b"\n"}})()

    def read(self, *a):
        return self.text

    def readline(self, *a):
        return self._io.readline(*a)

    def readlines(self, *a):
        return self.text.split("\n")

    def __getattr__(self, name):
        return getattr(self._io, name)


def _call(method, text):             # testing_util.py::call_method
    lines = iter(text.split("\n"))

    @_patch("builtins.open", _mock_open(read_data=text))
    @_patch("sys.stdin", _Stdin(text))
    @_patch("sys.stdin.readline", lambda *a: next(lines))
    @_patch("sys.stdin.readlines", lambda *a: text.split("\n"))
    @_patch("sys.stdin.read", lambda *a: text)
    def inner(m):
        try:
            return m()
        except SystemExit:
            pass
    return inner(method)


def _decimals(line):
    try:
        return True, [_Decimal(x) for x in line.split()]
    except Exception:
        return False, []


def _lines(s):
    return [x.strip() for x in s.strip().split("\n")]


def _stdio_ok(got, exp):             # testing_util.py::grade_stdio comparison
    g, e = _lines(got), _lines(exp)
    if len(g) != len(e):
        return False
    for a, b in zip(g, e):
        if a == b:
            continue
        ok_a, da = _decimals(a)
        ok_b, db = _decimals(b)
        if not (ok_a and ok_b) or da != db:
            return False
    return True


if _FUNC:                            # grade_call_based
    _sol = _compile(_IMPORTS + "\n\n" + _CODE)
    _method = getattr(_sol, _FUNC)
    for _i, _t in enumerate(_TESTS):
        _args = [_json.loads(x) for x in _t["input"].split("\n")]
        _exp = _json.loads(_t["output"])
        _signal.alarm(_T)
        try:
            _got = _method(*_args)
        finally:
            _signal.alarm(0)
        if isinstance(_got, tuple):
            _got = list(_got)
        assert _got == _exp, f"test #{{_i}}: wrong answer"
else:                                # grade_stdio
    _method = getattr(_compile(_make_function(_clean_if_name(_CODE))), "wrapped_function")
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

# The solution module only records the code: lcb_runner compiles it itself, with its own prelude.
SOLUTION = "__selfalign_code__ = {code!r}\n"


def decode_tests(field) -> list[dict]:
    """Test cases as released: a JSON list, or base64(zlib(pickle(JSON string)))."""
    if not field:
        return []
    if isinstance(field, list):
        return field
    try:
        return json.loads(field)
    except ValueError:
        raw = pickle.loads(zlib.decompress(base64.b64decode(field.encode("utf-8"))))  # the release's own encoding
        return json.loads(raw) if isinstance(raw, (str, bytes)) else raw


def instruction(row: dict) -> str:
    """lcb_runner/prompts/code_generation.py: the question, then the starter code or the stdin
    format note, with the answer requested in one Python code block."""
    q = row["question_content"].strip()
    if (row.get("starter_code") or "").strip():
        return (f"### Question:\n{q}\n\n### Format: You will use the following starter code to write the solution "
                f"to the problem and enclose your code within delimiters.\n```python\n{row['starter_code'].rstrip()}\n```")
    return (f"### Question:\n{q}\n\n### Format: Read the inputs from stdin solve the problem and write the answer to "
            f"stdout (do not directly test on the sample inputs). Enclose your code within delimiters as follows.")


def in_window(date: str, w: dict) -> bool:
    start, end = w.get("start"), w.get("end")
    return not ((start and date < start) or (end and date >= end))


def row_date(row: dict) -> str:
    return str(row.get("contest_date", ""))[:10]


def window_rows(spec: str, windows: list[dict]) -> tuple[list[dict], dict, int]:
    """Rows inside any window, read line by line from local JSONL (the 4.5 GB release never sits
    in memory whole: a row outside every window is dropped as soon as it is parsed);
    (rows, info, rows seen)."""
    keep = lambda r: any(in_window(row_date(r), w) for w in windows)  # noqa: E731
    from ..benchdata import open_text
    files, info = data_files(spec, "livecodebench")
    if files is None:
        rows = hub_rows(spec, "livecodebench")
        return [r for r in rows if keep(r)], info, len(rows)
    kept, seen = [], 0
    for f in files:
        if f.suffix == ".parquet" or f.name.endswith((".json", ".json.gz")):
            from ..benchdata import read_jsonl_any
            rows = read_jsonl_any(f)
            seen += len(rows)
            kept += [r for r in rows if keep(r)]
            continue
        with open_text(f) as fh:
            for ln, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                seen += 1
                try:
                    row = json.loads(line)
                except ValueError as e:   # a corrupt release is an error, never a silent skip
                    from ..records import RecordError
                    raise RecordError(f"{f}:{ln}: corrupt JSON line ({e})") from None
                if keep(row):
                    kept.append(row)
    return kept, info, seen


def window_label(window: dict) -> str:
    """The paper's row label for a window: "start 2023-09-01" (", end …" when bounded)."""
    start, end = window.get("start"), window.get("end")
    return f"start {start}" + (f", end {end}" if end else "") if start else ("end " + end if end else "all dates")


def load(cfg: dict) -> Benchmark:
    windows = cfg["evaluate"]["livecodebench_windows"]
    rows, info, seen = window_rows(cfg["evaluate"]["data"]["livecodebench"], windows)
    scale = cfg["evaluate"]["timeout_scale"]
    timeout = max(1, round(TEST_TIMEOUT_S * scale))
    probs = []
    for r in rows:
        meta = r.get("metadata") or {}
        meta = json.loads(meta) if isinstance(meta, str) else meta
        tests = decode_tests(r.get("public_test_cases")) + decode_tests(r.get("private_test_cases"))
        func = meta.get("func_name") or ""

        def units(solution: str, tests=tests, func=func) -> list[Unit]:
            n = proof.new_nonce()
            checks = CHECKS.format(tests=json.dumps(tests), func=func, timeout=timeout, imports=IMPORT_STRING)
            # compute_code_generation_metrics.py::check_correctness: global bound (timeout + 1) x tests + 5
            return [Unit("base", proof.checked_program(SOLUTION.format(code=solution), checks, n),
                         (timeout + 1) * max(1, len(tests)) + 5, n)]

        starter = r.get("starter_code") or ""
        prompt = f'"""\n{r["question_content"].strip()}\n"""\n' + (starter.rstrip() + "\n" if starter.strip() else "")
        probs.append(Problem(task_id=str(r.get("question_id", len(probs))), prompt=prompt, instruction=instruction(r),
                             units=units, to_solution=lambda c, p=prompt, s=starter: (p + c) if s.strip() else c,
                             meta={"group": str(r.get("difficulty", "unknown")), "date": row_date(r),
                                   "platform": r.get("platform", "")}))
    info.update(windows=windows, problems=len(probs), rows=seen)
    return Benchmark("livecodebench", probs, info, OFFICIAL, metrics={"base": ["base"]},
                     completion_stop=['\n"""', "\n```", "\n# Example", "\n# Test"],
                     summarize=lambda per, probs: summarize(per, probs, windows),
                     limits=f"{TEST_TIMEOUT_S} s per test, (6 + 1) x tests + 5 s per sample")


def summarize(per: list[dict], problems: list[Problem], windows: list[dict] | None = None) -> dict:
    """pass@1 per difficulty, and per window with its standard error (the paper's LCB rows)."""
    from .metrics import pass_at_k
    by_window = {}
    for w in windows or []:
        rows = [r for r, p in zip(per, problems) if in_window(p.meta["date"], w)]
        n_max = max((r["n"] for r in rows), default=0)
        mean, se = pass_at_k([r["n"] or n_max for r in rows], [r["correct"]["base"] for r in rows], 1)
        by_window[window_label(w)] = {"problems": len(rows), "pass@1": mean, "pass@1_se": se}
    return {"by_difficulty": pass_at_1_by(per, "base"), "by_window": by_window}
