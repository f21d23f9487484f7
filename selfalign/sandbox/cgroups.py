"""cgroup v2 helpers of the sandbox's containment (reaper.py): where the hierarchy is, which
cgroup we run in, and killing a cgroup tree as a whole."""
from __future__ import annotations

import logging
import os
import signal
import time
from pathlib import Path

log = logging.getLogger(__name__)


def cgroup2_root() -> Path | None:
    """Mount point of the cgroup v2 hierarchy (pure v2 or the hybrid layout's 'unified')."""
    try:
        lines = open("/proc/self/mountinfo", encoding="utf-8").read().splitlines()
    except OSError:
        return None
    for line in lines:
        left, _, right = line.partition(" - ")
        if right.split()[:1] == ["cgroup2"]:
            return Path(left.split()[4])
    return None


def own_cgroup() -> Path | None:
    """This process's cgroup v2 directory, if the hierarchy is mounted and the path visible."""
    root = cgroup2_root()
    if root is None:
        return None
    try:
        for line in open("/proc/self/cgroup", encoding="utf-8"):
            if line.startswith("0::"):
                path = root / line[3:].strip().lstrip("/")
                return path if path.is_dir() else None
    except OSError:
        pass
    return None


def cgroup_pids(cg: Path) -> list[int]:
    pids = []
    for dirpath, _dirs, files in os.walk(cg):
        if "cgroup.procs" in files:
            try:
                pids += [int(p) for p in open(os.path.join(dirpath, "cgroup.procs")).read().split()]
            except (OSError, ValueError):
                pass
    return pids


def kill_cgroup(cg: Path, wait_s: float = 2.0) -> list[int]:
    """SIGKILL everything in ``cg`` and below, then remove the directories; returns the pids."""
    pids = cgroup_pids(cg)
    if pids:
        try:
            (cg / "cgroup.kill").write_text("1")          # Linux >= 5.14: atomic, forks included
        except OSError:
            for _ in range(10):                          # older kernels: until nothing is left
                left = cgroup_pids(cg)
                if not left:
                    break
                for p in left:
                    try:
                        os.kill(p, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                time.sleep(0.02)
    deadline = time.monotonic() + wait_s
    for dirpath, _dirs, _files in sorted(os.walk(cg), key=lambda w: -len(w[0])):   # leaves first
        while True:
            try:
                os.rmdir(dirpath)
                break
            except FileNotFoundError:
                break
            except OSError:                               # still populated for a moment (EBUSY)
                if time.monotonic() > deadline:
                    log.warning("could not remove cgroup %s (still populated)", dirpath)
                    break
                time.sleep(0.02)
    return pids


def find_cgroups(root: Path, prefix: str, max_depth: int = 12):
    """Cgroups named ``prefix…`` anywhere under ``root`` (a dead harness may have run in another
    session's)."""
    stack = [(root, 0)]
    while stack:
        d, depth = stack.pop()
        try:
            entries = list(os.scandir(d))
        except OSError:
            continue
        for e in entries:
            if not e.is_dir(follow_symlinks=False):
                continue
            if e.name.startswith(prefix):
                yield Path(e.path)
            elif depth < max_depth:
                stack.append((Path(e.path), depth + 1))
