"""Ownership of sandbox process trees: contain each one, and reap only what a dead harness left.

A sandbox chain (``unshare … setpriv … bwrap …``) normally dies with its harness: setpriv sets a
parent-death signal and bwrap's --die-with-parent and pid namespace do the rest. The signal cannot
cover a harness killed in the instant before setpriv sets it; that chain then runs on, re-parented
to init. The next harness must end it, and must end nothing else: the host's services are not ours
even when they run under a uid that happens to look like a sandbox uid (systemd's DynamicUser=
services live in 61184–65519, which an earlier version's uid range [61000, 65096) overlapped).

Ownership is proved two ways, both of which every chain carries:
  * a marker: the chain runs under ``env SELFALIGN_SANDBOX=<harness pid>.<harness start time>``
    (bwrap clears the environment for the program itself, so the program never sees it, but each
    process of the chain up to and including bwrap shows it in /proc/PID/environ);
  * a cgroup (v2), where the host lets us create one: each ``Containment`` (one per Sandbox) gets
    ``<our cgroup>/selfalign-sandbox.<pid>.<start>.<n>/w<slot>``; a persistent worker's chain
    moves itself into its worker's cgroup before anything else runs, and everything it forks stays
    there. Closing the sandbox kills and removes that cgroup as a whole (``cgroup.kill``).
A harness is alive while a process with its pid *and* its start time exists, so a recycled pid
never keeps an orphan alive, and a live concurrent harness's sandboxes are never touched.

``reap_orphans`` kills (a) every selfalign cgroup whose harness is dead, and (b) every process
carrying a dead harness's marker whose uid is root (the chain before setpriv's drop) or a sandbox
uid (as root), or our own uid (not root). Unmarked processes are never killed, whatever their uid.

Sandbox uids: UID_BASE + worker slot, in 70000…74095. That lies in 65536…99999, which no
distribution's default allocator hands out: above Debian/Ubuntu/Fedora regular users (≤ 60000),
systemd-homed (60001–60513), systemd DynamicUser (61184–65519), nobody (65534) and the 16-bit -1
(65535); below shadow's subordinate ids (/etc/subuid, SUB_UID_MIN 100000, used by rootless
podman/docker/lxc) and systemd's container ranges (524288+). systemd lists 65536–524287 as unused
(systemd's docs/UIDS-GIDS.md). A site directory (LDAP/AD) may still map users there, hence the marker.
Each worker's uid is claimed for the Sandbox's lifetime with an flock on ``<lock dir>/<index>``
(/run/lock/selfalign-sandbox-uids, else the temp dir): RLIMIT_NPROC counts processes per uid, so two
live Sandboxes on one host (sharded execute jobs, concurrent evaluations, parallel test workers)
sharing a uid would let a fork bomb in one starve the other's programs. The kernel drops the lock
when its holder dies; a dead harness's orphans are reaped before a new harness claims uids.
"""
from __future__ import annotations

import atexit
import errno
import fcntl
import itertools
import logging
import os
import signal
import subprocess
import threading
import time
import weakref
from pathlib import Path

from .cgroups import cgroup2_root, find_cgroups, kill_cgroup, own_cgroup

log = logging.getLogger(__name__)

UID_BASE = 70000
UID_SLOTS = 4096
MARK = "SELFALIGN_SANDBOX"
CGROUP_PREFIX = "selfalign-sandbox."
# SELFALIGN_SANDBOX_CGROUP=0: never create cgroups (marker-only containment), e.g. on a systemd
# host where the harness's own cgroup is not delegated to it and you prefer not to nest under it.
CGROUP_ENV = "SELFALIGN_SANDBOX_CGROUP"

UID_LOCKS_ENV = "SELFALIGN_SANDBOX_UID_LOCKS"   # where the uid claims live (one dir per host)

_counter = itertools.count()
_live: "weakref.WeakSet[Containment]" = weakref.WeakSet()
_lock = threading.Lock()


