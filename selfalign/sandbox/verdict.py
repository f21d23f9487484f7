"""What a sandbox run is asked (limits, a Job) and what it answers (a Verdict), and how the exit of
a program becomes that verdict: timeout, memory, output cap, exit status, and the pass nonce
(proof.py) without which an exit status 0 is a fail."""
from __future__ import annotations

import os
import signal
from dataclasses import asdict, dataclass

from . import proof

VERDICTS = ("pass", "fail", "timeout", "memory", "error")
TAIL = 2000        # characters of stdout and stderr kept in a verdict


class SandboxUnavailable(RuntimeError):
    pass


@dataclass(frozen=True)
class SandboxLimits:
    timeout_s: float = 10.0
    memory_mb: int = 4096
    max_procs: int = 256
    file_size_mb: int = 16
    max_output_bytes: int = 1 << 20

    @classmethod
    def from_config(cls, cfg: dict) -> "SandboxLimits":
        s = cfg["sandbox"]
        return cls(timeout_s=s["timeout_s"], memory_mb=s["memory_mb"], max_procs=s["max_procs"],
                   file_size_mb=s["file_size_mb"], max_output_bytes=s["max_output_bytes"])


@dataclass(frozen=True)
class Job:
    """One program to run: its source, its own wall-clock limit (None: the sandbox's), and the
    nonce it must print to pass (None: exit status 0 is a pass; see proof.py)."""
    source: str
    timeout_s: float | None = None
    nonce: str | None = None
    parts: tuple[str, ...] = ()      # nonces of parts proven one by one (Verdict.parts_proven)


@dataclass
class Verdict:
    verdict: str
    exit_code: int | None
    duration_s: float
    stdout_tail: str = ""
    stderr_tail: str = ""
    note: str = ""
    parts_proven: tuple[str, ...] = ()   # the Job's part nonces found in the output

    def as_dict(self) -> dict:
        return asdict(self)


def judge(limits: SandboxLimits, code, timed_out: bool, over: bool, duration: float, so: str, se: str, started: bool,
          timeout_s: float) -> Verdict:
    """The verdict of a finished run: ``started`` says the sandbox came up (bwrap reported on its
    info descriptor, or the run was unconfined)."""
    base = dict(exit_code=code, duration_s=round(duration, 4), stdout_tail=so, stderr_tail=se)
    if not started and not timed_out:
        return Verdict("error", note="sandbox failed to start", **base)
    if timed_out:
        return Verdict("timeout", note=f"wall clock > {timeout_s}s", **base)
    if over:
        return Verdict("fail", note=f"output over {limits.max_output_bytes} bytes", **base)
    if code == 0:
        return Verdict("pass", **base)
    if "MemoryError" in se:
        return Verdict("memory", note=f"address space > {limits.memory_mb} MiB", **base)
    if code in (128 + signal.SIGXCPU, -signal.SIGXCPU):
        return Verdict("timeout", note="CPU time limit", **base)
    return Verdict("fail", **base)


def prove(v: Verdict, nonce: str | None, parts: tuple[str, ...] = ()) -> Verdict:
    """A nonce-checked verdict: exit status 0 without the nonce is a fail (left early)."""
    if nonce is None:
        return v
    v.parts_proven = tuple(p for p in parts if proof.proven(v.stdout_tail, p))
    for p in v.parts_proven:
        v.stdout_tail = proof.strip(v.stdout_tail, p)
    ok = proof.proven(v.stdout_tail, nonce)
    v.stdout_tail = proof.strip(v.stdout_tail, nonce)
    if v.verdict == "pass" and not ok:
        v.verdict, v.note = "fail", "exited before its checks finished (no pass nonce)"
    return v


def default_workers(cfg_workers: int = 0) -> int:
    return cfg_workers or 2 * (os.cpu_count() or 1)
