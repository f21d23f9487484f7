"""Run untrusted generated Python inside a bubblewrap sandbox and return a verdict.

Layers, outermost first (as root; the layout MACHINE_FACTS.md found to work here):
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

The whole chain is its own process group; on timeout the group is SIGKILLed, bwrap dies, and
the kernel ends every process left in the sandbox's pid namespace. Output is read through pipes
and capped; a program that writes past the cap is killed.
"""
from __future__ import annotations

import json
import logging
import math
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Sequence

# worker slot k runs as uid UID_BASE + k (root mode); ownership and orphan reaping: reaper.py
from .reaper import UID_BASE, UID_SLOTS, Containment, reap_orphans  # noqa: F401

log = logging.getLogger(__name__)

VERDICTS = ("pass", "fail", "timeout", "memory", "error")
TAIL = 2000
# `python -S` skips site (and the .pth files of the host's site-packages): 3x more runs per second
# here. The boot line restores the exit()/quit() builtins that site would add, then runs the
# program as __main__ (exec in -c's own __main__ keeps `if __name__ == "__main__":` working).
BOOT = ("import builtins,sys;builtins.exit=builtins.quit=sys.exit;__file__='/sandbox/main.py';"
        "sys.argv=[__file__];exec(compile(open(__file__,encoding='utf-8').read(),__file__,'exec'))")


# The persistent sandbox's programs get their source on stdin; the boot line reads it, makes
# stdin /dev/null again, and its excepthook shows the source lines in tracebacks (importing
# linecache/traceback only when a program fails: at boot it would cost ~17 ms a run).
BOOT_STDIN = ("import builtins,sys;builtins.exit=builtins.quit=sys.exit;__file__='/sandbox/main.py';"
              "_s=sys.stdin.read();sys.stdin=open('/dev/null');"
              "sys.excepthook=(lambda src:lambda t,v,tb:(__import__('linecache').cache.__setitem__("
              "'/sandbox/main.py',(len(src),None,src.splitlines(True),'/sandbox/main.py')),"
              "__import__('traceback').print_exception(t,v,tb)))(_s);"
              "sys.argv=[__file__];exec(compile(globals().pop('_s'),__file__,'exec'))")

# Library code (BLAS, OpenMP) gets one thread per program: workers already fill the cores, and
# benchmark timings (EvalPerf) must not depend on how many threads a library grabbed.
THREAD_CAPS = [a for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS")
               for a in ("--setenv", v, "1")]

# With libraries: the harness's site-packages, read-only at /opt/site (DS-1000 needs numpy, pandas, ...).
SITE_PREFIX = "import sys;sys.path.insert(0,'/opt/site');"