# ------------------------------------------------------------------------------ harness identity
def start_time(pid: int | str) -> str | None:
    """The process's start time in clock ticks since boot (field 22 of /proc/PID/stat), or None."""
    try:
        stat = open(f"/proc/{pid}/stat", "rb").read()
    except OSError:
        return None
    fields = stat.rsplit(b")", 1)[1].split()      # the command name may contain spaces and ')'
    if fields[0] == b"Z":
        return None                                # a zombie harness is a dead one
    return fields[19].decode()


def token(pid: int | None = None) -> str:
    pid = pid or os.getpid()
    return f"{pid}.{start_time(pid)}"


def owner_alive(tok: str) -> bool:
    pid, _, st = tok.partition(".")
    return pid.isdigit() and st != "" and start_time(pid) == st


def uid_lock_dir() -> Path:
    if os.environ.get(UID_LOCKS_ENV):
        d = Path(os.environ[UID_LOCKS_ENV])
    elif os.path.isdir("/run/lock") and os.access("/run/lock", os.W_OK):
        d = Path("/run/lock/selfalign-sandbox-uids")
    else:
        import tempfile
        d = Path(tempfile.gettempdir()) / "selfalign-sandbox-uids"
    d.mkdir(mode=0o700, parents=True, exist_ok=True)
    return d


def _try_lock(path: Path) -> int | None:
    """An fd holding an exclusive flock on ``path`` (created if missing), or None if another open
    file holds it (another process, or another claim of this one)."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return fd
    except OSError as e:
        os.close(fd)
        if e.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
            raise
        return None


def claim_uid() -> tuple[int, int]:
    """(uid, fd): the first sandbox uid no live Sandbox holds, locked until ``fd`` is closed."""
    d = uid_lock_dir()
    for i in range(UID_SLOTS):
        fd = _try_lock(d / str(i))
        if fd is not None:
            return UID_BASE + i, fd
    raise RuntimeError(f"all {UID_SLOTS} sandbox uids ({UID_BASE}…{UID_BASE + UID_SLOTS - 1}) are held by "
                       f"live sandboxes (claims in {d})")


def uids_in_use_elsewhere() -> set[int]:
    """Sandbox uids that another live process's Sandbox holds now (its programs are not ours)."""
    mine = {uid for c in list(_live) if c._pid == os.getpid() for uid, _ in c._uids.values()}
    out = set()
    d = uid_lock_dir()
    for name in os.listdir(d):
        if not name.isdigit() or UID_BASE + int(name) in mine:
            continue
        fd = _try_lock(d / name)
        if fd is None:
            out.add(UID_BASE + int(name))
        else:
            os.close(fd)
    return out


