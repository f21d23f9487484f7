"""One program in a fresh sandbox: its own bwrap chain, started, watched and killed as one process
group. Output is read through pipes and capped; a program that writes past the cap is killed; on
timeout the group is SIGKILLed, bwrap dies, and the kernel ends every process left in the
sandbox's pid namespace."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from .command import Chain
from .server import text_of, trim
from .verdict import Verdict, judge


def run_once(chain: Chain, source: str, timeout_s: float, slot: int) -> Verdict:
    prog_dir = tempfile.mkdtemp(prefix="selfalign-sbx-")
    info_r, info_w = os.pipe()
    try:
        os.chmod(prog_dir, 0o755)
        main = Path(prog_dir) / "main.py"
        main.write_text(source, encoding="utf-8")
        os.chmod(main, 0o644)
        cmd = chain.command(prog_dir, info_w, slot)
        t0 = time.perf_counter()
        try:
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    start_new_session=True, pass_fds=(info_w,), cwd=prog_dir if chain.unsafe else "/")
        except OSError as e:
            return Verdict("error", None, 0.0, note=f"could not start the sandbox: {e}")
        os.close(info_w)
        info_w = -1
        cap = chain.limits.max_output_bytes
        over = threading.Event()
        out, err = Capture(proc.stdout, cap, over), Capture(proc.stderr, cap, over)
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
                killpg(proc)
                proc.wait()
                break
        duration = time.perf_counter() - t0
        killpg(proc)  # anything the chain left in our group
        out.join(5)
        err.join(5)
        info = _read_all(info_r)
        return judge(chain.limits, proc.returncode, timed_out, over.is_set(), duration, out.tail(), err.tail(),
                     chain.unsafe or bool(info), timeout_s)
    finally:
        if info_w >= 0:
            os.close(info_w)
        os.close(info_r)
        shutil.rmtree(prog_dir, ignore_errors=True)


class Capture(threading.Thread):
    """Reads a pipe to the end, keeping head and tail; sets ``over`` past the byte cap."""

    def __init__(self, pipe, cap: int, over: threading.Event):
        super().__init__(daemon=True)
        self.pipe, self.cap, self.over = pipe, cap, over
        self.total = 0
        self.buf = bytearray()
        self.marks: list = []     # marked lines (pass nonces, reports) dropped from the tail: server.trim

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
            trim(self.buf, self.marks)
            if self.total > self.cap:
                self.over.set()
        try:
            self.pipe.close()
        except OSError:
            pass

    def tail(self) -> str:
        return text_of(self.buf, self.marks)


def killpg(proc: subprocess.Popen) -> None:
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
