"""A test that takes down its worker, or hangs, fails the suite in seconds, named once, with the
faulthandler trace in the log: run through `make test`'s own pytest flags (`make -s pytest-flags`,
pyproject.toml's ini options and tests/conftest.py) in a subprocess. Before this, a segfault in
llama.cpp made pytest-xdist re-run the crashing test on replacement workers and then hang."""
import os
import shutil
import subprocess
import sys
import time
import uuid

import pytest

from selfalign.config import REPO_ROOT

CRASHING = '''
import ctypes

def test_before():
    pass

def test_segfaults():
    ctypes.string_at(0)          # SIGSEGV in native code, as llama.cpp's AMX path did

def test_after_in_the_same_file():
    pass
'''
HANGING = '''
import time

def test_hangs():
    time.sleep(600)
'''
# busy while the crash happens, then free: pytest-xdist would hand it the crashed test again
OTHER = '''
import time

def test_elsewhere():
    time.sleep(3)
'''


def _flags() -> list[str]:
    out = subprocess.run(["make", "-s", "-C", str(REPO_ROOT), "pytest-flags"], capture_output=True, text=True,
                         check=True)
    return out.stdout.split()


@pytest.fixture
def suite():
    """A throwaway folder under tests/, so the project's conftest and ini options apply to it."""
    d = REPO_ROOT / "tests" / f"_crash_{uuid.uuid4().hex[:8]}"
    d.mkdir()
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


def _run(d, *extra, timeout=240):
    t0 = time.monotonic()
    out = subprocess.run([sys.executable, "-m", "pytest", *_flags(), "-p", "no:cacheprovider", *extra,
                          str(d.relative_to(REPO_ROOT))], cwd=REPO_ROOT, capture_output=True, text=True,
                         timeout=timeout, env={**os.environ, "SELFALIGN_CRASH_SUITE": "1"})
    return out, time.monotonic() - t0


def test_a_segfaulting_test_fails_once_by_name_and_the_run_ends(suite):
    (suite / "test_crashing.py").write_text(CRASHING)
    (suite / "test_other.py").write_text(OTHER)
    out, took = _run(suite)
    log = out.stdout + out.stderr
    assert out.returncode not in (0, 5), log
    assert "INTERNALERROR" not in log, log
    failed = [line for line in out.stdout.splitlines() if line.startswith("FAILED ")]
    assert len(failed) == 1 and "test_crashing.py::test_segfaults" in failed[0], log
    assert "crashed while running" in failed[0] or "crashed while running" in log
    assert "Segmentation fault" in log and "in test_segfaults" in log, "no faulthandler trace in the log"
    assert took < 120, f"the crashed run took {took:.0f} s"


def test_a_hanging_test_is_ended_by_the_timeout_and_named(suite):
    (suite / "test_hanging.py").write_text(HANGING)
    (suite / "test_other.py").write_text(OTHER)
    out, took = _run(suite, "--timeout=5")
    log = out.stdout + out.stderr
    assert out.returncode not in (0, 5), log
    failed = [line for line in out.stdout.splitlines() if line.startswith("FAILED ")]
    assert len(failed) == 1 and "test_hanging.py::test_hangs" in failed[0], log
    assert "Timeout" in log and "in test_hangs" in log, "no stack dump of the hung test"
    assert took < 120, f"the hung run took {took:.0f} s"
