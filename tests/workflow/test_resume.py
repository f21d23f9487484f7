"""Kill a long stage with SIGKILL in the middle, run it again: the final records equal those of an
uninterrupted run with the same seed — nothing lost, nothing duplicated."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from selfalign.config import REPO_ROOT
from selfalign.prompts import load_fewshot
from selfalign.records import Instruction, Response, iter_jsonl, work_path, write_jsonl_atomic

pytestmark = [pytest.mark.workflow, pytest.mark.integration]


def cli(*args):
    return [sys.executable, "-m", "selfalign", *map(str, args)]


def kill_when(cmd, work: Path, min_lines: int, timeout=300):
    """Start cmd, SIGKILL it once ``work`` holds at least ``min_lines`` records."""
    p = subprocess.Popen(cmd, cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    t = time.time()
    while time.time() - t < timeout:
        if work.exists() and sum(1 for _ in open(work)) >= min_lines:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
            return
        if p.poll() is not None:
            pytest.fail("stage ended before it could be killed: " + p.stderr.read().decode()[-500:])
        time.sleep(0.05)
    p.kill()
    pytest.fail("stage never reached the kill point")


def records(path):
    return sorted((json.dumps(d, sort_keys=True) for d in iter_jsonl(path)))


@pytest.fixture
def cfg_file(tmp_path):
    p = tmp_path / "cfg.yaml"
    # parallel 2: llama.cpp batches 2 sequences, so resume works in groups of 8 prompts (two here)
    p.write_text("seed: 11\nbackend: {parallel: 2}\ngenerate:\n  responses: {shots: 1, n: 2, max_tokens: 40}\n"
                 "sandbox: {timeout_s: 5}\n")
    return p


def test_generation_resumes_without_loss_or_duplicates(tmp_path, cfg_file, model_path):
    ins = [Instruction(id=f"i{k}", parent_id="c", seed_id="s", concepts=[], category=s.category, difficulty=s.difficulty,
                       instruction=s.instruction, fewshot_ids=[]) for k, s in enumerate(load_fewshot()[:10])]
    write_jsonl_atomic(tmp_path / "instructions.jsonl", ins)
    full, resumed = tmp_path / "full.jsonl", tmp_path / "resumed.jsonl"
    subprocess.run(cli("responses", "--config", cfg_file, "--input", tmp_path / "instructions.jsonl", "--out", full),
                   cwd=REPO_ROOT, check=True, capture_output=True)
    cmd = cli("responses", "--config", cfg_file, "--input", tmp_path / "instructions.jsonl", "--out", resumed)
    kill_when(cmd, work_path(resumed), 6)
    assert not resumed.exists()
    done_before = sum(1 for _ in open(work_path(resumed)))
    subprocess.run(cmd, cwd=REPO_ROOT, check=True, capture_output=True)
    assert records(resumed) == records(full)
    ids = [d["id"] for d in iter_jsonl(resumed)]
    assert len(ids) == len(set(ids)) == 20 and done_before < 20


def test_execution_resumes_without_loss_or_duplicates(tmp_path, cfg_file):
    rs = [Response(id=f"r{k}", instruction_id=f"i{k}", instruction="x", response="", tests="",
                   code=f"import time\ntime.sleep(0.2)\ndef f():\n    return {k}",
                   test_code=f"assert f() == {k if k % 3 else -1}", fewshot_ids=[]) for k in range(24)]
    write_jsonl_atomic(tmp_path / "responses.jsonl", rs)
    out = tmp_path / "executions.jsonl"
    cmd = cli("execute", "--config", cfg_file, "--responses", tmp_path / "responses.jsonl", "--out", out, "--workers", 2)
    kill_when(cmd, work_path(out), 6)
    subprocess.run(cmd, cwd=REPO_ROOT, check=True, capture_output=True)
    got = {d["id"]: d["verdict"] for d in iter_jsonl(out)}
    assert len(got) == 24 and len(list(iter_jsonl(out))) == 24
    assert got == {f"r{k}": ("pass" if k % 3 else "fail") for k in range(24)}


def test_training_resumes_from_checkpoint(tmp_path, model_path):
    pytest.importorskip("peft")
    from selfalign.prompts import load_fewshot as lf
    from selfalign.records import SFTExample
    sft = tmp_path / "sft.jsonl"
    write_jsonl_atomic(sft, [SFTExample(id=s.id, instruction=s.instruction, response=s.response, response_id="r",
                                        seed_id="s", concepts=[], category=s.category, difficulty=s.difficulty,
                                        verdict="pass") for s in lf()[:4]])
    cfg = tmp_path / "train.yaml"
    cfg.write_text("train: {method: lora, max_steps: 4, batch_size: 1, effective_batch_size: 1, save_steps: 1, "
                   "max_length: 384, optimizer: adamw, learning_rate: 1.0e-4, verify_prompts: 1}\n")
    out = tmp_path / "sft_model"
    ckpts = out.parent / ".work" / out.name / "checkpoints"
    cmd = cli("train", "--config", cfg, "--sft", sft, "--out", out)
    p = subprocess.Popen(cmd, cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    t = time.time()
    while time.time() - t < 600 and not (ckpts / "checkpoint-2").exists():
        assert p.poll() is None, "training ended before it could be killed"
        time.sleep(0.2)
    time.sleep(1.0)
    os.killpg(p.pid, signal.SIGKILL)
    p.wait()
    subprocess.run(cmd, cwd=REPO_ROOT, check=True, capture_output=True)
    m = json.loads((out / "train_manifest.json").read_text())
    assert m["steps"] == 4 and m["resumed_from"] and m["resumed_from"].endswith(("checkpoint-2", "checkpoint-3"))
    assert (out / "adapter.gguf").exists()
