"""Persistent sandboxes: one per worker slot, each running server.py as the PID 1 of its
namespace, which forks every program it is sent (one JSON line each way) and wipes the sandbox
after it. A server that dies, goes silent or cannot clean up is replaced; its program gets an
"error" verdict, never a pass or a fail."""
from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .command import Chain
from .oneshot import killpg
from .verdict import Verdict, judge

SERVER = Path(__file__).with_name("server.py")   # standard library only: it runs with python -I -S


class Pool:
    """The persistent servers of one Sandbox, by worker slot, started on first use."""

    def __init__(self, chain: Chain):
        self.chain = chain
        self.servers: dict[int, Server] = {}
        self._lock = threading.Lock()
        # The kernel's parent-death signal (bwrap --die-with-parent, setpriv --pdeathsig) fires when
        # the *thread* that started a process ends: servers are started from this one long-lived
        # thread, not from the short-lived pool threads that run programs.
        self._spawner = ThreadPoolExecutor(1, thread_name_prefix="sandbox-spawner")

    def run(self, source: str, timeout_s: float, slot: int) -> Verdict:
        with self._lock:
            z = self.servers.get(slot)
            if z is None or not z.alive():
                if z is not None:
                    z.close()
                z = self.servers[slot] = self._spawner.submit(Server, self.chain, slot).result()
        lim = self.chain.limits
        req = {"source": source, "timeout": timeout_s, "boot": self.chain.boot_stdin,
               "limits": {"memory_mb": lim.memory_mb, "cpu_s": int(math.ceil(timeout_s)) + 1,
                          "file_size_mb": lim.file_size_mb, "max_procs": lim.max_procs,
                          "max_output_bytes": lim.max_output_bytes}}
        res = z.request(req, timeout_s + 15)
        failed = res is None or not res.get("started")
        if failed or res.get("restart"):  # dead, silent, or could not clean up after the program
            with self._lock:
                z.close()
                self.servers.pop(slot, None)
        if failed:
            why = (res or {}).get("error") or z.last_error or "no answer"
            return Verdict("error", None, 0.0, note=f"persistent sandbox failed: {why}")
        return judge(lim, res["code"], res["timed_out"], res["over"], res["duration"], res["stdout"], res["stderr"],
                     True, timeout_s)

    def close(self) -> None:
        with self._lock:
            for z in self.servers.values():
                z.close()
            self.servers.clear()
        self._spawner.shutdown(wait=False)
        self._spawner = ThreadPoolExecutor(1, thread_name_prefix="sandbox-spawner")  # usable again


class Server:
    """One persistent sandbox (worker slot ``slot``) running server.py."""

    def __init__(self, chain: Chain, slot: int):
        self.last_error = ""
        self.dir = tempfile.mkdtemp(prefix="selfalign-sbx-")
        os.chmod(self.dir, 0o755)
        server = Path(self.dir) / "server.py"
        shutil.copyfile(SERVER, server)
        os.chmod(server, 0o644)
        info_r, info_w = os.pipe()
        self.err = tempfile.TemporaryFile()
        try:
            self.proc = subprocess.Popen(chain.command(self.dir, info_w, slot, server=True), stdin=subprocess.PIPE,
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
            killpg(self.proc)
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
