"""Run untrusted generated Python inside a bubblewrap sandbox and return a verdict.

Layers of one sandbox's command (command.py), outermost first, as root:
  unshare --mount      a private mount namespace in which the interpreter's install directory is
                       bind-mounted onto a tmpfs at /mnt/py, so an unprivileged uid can reach it
                       even when it lives under a 0700 home (pyenv in /root);
  prlimit              address space, CPU seconds, file size, process count;
  setpriv              drop to an unprivileged uid (one per worker slot): RLIMIT_NPROC is not
                       enforced for root, so a fork bomb would otherwise go through;
  bwrap                --unshare-all (no network, own pid/ipc/uts namespaces), read-only /usr
                       and interpreter, fresh tmpfs as /tmp = cwd = HOME, --die-with-parent,
                       --new-session, cleared environment.
Not root: bwrap runs directly as the calling user (who can read their own interpreter).

The modules: ``Sandbox`` (here) takes a worker slot per program and runs it either in a fresh
chain (oneshot.py) or through that slot's persistent server (pool.py, which starts server.py
inside the sandbox); verdict.py turns the exit into a verdict and checks the pass nonce that
proof.py's programs print; reaper.py marks every chain as ours and kills only what a dead harness
left.
"""
from __future__ import annotations

import logging
import queue
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Callable, Sequence

from .command import BOOT, BOOT_STDIN, Chain, check_available, real_python, site_packages
from .oneshot import run_once
from .pool import Pool
from .reaper import UID_BASE, UID_SLOTS, Containment, reap_orphans
from .verdict import VERDICTS, Job, SandboxLimits, SandboxUnavailable, Verdict, default_workers, prove

log = logging.getLogger(__name__)


class Sandbox:
    def __init__(self, limits: SandboxLimits | None = None, unsafe_no_sandbox: bool = False, workers: int = 1,
                 libraries: bool | str = False, persistent: bool = True, data_dir: str | None = None):
        """``persistent``: one sandbox per worker slot whose PID-1 server forks each program
        (pool.py); False: a fresh bwrap chain per program (~2.2x the cost of a bare run).
        ``libraries``: programs may import what the harness's venv has installed (True) or what a
        benchmark environment holds (its directory), read-only at /opt/site. ``data_dir``: read-only
        at /data (a benchmark's inputs and expected outputs, written by the scorer)."""
        self.limits = limits or SandboxLimits()
        self.persistent = persistent and not unsafe_no_sandbox
        self.unsafe = unsafe_no_sandbox
        if self.unsafe:
            log.warning("!!! UNSAFE: running generated code WITHOUT bubblewrap (rlimits only). "
                        "It can read and write your files and reach the network. !!!")
        else:
            check_available()
            reap_orphans()
        site = (libraries if isinstance(libraries, str) else site_packages()) if libraries else None
        self.containment = Containment()
        self.chain = Chain(self.limits, self.unsafe, site, data_dir, self.containment)
        if self.chain.root and workers > UID_SLOTS:
            raise SandboxUnavailable(f"at most {UID_SLOTS} sandbox workers (one uid each)")
        self._pool = Pool(self.chain) if self.persistent else None
        self._slots: queue.Queue[int] = queue.Queue()
        for k in range(max(1, workers)):
            self._slots.put(k)

    @property
    def servers(self) -> dict:
        """The persistent servers started so far, by worker slot (none for one-shot sandboxes)."""
        return self._pool.servers if self._pool else {}

    def run(self, source: str | Job, timeout_s: float | None = None, nonce: str | None = None) -> Verdict:
        """Run one program. With a nonce, a pass needs exit status 0 *and* the nonce printed
        (proof.py): a program that leaves before its checks end fails."""
        parts: tuple[str, ...] = ()
        if isinstance(source, Job):
            source, timeout_s, nonce, parts = source.source, source.timeout_s or timeout_s, source.nonce, source.parts
        timeout_s = timeout_s or self.limits.timeout_s
        slot = self._slots.get()
        try:
            if self._pool is not None:
                v = self._pool.run(source, timeout_s, slot)
            else:
                v = run_once(self.chain, source, timeout_s, slot)
        finally:
            self._slots.put(slot)
        return prove(v, nonce, parts)

    def run_many(self, sources: Sequence[str | Job], workers: int,
                 progress: Callable[[int, Verdict], None] | None = None) -> list[Verdict]:
        """Run programs (sources or Jobs) on ``workers`` threads; verdicts in input order."""
        results: list[Verdict | None] = [None] * len(sources)
        with ThreadPoolExecutor(max(1, workers)) as pool:
            futs = {pool.submit(self.run, s): i for i, s in enumerate(sources)}
            for fut in as_completed(futs):
                i = futs[fut]
                results[i] = fut.result()
                if progress:
                    progress(i, results[i])
        return results  # type: ignore[return-value]

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
        self.containment.close()   # anything left in this sandbox's cgroup

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass


__all__ = ["BOOT", "BOOT_STDIN", "UID_BASE", "UID_SLOTS", "VERDICTS", "Job", "Sandbox", "SandboxLimits",
           "SandboxUnavailable", "Verdict", "default_workers", "real_python", "reap_orphans"]
