"""Scatter/gather: a stage split into shards and joined gives the records of the unsharded run."""
import json
import subprocess
import sys

import pytest

from selfalign.config import REPO_ROOT
from selfalign.prompts import load_fewshot
from selfalign.records import Instruction, Response, iter_jsonl, write_jsonl_atomic



def cli(*args):
    return [sys.executable, "-m", "selfalign", *map(str, args)]

pytestmark = [pytest.mark.workflow, pytest.mark.integration]


def run(*args):
    subprocess.run(cli(*args), cwd=REPO_ROOT, check=True, capture_output=True)


def test_sharded_generation_equals_unsharded(tmp_path, model_path):
    cfg = tmp_path / "cfg.yaml"
    # parallel 2: batches of 2 sequences, groups of 8 prompts: two groups, one per shard
    cfg.write_text("seed: 5\nbackend: {parallel: 2}\ngenerate:\n  responses: {shots: 1, n: 1, max_tokens: 24}\n")
    ins = [Instruction(id=f"i{k}", parent_id="c", seed_id="s", concepts=[], category=s.category, difficulty=s.difficulty,
                       instruction=s.instruction, fewshot_ids=[]) for k, s in enumerate(load_fewshot()[:10])]
    write_jsonl_atomic(tmp_path / "instructions.jsonl", ins)
    args = ("--config", cfg, "--input", tmp_path / "instructions.jsonl")
    run("responses", *args, "--out", tmp_path / "whole.jsonl")
    parts = [tmp_path / f"part{k}.jsonl" for k in range(2)]
    for k, part in enumerate(parts):
        run("responses", *args, "--out", part, "--shard", f"{k}/2")
    assert all(sum(1 for _ in open(p)) > 0 for p in parts)  # both shards had work
    run("responses", *args, "--out", tmp_path / "gathered.jsonl", "--gather", *parts)
    assert (tmp_path / "gathered.jsonl").read_bytes() == (tmp_path / "whole.jsonl").read_bytes()
    assert sum(1 for _ in open(tmp_path / "whole.jsonl")) == 10


def test_sharded_execution_equals_unsharded(tmp_path):
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text("sandbox: {timeout_s: 5}\n")
    rs = [Response(id=f"r{k}", instruction_id=f"i{k}", instruction="x", response="", tests="",
                   code=f"def f():\n    return {k}", test_code=f"assert f() == {k if k % 3 else -1}", fewshot_ids=[], ok=True)
          for k in range(7)]
    write_jsonl_atomic(tmp_path / "responses.jsonl", rs)
    args = ("--config", cfg, "--responses", tmp_path / "responses.jsonl")
    run("execute", *args, "--out", tmp_path / "whole.jsonl")
    parts = [tmp_path / f"part{k}.jsonl" for k in range(3)]
    for k, part in enumerate(parts):
        run("execute", *args, "--out", part, "--shard", f"{k}/3")
    run("execute", *args, "--out", tmp_path / "gathered.jsonl", "--gather", *parts)

    def records(p):  # durations are measurements of this run, not outputs
        return [json.dumps({k: v for k, v in d.items() if k != "duration_s"}, sort_keys=True) for d in iter_jsonl(p)]

    assert records(tmp_path / "gathered.jsonl") == records(tmp_path / "whole.jsonl")
    assert [d["verdict"] for d in iter_jsonl(tmp_path / "whole.jsonl")].count("fail") == 3


def test_shard_argument_is_checked():
    from selfalign.records import Shard
    assert Shard.parse("1/3") == Shard(1, 3) and Shard.parse(None) == Shard(0, 1)
    for bad in ("3/3", "a/b", "1"):
        with pytest.raises(ValueError, match="--shard"):
            Shard.parse(bad)
