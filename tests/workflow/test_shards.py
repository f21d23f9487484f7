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


def whole_parts_gathered(stage, args, tmp_path, n):
    """Run ``stage`` unsharded, as n shards, and gather the shards: (whole, parts, gathered)."""
    whole, gathered = tmp_path / "whole.jsonl", tmp_path / "gathered.jsonl"
    run(stage, *args, "--out", whole)
    parts = [tmp_path / f"part{k}.jsonl" for k in range(n)]
    for k, part in enumerate(parts):
        run(stage, *args, "--out", part, "--shard", f"{k}/{n}")
    run(stage, *args, "--out", gathered, "--gather", *parts)
    return whole, parts, gathered


def test_sharded_generation_equals_unsharded(tmp_path, model_path):
    cfg = tmp_path / "cfg.yaml"
    # parallel 2: batches of 2 sequences, groups of 8 prompts: two groups, one per shard
    cfg.write_text("seed: 5\nbackend: {parallel: 2}\ngenerate:\n  responses: {shots: 1, n: 1, max_tokens: 24}\n")
    ins = [Instruction(id=f"i{k}", parent_id="c", seed_id="s", concepts=[], category=s.category, difficulty=s.difficulty,
                       instruction=s.instruction, fewshot_ids=[]) for k, s in enumerate(load_fewshot()[:10])]
    write_jsonl_atomic(tmp_path / "instructions.jsonl", ins)
    whole, parts, gathered = whole_parts_gathered(
        "responses", ("--config", cfg, "--input", tmp_path / "instructions.jsonl"), tmp_path, 2)
    assert all(sum(1 for _ in open(p)) > 0 for p in parts)  # both shards had work
    assert gathered.read_bytes() == whole.read_bytes()
    assert sum(1 for _ in open(whole)) == 10


def test_sharded_execution_equals_unsharded(tmp_path):
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text("sandbox: {timeout_s: 5}\n")
    rs = [Response(id=f"r{k}", instruction_id=f"i{k}", instruction="x", response="", tests="",
                   code=f"def f():\n    return {k}", test_code=f"assert f() == {k if k % 3 else -1}", fewshot_ids=[], ok=True)
          for k in range(7)]
    write_jsonl_atomic(tmp_path / "responses.jsonl", rs)
    whole, _, gathered = whole_parts_gathered(
        "execute", ("--config", cfg, "--responses", tmp_path / "responses.jsonl"), tmp_path, 3)

    def records(p):  # durations are measurements of this run, not outputs
        return [json.dumps({k: v for k, v in d.items() if k != "duration_s"}, sort_keys=True) for d in iter_jsonl(p)]

    assert records(gathered) == records(whole)
    assert [d["verdict"] for d in iter_jsonl(whole)].count("fail") == 3


def test_shard_argument_is_checked():
    from selfalign.records import Shard
    assert Shard.parse("1/3") == Shard(1, 3) and Shard.parse(None) == Shard(0, 1)
    for bad in ("3/3", "a/b", "1"):
        with pytest.raises(ValueError, match="--shard"):
            Shard.parse(bad)
