"""A pass is proven, not assumed: the program that checks a solution ends by writing a per-run
nonce, and only a run whose output carries it counts as a pass.

Why: with "exit status 0 = pass", a wrong solution passes by leaving early — `sys.exit(0)`,
`os._exit(0)`, `raise SystemExit(0)`, an `atexit` hook that turns a failing check's exit into 0,
or `unittest.main()` running zero tests. Here the solution runs in a module that is not
`__main__` (its `if __name__ == "__main__":` block does not run), the checks run after it in
their own `__main__` module holding the solution's names, and the nonce is written — on the raw
file descriptor captured before the solution ran — only after the last check, followed by an
immediate `os._exit(0)` so exit hooks cannot change the outcome. Any earlier exit, with any
status, leaves no nonce: a fail.

Threat model: this proves that the checks ran to their end; it does not defend against a program
written to search its own interpreter for the nonce (in-process checking, as in every harness,
cannot). Containment of hostile code is the sandbox's job, not this module's.
"""
from __future__ import annotations

import secrets

MARK = "SELFALIGN-PASS-"

# Captured first, before any solution code runs (it may replace os.write or os._exit).
PROLOGUE = ("import os as _o, sys as _s\n_write, _exit, _nonce = _o.write, _o._exit, {nonce!r}\n_parts = {parts!r}\n"
            "def _prove_part(name):\n    _write(1, (\"\\n\" + _parts[name] + \"\\n\").encode())\n")


def epilogue(indent: str = "") -> str:
    """The lines that end a checking program where every check has passed: flush what the
    program printed, write the nonce on the raw descriptor, exit at once (no exit hooks)."""
    return "".join(f"{indent}{line}\n" for line in (
        "for _f in (_s.stdout, _s.stderr, _s.__stdout__, _s.__stderr__):",
        "    try:", "        _f.flush()", "    except BaseException:", "        pass",
        "_write(1, (\"\\n\" + _nonce + \"\\n\").encode())", "_exit(0)"))


# `unittest.main` is replaced by a runner that needs >0 tests, all passing, and returns (the real
# one always raises SystemExit).
UNITTEST_MAIN = r'''

def _proven_unittest_main(module="__main__", *args, **kwargs):
    import unittest
    mod = _s.modules[module] if isinstance(module, str) else module
    suite = unittest.defaultTestLoader.loadTestsFromModule(mod)
    result = unittest.TextTestRunner(stream=_s.stderr, verbosity=1).run(suite)
    if result.testsRun == 0 or not result.wasSuccessful():
        raise SystemExit(1)


import unittest as _ut
_ut.main = _proven_unittest_main
'''

# The runner: {solution!r} and {checks!r} are literals. Tracebacks show the source lines of both
# parts (linecache is imported only when something fails).
RUNNER = PROLOGUE + r'''import types as _t
_SOL, _CHK = {solution!r}, {checks!r}
_hook0 = _s.excepthook


def _hook(t, v, tb):
    import linecache
    for f, src in (("/tmp/solution.py", _SOL), ("/tmp/checks.py", _CHK)):
        linecache.cache[f] = (len(src), None, src.splitlines(True), f)
    _hook0(t, v, tb)


def _module(name, file):
    m = _t.ModuleType(name)
    m.__file__ = file
    m.__builtins__ = __builtins__
    _s.modules[name] = m
    return m


_s.excepthook = _hook
_solution = _module("__solution__", "/tmp/solution.py")
exec(compile(_SOL, "/tmp/solution.py", "exec"), _solution.__dict__)
''' + UNITTEST_MAIN.replace("{", "{{").replace("}", "}}") + r'''
_checks = _module("__main__", "/tmp/checks.py")
_checks.__dict__.update({{k: v for k, v in _solution.__dict__.items() if not k.startswith("__")}})
_checks.__dict__["_prove_part"] = _prove_part
exec(compile(_CHK, "/tmp/checks.py", "exec"), _checks.__dict__)
'''

# A whole program run the way `python3 program.py` runs it (CanItEdit's evaluator: the edited
# program and its tests in one file): written to /tmp/program.py and run as `__main__` by runpy,
# so its `if __name__ == "__main__":` block runs and `inspect.getsource` finds its lines.
FILE_RUNNER = PROLOGUE + UNITTEST_MAIN.replace("{", "{{").replace("}", "}}") + r'''
import runpy as _runpy
with open("/tmp/program.py", "w", encoding="utf-8") as _f:
    _f.write({source!r})
_s.argv = ["/tmp/program.py"]
_s.path.insert(0, "/tmp")
_runpy.run_path("/tmp/program.py", run_name="__main__")
'''


def new_nonce() -> str:
    return MARK + secrets.token_hex(16)


def part_passed_var(var: str) -> str:
    """A statement for checks that records the part named by variable ``var`` (e.g. the test
    class just run) as passed: it writes that part's nonce on the raw descriptor (``Unit.parts``)."""
    return f"_prove_part({var})"


def checked_program(solution: str, checks: str, nonce: str, parts: dict[str, str] | None = None) -> str:
    """Run ``solution`` as module ``__solution__``, then ``checks`` as ``__main__`` with the
    solution's names; the nonce is written only if both finish. ``parts``: name -> nonce of
    parts the checks prove one by one (``part_passed``)."""
    return RUNNER.format(solution=solution, checks=checks, nonce=nonce, parts=parts or {}) + epilogue()


def file_program(source: str, nonce: str) -> str:
    """Run ``source`` as a file, ``python3 file`` style (``__main__``, a real path); the nonce is
    written only if it ends without an exception or an exit."""
    return FILE_RUNNER.format(source=source, nonce=nonce, parts={}) + epilogue()


def prologue(nonce: str, parts: dict[str, str] | None = None) -> str:
    return PROLOGUE.format(nonce=nonce, parts=parts or {})


def proven(stdout: str, nonce: str) -> bool:
    """Whether the run's output carries its nonce on a line of its own."""
    return nonce.startswith(MARK) and f"\n{nonce}\n" in "\n" + stdout + "\n"


def strip(stdout: str, nonce: str) -> str:
    """The output without the nonce line (what a user reads in a verdict)."""
    return stdout.replace("\n" + nonce + "\n", "\n").replace(nonce, "")
