"""Execution filter: every parsed (response, tests) pair runs in the sandbox; verdicts are
appended to executions.jsonl as they come (resumable).

A pass is proven (selfalign/sandbox/proof.py): the response runs as a module that is not ``__main__``,
its tests after it, and only a run that prints its nonce after the last test passes — a response
that calls ``sys.exit(0)`` or ``os._exit(0)``, or tests that run no test, fail."""
from __future__ import annotations

import collections
import logging
from pathlib import Path

from .sandbox import proof
from .records import Execution, Response, ResumableWriter, Shard, work_path, write_json_atomic
from .sandbox import Job, Sandbox, SandboxLimits, default_workers

log = logging.getLogger(__name__)


def proven_job(code: str, test_code: str) -> Job:
    """The sandbox run of one (response, tests) pair: the response, then its tests, nonce-checked."""
    nonce = proof.new_nonce()
    return Job(proof.checked_program(code, test_code, nonce), nonce=nonce)


def run_executions(cfg: dict, responses: list[Response], out: str | Path, stats_path: str | Path | None = None,
                   unsafe: bool | None = None, shard: Shard = Shard()) -> dict:
    from tqdm import tqdm

    todo = [r for i, r in enumerate(x for x in responses if x.ok) if shard.owns(i)]
    writer = ResumableWriter(work_path(out))
    todo = [r for r in todo if r.id not in writer.done]
    workers = default_workers(cfg["sandbox"]["workers"])
    unsafe = cfg["sandbox"]["unsafe_no_sandbox"] if unsafe is None else unsafe
    counts: collections.Counter = collections.Counter()
    if todo:
        sb = Sandbox(SandboxLimits.from_config(cfg), unsafe_no_sandbox=unsafe, workers=workers,
                     persistent=cfg["sandbox"]["persistent"], libraries=cfg["sandbox"]["libraries"])
        bar = tqdm(total=len(todo), desc="sandbox", unit="run", mininterval=2)

        def done(i, v):
            r = todo[i]
            writer.append(Execution(id=r.id, instruction_id=r.instruction_id, verdict=v.verdict, exit_code=v.exit_code,
                                    duration_s=v.duration_s, stdout_tail=v.stdout_tail[-500:], stderr_tail=v.stderr_tail[-1000:]))
            counts[v.verdict] += 1
            bar.update(1)
            bar.set_postfix(passed=counts["pass"])

        # r.code / r.test_code are already the official's runnable blocks (prompts.parse_response)
        sb.run_many([proven_job(r.code, r.test_code) for r in todo], workers, progress=done)
        sb.close()
        bar.close()
    writer.finish(out)
    stats = {"stage": "execute", "responses": len(responses), "shard": str(shard), "ran": len(todo), "workers": workers,
             "verdicts_this_run": dict(counts), "unsafe_no_sandbox": unsafe}
    if stats_path:
        write_json_atomic(stats_path, stats)
    return stats