class Containment:
    """How one Sandbox's chains are marked, (where possible) contained in cgroups, and which uid
    each worker slot runs under."""

    def __init__(self, use_cgroup: bool | None = None):
        self.n = next(_counter)
        self.use_cgroup = use_cgroup
        self._pid = -1
        self._token = ""
        self._dir: Path | None = None
        self._uids: dict[int, tuple[int, int]] = {}   # slot -> (uid, lock fd)
        self._uid_lock = threading.Lock()
        _live.add(self)

    def uid(self, slot: int) -> int:
        """Worker ``slot``'s uid, claimed on first use and held until :meth:`close`."""
        self._setup()
        with self._uid_lock:
            if slot not in self._uids:
                self._uids[slot] = claim_uid()
            return self._uids[slot][0]

    def _release_uids(self) -> None:
        with self._uid_lock:
            for _, fd in self._uids.values():
                try:
                    os.close(fd)
                except OSError:
                    pass
            self._uids = {}

    # the identity is per process: a forked child is a harness of its own
    def _setup(self) -> None:
        if self._pid == os.getpid():
            return
        # a forked child's copies of the parent's lock fds are the parent's claims, not its own
        self._uids = {}
        self._pid, self._token, self._dir = os.getpid(), token(), None
        want = self.use_cgroup
        if want is None:
            want = os.environ.get(CGROUP_ENV, "1") != "0"
        if want:
            self._dir = self._make_cgroup()
            if self._dir is None and self.use_cgroup:
                raise RuntimeError("cannot create a cgroup v2 for the sandbox on this host")

    def _make_cgroup(self) -> Path | None:
        base = own_cgroup()
        if base is None or not os.access(base, os.W_OK):
            return None
        d = base / f"{CGROUP_PREFIX}{self._token}.{self.n}"
        try:
            (d / "w0").mkdir(parents=True, exist_ok=True)
            # prove a process can move itself in (delegation, the no-internal-process rule, …)
            ok = subprocess.run(["sh", "-c", 'echo $$ > "$0"', str(d / "w0" / "cgroup.procs")],
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL).returncode == 0
        except OSError:
            ok = False
        if not ok:
            kill_cgroup(d)
            log.info("no cgroup v2 for sandboxes here (%s not usable); containment by marker only", base)
            return None
        return d

    @property
    def cgroup(self) -> Path | None:
        self._setup()
        return self._dir

    @property
    def marker(self) -> str:
        self._setup()
        return f"{MARK}={self._token}"

    def wrap(self, cmd: list[str], slot: int, cgroup: bool = True) -> list[str]:
        """``cmd`` marked as ours and (``cgroup``, where we have one) started inside worker
        ``slot``'s cgroup. Moving a process into a cgroup costs ~12 ms here (the kernel waits for
        an RCU grace period unless the hierarchy is mounted with favordynmods), so one-shot
        sandboxes, whose pid namespace dies with them anyway, go by the marker alone, and the
        persistent per-worker servers, started once, get the cgroup."""
        self._setup()
        out = ["env", self.marker]
        if cgroup and self._dir is not None:
            w = self._dir / f"w{slot}"
            w.mkdir(parents=True, exist_ok=True)
            out += ["sh", "-c", 'echo $$ > "$0" && exec "$@"', str(w / "cgroup.procs")]
        return out + cmd

    def close(self) -> list[int]:
        """Kill whatever this sandbox still runs, remove its cgroup and give back its uids (both are
        made again on use)."""
        if self._pid != os.getpid():
            return []
        d, self._pid = self._dir, -1
        killed = kill_cgroup(d) if d is not None else []
        self._release_uids()
        return killed

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass


@atexit.register
def _close_all() -> None:
    for c in list(_live):
        try:
            c.close()
        except Exception:
            pass


# ---------------------------------------------------------------------------------------- reap
def _marked_orphans(me_root: bool) -> list[int]:
    me = os.getuid()
    out = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            status = open(f"/proc/{pid}/status", encoding="utf-8", errors="replace").read()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        if fields.get("State", "").strip().startswith("Z"):
            continue                                  # dead already; init reaps it
        uid = int(fields.get("Uid", "0").split()[0])
        ours = (uid == 0 or UID_BASE <= uid < UID_BASE + UID_SLOTS) if me_root else uid == me
        if not ours:
            continue
        try:
            env = open(f"/proc/{pid}/environ", "rb").read().split(b"\0")
        except OSError:
            continue
        prefix = MARK.encode() + b"="
        tok = next((e[len(prefix):].decode("ascii", "replace") for e in env if e.startswith(prefix)), None)
        if tok is not None and not owner_alive(tok):
            out.append(int(pid))
    return out


def reap_orphans() -> list[int]:
    """Kill the sandbox processes (and remove the cgroups) that dead harnesses left; their pids."""
    with _lock:
        killed: list[int] = []
        root = cgroup2_root()
        if root is not None:
            for cg in list(find_cgroups(root, CGROUP_PREFIX)):
                try:
                    if cg.stat().st_uid != os.geteuid():   # made by another user: not ours to judge
                        continue
                except OSError:
                    continue
                tok = cg.name[len(CGROUP_PREFIX):].rsplit(".", 1)[0]
                if not owner_alive(tok):
                    killed += kill_cgroup(cg)
        for pid in _marked_orphans(os.geteuid() == 0):
            try:
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
            except ProcessLookupError:
                pass
        if killed:
            log.warning("killed %d sandbox process(es) left by a dead harness: %s", len(killed), sorted(set(killed)))
        return sorted(set(killed))