def site_packages() -> str:
    """This interpreter's (the venv's) site-packages directory."""
    import sysconfig
    return sysconfig.get_paths()["purelib"]


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
    nonce it must print to pass (None: exit status 0 is a pass; see selfalign/proof.py)."""
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


def real_python() -> tuple[Path, Path]:
    """(installation prefix, interpreter path inside it) of the running Python, shims resolved."""
    exe = Path(os.path.realpath(sys.executable))
    prefix = Path(os.path.realpath(sys.base_prefix))
    try:
        rel = exe.relative_to(prefix)
    except ValueError:
        cand = prefix / "bin" / f"python{sys.version_info.major}.{sys.version_info.minor}"
        if not cand.exists():
            raise SandboxUnavailable(f"cannot locate the interpreter of {sys.executable} under {prefix}")
        rel = cand.relative_to(prefix)
    return prefix, rel


def check_available() -> None:
    missing = [t for t in ("bwrap",) if shutil.which(t) is None]
    if os.geteuid() == 0:
        missing += [t for t in ("unshare", "prlimit", "setpriv") if shutil.which(t) is None]
    if missing:
        raise SandboxUnavailable(
            f"sandbox tools not found: {', '.join(missing)}. Install them (apt-get install bubblewrap util-linux) "
            f"or, knowing that generated code then runs unconfined, pass --unsafe-no-sandbox "
            f"(config sandbox.unsafe_no_sandbox: true)")


class Sandbox:
    def __init__(self, limits: SandboxLimits | None = None, unsafe_no_sandbox: bool = False, workers: int = 1,
                 libraries: bool | str = False, persistent: bool = True, data_dir: str | None = None):
        self.limits = limits or SandboxLimits()
        # persistent: one sandbox per worker slot whose PID-1 server forks each program (see
        # sandbox_server.py); False: a fresh bwrap chain per program (~2.2x the cost of a bare run)
        self.persistent = persistent and not unsafe_no_sandbox
        self._zygotes: dict[int, _Zygote] = {}
        self._zlock = threading.Lock()
        # The kernel's parent-death signal (bwrap --die-with-parent, setpriv --pdeathsig) fires when
        # the *thread* that started a process ends: persistent sandboxes are started from this one
        # long-lived thread, not from the short-lived pool threads that run programs.
        self._spawner = ThreadPoolExecutor(1, thread_name_prefix="sandbox-spawner") if self.persistent else None
        # libraries: programs may import what the harness's venv has installed (True) or what a
        # benchmark environment holds (its directory), read-only at /opt/site
        self.site = (libraries if isinstance(libraries, str) else site_packages()) if libraries else None
        # data_dir: read-only at /data (a benchmark's inputs and expected outputs, written by the scorer)
        self.data_dir = data_dir
        self.boot = (SITE_PREFIX if self.site else "") + BOOT
        self.boot_stdin = (SITE_PREFIX if self.site else "") + BOOT_STDIN
        self.unsafe = unsafe_no_sandbox
        if self.unsafe:
            log.warning("!!! UNSAFE: running generated code WITHOUT bubblewrap (rlimits only). "
                        "It can read and write your files and reach the network. !!!")
        else:
            check_available()
            reap_orphans()
        self._contain = Containment()   # marks this sandbox's chains (and puts them in a cgroup)
        self.prefix, self.py_rel = real_python()
        self.root = os.geteuid() == 0
        if self.root and workers > UID_SLOTS:
            raise SandboxUnavailable(f"at most {UID_SLOTS} sandbox workers (one uid each)")
        self._slots: queue.Queue[int] = queue.Queue()
        for k in range(max(1, workers)):
            self._slots.put(k)

    # -------------------------------------------------------------------------------- commands
    def _prlimit(self, server: bool = False) -> list[str]:
        if server:  # the server's programs get their limits when it forks them
            return ["prlimit", "--core=0", "--"]
        lim = self.limits
        cpu = int(math.ceil(lim.timeout_s)) + 1
        return ["prlimit", f"--as={lim.memory_mb << 20}", f"--cpu={cpu}", f"--fsize={lim.file_size_mb << 20}",
                f"--nproc={lim.max_procs}", f"--core=0", "--"]

    def _bwrap(self, py_root: str, prog_dir: str, info_fd: int, site: str | None = None, server: bool = False) -> list[str]:
        cmd = ["bwrap", "--unshare-all", "--die-with-parent", "--new-session", *(["--as-pid-1"] if server else []),
               "--ro-bind", "/usr", "/usr", "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64",
               "--symlink", "usr/bin", "/bin"]
        for extra in ("/etc/ld.so.cache", "/etc/localtime"):
            if os.path.exists(extra):
                cmd += ["--ro-bind", extra, extra]
        cmd += ["--ro-bind", py_root, "/opt/py", "--ro-bind", prog_dir, "/sandbox",
                "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--chdir", "/tmp",
                "--clearenv", "--setenv", "HOME", "/tmp", "--setenv", "PATH", "/opt/py/bin:/usr/bin",
                "--setenv", "LD_LIBRARY_PATH", "/opt/py/lib", "--setenv", "PYTHONHASHSEED", "0",
                "--setenv", "LANG", "C.UTF-8", *THREAD_CAPS, "--info-fd", str(info_fd),
                f"/opt/py/{self.py_rel}", "-I", "-S", "-B"]
        cmd += ["/sandbox/server.py"] if server else ["-c", self.boot]
        i = cmd.index("--proc")
        if site:
            cmd[i:i] = ["--ro-bind", site, "/opt/site"]
        if self.data_dir:
            cmd[i:i] = ["--ro-bind", self.data_dir, "/data"]
        return cmd

    def command(self, prog_dir: str, info_fd: int, slot: int, server: bool = False) -> list[str]:
        # --pdeathsig: if the harness itself is killed (SIGKILL leaves no chance to clean up), the
        # kernel kills bwrap, and bwrap's --die-with-parent and pid namespace take the program
        # down with it. setpriv sets it after changing uid (a uid change would clear it).
        pdeath = ["setpriv", "--pdeathsig=KILL", "--"] if shutil.which("setpriv") else []
        if self.unsafe:
            boot = self.boot.replace("/opt/site", self.site or "").replace("/sandbox/main.py", os.path.join(prog_dir, "main.py"))
            return self._prlimit() + pdeath + [str(self.prefix / self.py_rel), "-I", "-S", "-B", "-c", boot]
        if not self.root:
            return self._contain.wrap(self._prlimit(server) + pdeath + self._bwrap(str(self.prefix), prog_dir, info_fd,
                                                                                  self.site, server), slot, cgroup=server)
        uid = UID_BASE + slot
        inner = self._prlimit(server) + ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
                                         "--pdeathsig=KILL", "--"] + self._bwrap("/mnt/py", prog_dir, info_fd,
                                                                                 "/mnt/site" if self.site else None, server)
        # the unprivileged uid may not traverse the directories above the interpreter (/root, ...):
        # it gets them through bind mounts staged in a private mount namespace
        stage = ("mount -t tmpfs -o mode=755,size=1m selfalign /mnt && mkdir /mnt/py && "
                 f"mount --bind {_q(str(self.prefix))} /mnt/py && mount -o remount,bind,ro /mnt/py && ")
        if self.site:
            stage += (f"mkdir /mnt/site && mount --bind {_q(self.site)} /mnt/site && "
                      "mount -o remount,bind,ro /mnt/site && ")
        stage += 'exec "$@"'
        return self._contain.wrap(["unshare", "--mount", "--propagation", "private", "--", "sh", "-c", stage, "sandbox"]
                                  + inner, slot, cgroup=server)

    # ------------------------------------------------------------------------------------- run
    def run(self, source: str | Job, timeout_s: float | None = None, nonce: str | None = None) -> Verdict:
        """Run one program. With a nonce, a pass needs exit status 0 *and* the nonce printed
        (selfalign/proof.py): a program that leaves before its checks end fails."""
        parts: tuple[str, ...] = ()
        if isinstance(source, Job):
            source, timeout_s, nonce, parts = source.source, source.timeout_s or timeout_s, source.nonce, source.parts
        timeout_s = timeout_s or self.limits.timeout_s
        slot = self._slots.get()
        try:
            if self.persistent:
                v = self._run_persistent(source, timeout_s, slot)
            else:
                v = self._run(source, timeout_s, slot)
        finally:
            self._slots.put(slot)
        return _prove(v, nonce, parts)

    def _run_persistent(self, source: str, timeout_s: float, slot: int) -> Verdict:
        with self._zlock:
            z = self._zygotes.get(slot)
            if z is None or not z.alive():
                if z is not None:
                    z.close()
                z = self._zygotes[slot] = self._spawner.submit(_Zygote, self, slot).result()
        lim = self.limits
        req = {"source": source, "timeout": timeout_s, "boot": self.boot_stdin,
               "limits": {"memory_mb": lim.memory_mb, "cpu_s": int(math.ceil(timeout_s)) + 1,
                          "file_size_mb": lim.file_size_mb, "max_procs": lim.max_procs,
                          "max_output_bytes": lim.max_output_bytes}}
        res = z.request(req, timeout_s + 15)
        failed = res is None or not res.get("started")
        if failed or res.get("restart"):  # dead, silent, or could not clean up after the program
            with self._zlock:
                z.close()
                self._zygotes.pop(slot, None)
        if failed:
            why = (res or {}).get("error") or z.last_error or "no answer"
            return Verdict("error", None, 0.0, note=f"persistent sandbox failed: {why}")
        return self._verdict(res["code"], res["timed_out"], res["over"], res["duration"], res["stdout"],
                             res["stderr"], b"server", timeout_s)

    def close(self) -> None:
        with self._zlock:
            for z in self._zygotes.values():
                z.close()
            self._zygotes.clear()
        self._contain.close()   # anything left in this sandbox's cgroup
        if self._spawner is not None:
            self._spawner.shutdown(wait=False)
            self._spawner = ThreadPoolExecutor(1, thread_name_prefix="sandbox-spawner")  # usable again

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    def _run(self, source: str, timeout_s: float, slot: int) -> Verdict:
        prog_dir = tempfile.mkdtemp(prefix="selfalign-sbx-")
        info_r, info_w = os.pipe()
        try:
            os.chmod(prog_dir, 0o755)
            main = Path(prog_dir) / "main.py"
            main.write_text(source, encoding="utf-8")
            os.chmod(main, 0o644)
            cmd = self.command(prog_dir, info_w, slot)
            t0 = time.perf_counter()
            try:
                proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        start_new_session=True, pass_fds=(info_w,), cwd=prog_dir if self.unsafe else "/")
            except OSError as e:
                return Verdict("error", None, 0.0, note=f"could not start the sandbox: {e}")
            os.close(info_w)
            info_w = -1
            over = threading.Event()
            out, err = _Capture(proc.stdout, self.limits.max_output_bytes, over), _Capture(proc.stderr, self.limits.max_output_bytes, over)
            for c in (out, err):
                c.start()
            timed_out = False
            deadline = t0 + timeout_s
            while True:
                try:
                    proc.wait(timeout=0.02)
                    break
                except subprocess.TimeoutExpired:
                    pass
                if over.is_set() or time.perf_counter() > deadline:
                    timed_out = not over.is_set()
                    _killpg(proc)
                    proc.wait()
                    break
            duration = time.perf_counter() - t0
            _killpg(proc)  # anything the chain left in our group
            out.join(5)
            err.join(5)
            info = _read_all(info_r)
            return self._verdict(proc.returncode, timed_out, over.is_set(), duration, out.tail(), err.tail(), info,
                                 timeout_s)
        finally:
            if info_w >= 0:
                os.close(info_w)
            os.close(info_r)
            shutil.rmtree(prog_dir, ignore_errors=True)

    def _verdict(self, code, timed_out, over, duration, so: str, se: str, info, timeout_s: float) -> Verdict:
        base = dict(exit_code=code, duration_s=round(duration, 4), stdout_tail=so, stderr_tail=se)
        if not self.unsafe and not info and not timed_out:
            return Verdict("error", note="sandbox failed to start", **base)
        if timed_out:
            return Verdict("timeout", note=f"wall clock > {timeout_s}s", **base)
        if over:
            return Verdict("fail", note=f"output over {self.limits.max_output_bytes} bytes", **base)
        if code == 0:
            return Verdict("pass", **base)
        if "MemoryError" in se:
            return Verdict("memory", note=f"address space > {self.limits.memory_mb} MiB", **base)
        if code in (128 + signal.SIGXCPU, -signal.SIGXCPU):
            return Verdict("timeout", note="CPU time limit", **base)
        return Verdict("fail", **base)

    def run_many(self, sources: Sequence[str | Job], workers: int,
                 progress: Callable[[int, Verdict], None] | None = None) -> list[Verdict]:
        """Run programs (sources or Jobs) on ``workers`` threads; verdicts in input order."""
        results: list[Verdict | None] = [None] * len(sources)
        with ThreadPoolExecutor(max(1, workers)) as pool:
            futs = {pool.submit(self.run, s): i for i, s in enumerate(sources)}
            from concurrent.futures import as_completed
            for fut in as_completed(futs):
                i = futs[fut]
                results[i] = fut.result()
                if progress:
                    progress(i, results[i])
        return results  # type: ignore[return-value]


class _Capture(threading.Thread):
    """Reads a pipe to the end, keeping head and tail; sets ``over`` past the byte cap."""

    def __init__(self, pipe, cap: int, over: threading.Event):
        super().__init__(daemon=True)
        self.pipe, self.cap, self.over = pipe, cap, over
        self.total = 0
        self.buf = bytearray()

    def run(self) -> None:
        while True:
            try:
                chunk = self.pipe.read1(65536)
            except (OSError, ValueError):
                break
            if not chunk:
                break
            self.total += len(chunk)
            self.buf += chunk
            if len(self.buf) > 4 * TAIL:
                del self.buf[: len(self.buf) - 2 * TAIL]
            if self.total > self.cap:
                self.over.set()
        try:
            self.pipe.close()
        except OSError:
            pass

    def tail(self) -> str:
        return bytes(self.buf[-TAIL:]).decode("utf-8", errors="replace")


class _Zygote:
    """One persistent sandbox (worker slot ``slot``) running selfalign/sandbox_server.py."""

    def __init__(self, sandbox: "Sandbox", slot: int):
        self.last_error = ""
        self.dir = tempfile.mkdtemp(prefix="selfalign-sbx-")
        os.chmod(self.dir, 0o755)
        server = Path(self.dir) / "server.py"
        shutil.copyfile(Path(__file__).with_name("sandbox_server.py"), server)
        os.chmod(server, 0o644)
        info_r, info_w = os.pipe()
        self.err = tempfile.TemporaryFile()
        try:
            self.proc = subprocess.Popen(sandbox.command(self.dir, info_w, slot, server=True), stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, stderr=self.err, start_new_session=True,
                                         pass_fds=(info_w,), cwd="/")
        finally:
            os.close(info_w)
        try:
            first = self._readline(30)   # bwrap writes its info before the server starts: keep info_r open until then
        finally:
            os.close(info_r)
        if not first or not json.loads(first).get("ready"):
            self.last_error = "the server did not start: " + self._stderr()
            self.close()

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def _stderr(self) -> str:
        try:
            self.err.seek(0)
            return self.err.read()[-500:].decode("utf-8", "replace")
        except (OSError, ValueError):
            return ""

    def _readline(self, timeout: float) -> bytes | None:
        import select
        buf = b""
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        while not buf.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                return None
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                return None
            buf += chunk
        return buf

    def request(self, req: dict, timeout: float) -> dict | None:
        if not self.alive():
            return None
        try:
            self.proc.stdin.write((json.dumps(req) + "\n").encode())
            self.proc.stdin.flush()
        except OSError as e:
            self.last_error = f"cannot reach the server: {e}"
            return None
        line = self._readline(timeout)
        if line is None:
            code = self.proc.poll()
            self.last_error = (f"the server exited (status {code})" if code is not None else
                               f"the server did not answer in {timeout:.0f} s") + ": " + self._stderr()
            return None
        return json.loads(line)

    def close(self) -> None:
        if getattr(self, "proc", None) is not None:
            _killpg(self.proc)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                pass
            for f in (self.proc.stdin, self.proc.stdout):
                try:
                    f.close()
                except OSError:
                    pass
            self.proc = None
        self.err.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def _prove(v: Verdict, nonce: str | None, parts: tuple[str, ...] = ()) -> Verdict:
    """A nonce-checked verdict: exit status 0 without the nonce is a fail (left early)."""
    if nonce is None:
        return v
    from . import proof
    v.parts_proven = tuple(p for p in parts if proof.proven(v.stdout_tail, p))
    for p in v.parts_proven:
        v.stdout_tail = proof.strip(v.stdout_tail, p)
    ok = proof.proven(v.stdout_tail, nonce)
    v.stdout_tail = proof.strip(v.stdout_tail, nonce)
    if v.verdict == "pass" and not ok:
        v.verdict, v.note = "fail", "exited before its checks finished (no pass nonce)"
    return v


def _killpg(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _read_all(fd: int) -> bytes:
    os.set_blocking(fd, False)
    data = b""
    try:
        while chunk := os.read(fd, 4096):
            data += chunk
    except BlockingIOError:
        pass
    return data


def _q(s: str) -> str:
    import shlex
    return shlex.quote(s)


def default_workers(cfg_workers: int = 0) -> int:
    return cfg_workers or 2 * (os.cpu_count() or 1)


def verdict_json(v: Verdict) -> str:
    return json.dumps(v.as_dict())
