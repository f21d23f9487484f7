import os
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


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
