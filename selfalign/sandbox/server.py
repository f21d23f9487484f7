"""The program server that runs inside one persistent bubblewrap sandbox (``Sandbox(persistent=True)``).

It is started as PID 1 of the sandbox's PID namespace (``bwrap --as-pid-1``), under the worker's
unprivileged uid, with the same read-only filesystem, no network and a private /tmp as a one-shot
sandbox. For each request (one JSON line on stdin: source, timeout, limits) it forks the program
with its rlimits in a fresh session, /tmp as cwd and HOME and its source on stdin (the boot line
reads it, then stdin is /dev/null, as in a one-shot run), captures capped stdout/stderr,
enforces the wall clock, then kills every other process of the namespace and wipes /tmp before
answering (one JSON line on stdout). The next program finds nothing of the previous one.

Why the server survives hostile programs: as the namespace's init it receives no signal from
inside the namespace that it has no handler for (SIGKILL included; SIGINT is ignored), and it
makes itself non-dumpable, so a process of the same uid can neither ptrace it nor write its
memory through /proc. It holds no file a program can reach. If it dies anyway, the harness sees
no answer, reports a sandbox error (never a pass or fail) and starts a new one.

Runs with ``python -I -S``: standard library only.
"""
import ctypes
import json
import os
import resource
import select
import signal
import subprocess
import sys
import time

TAIL = 2000
# Lines the harness reads from a program's output (pass nonces, reports: selfalign/sandbox/proof.py,
# selfalign/evaluate/base.py) are kept whatever else the tail drops: a nonce proven early (a
# ClassEval test class) must survive the output of what ran after it.
MARK = b"SELFALIGN-"
MAX_MARKS, MAX_MARK_LEN = 1024, 4096


def _marked(data: bytes, marks: list) -> None:
    for line in data.split(b"\n"):
        if line.startswith(MARK) and len(line) <= MAX_MARK_LEN and len(marks) < MAX_MARKS:
            marks.append(line)


def trim(buf: bytearray, marks: list) -> None:
    """Drop the front of a growing output buffer (kept: 2-4 x TAIL bytes), at a line end where
    there is one, saving the marked lines of what is dropped."""
    if len(buf) <= 4 * TAIL:
        return
    cut = buf.rfind(b"\n", 0, len(buf) - 2 * TAIL)
    cut = cut if cut > 0 else len(buf) - 2 * TAIL
    _marked(bytes(buf[:cut]), marks)
    del buf[:cut]


def text_of(buf: bytearray, marks: list) -> str:
    """The last TAIL bytes, after every marked line that does not lie wholly inside them."""
    start = max(0, len(buf) - TAIL)
    found = list(marks)
    if start:
        end = buf.find(b"\n", start)     # the lines that begin before the tail, the one it cuts in full
        _marked(bytes(buf[: end if end >= 0 else len(buf)]), found)
    pre = b"".join(b"\n" + m + b"\n" for m in found)
    return (pre + bytes(buf[start:])).decode("utf-8", "replace")


def harden() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(4, 0, 0, 0, 0)            # PR_SET_DUMPABLE 0: no ptrace, no /proc/1/mem for same-uid peers
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def reap() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def kill_others() -> bool:
    """SIGKILL every process of the namespace but this one (double forks, daemons, bombs);
    whether none is left."""
    me = os.getpid()
    for _ in range(50):
        pids = [int(p) for p in os.listdir("/proc") if p.isdigit() and int(p) != me]
        if not pids:
            return True
        for p in pids:
            try:
                os.kill(p, signal.SIGKILL)
            except OSError:
                pass
        reap()
        time.sleep(0.002)
    return False


def remove(path: str) -> None:
    """Delete a file or tree the program may have locked down (chmod 0, read-only dirs)."""
    try:
        if os.path.isdir(path) and not os.path.islink(path):
            os.chmod(path, 0o700)
            for name in os.listdir(path):
                remove(os.path.join(path, name))
            os.rmdir(path)
        else:
            os.unlink(path)
    except OSError:
        pass


DEV = set(os.listdir("/dev"))   # what bwrap's private /dev holds before any program ran


def wipe() -> bool:
    """Empty the places a program can write (/tmp, /dev/shm, new entries in the private /dev);
    whether they are clean now."""
    for name in os.listdir("/tmp"):
        remove(os.path.join("/tmp", name))
    if os.path.isdir("/dev/shm"):
        for name in os.listdir("/dev/shm"):
            remove(os.path.join("/dev/shm", name))
    for name in set(os.listdir("/dev")) - DEV:
        remove(os.path.join("/dev", name))
    return not os.listdir("/tmp") and not (os.path.isdir("/dev/shm") and os.listdir("/dev/shm")) \
        and set(os.listdir("/dev")) <= DEV


def limits_for(req: dict):
    lim = req["limits"]

    def apply() -> None:
        for sig in (signal.SIGINT, signal.SIGPIPE, signal.SIGXFSZ):
            signal.signal(sig, signal.SIG_DFL)
        mb = 1 << 20
        resource.setrlimit(resource.RLIMIT_AS, (lim["memory_mb"] * mb, lim["memory_mb"] * mb))
        cpu = int(lim["cpu_s"])
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
        resource.setrlimit(resource.RLIMIT_FSIZE, (lim["file_size_mb"] * mb, lim["file_size_mb"] * mb))
        resource.setrlimit(resource.RLIMIT_NPROC, (lim["max_procs"], lim["max_procs"]))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    return apply


def run(req: dict) -> dict:
    cap = int(req["limits"]["max_output_bytes"])
    env = {"HOME": "/tmp", "PATH": "/opt/py/bin:/usr/bin", "LD_LIBRARY_PATH": "/opt/py/lib", "PYTHONHASHSEED": "0",
           "LANG": "C.UTF-8"}
    t0 = time.perf_counter()
    try:
        proc = subprocess.Popen([sys.executable, "-I", "-S", "-B", "-c", req["boot"]], cwd="/tmp", env=env,
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                start_new_session=True, close_fds=True, preexec_fn=limits_for(req))
    except OSError as e:  # e.g. the process limit still taken by a bomb we could not clear
        return {"started": False, "error": f"could not start the program: {e}"}
    try:
        proc.stdin.write(req["source"].encode("utf-8"))
        proc.stdin.close()
    except OSError:  # the program died before reading its source: its exit status says why
        pass
    out_fd, err_fd = proc.stdout.fileno(), proc.stderr.fileno()
    streams = {out_fd: bytearray(), err_fd: bytearray()}
    marks: list = []
    seen = {fd: 0 for fd in streams}
    deadline = t0 + float(req["timeout"])
    timed_out = over = False
    open_fds = set(streams)

    def pump(wait: float) -> None:
        nonlocal over
        ready, _, _ = select.select(list(open_fds), [], [], wait)
        for fd in ready:
            chunk = os.read(fd, 65536)
            if not chunk:
                open_fds.discard(fd)
                continue
            seen[fd] += len(chunk)
            buf = streams[fd]
            buf += chunk
            trim(buf, marks if fd == out_fd else [])
            if sum(seen.values()) > cap:
                over = True

    code = None
    while open_fds:
        left = deadline - time.perf_counter()
        if left <= 0:
            timed_out = True
            break
        pump(min(left, 0.05))
        if over:
            break
        code = proc.poll()
        if code is not None:
            # the program is done; whatever it left running (a daemon holding its stdout) goes,
            # as a one-shot sandbox's namespace goes with its program
            kill_others()
            while open_fds:
                pump(0.2)
            break
    if code is None and not timed_out and not over:
        try:
            code = proc.wait(timeout=max(0.0, deadline - time.perf_counter()))
        except subprocess.TimeoutExpired:
            timed_out = True
    duration = time.perf_counter() - t0
    if timed_out or over:
        code = None
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            pass
        proc.wait()
        code = proc.returncode
    proc.stdout.close()
    proc.stderr.close()
    return {"started": True, "code": code, "timed_out": timed_out, "over": over, "duration": duration,
            "stdout": text_of(streams[out_fd], marks), "stderr": bytes(streams[err_fd][-TAIL:]).decode("utf-8", "replace")}


def main() -> None:
    harden()
    wipe()
    out = sys.stdout
    out.write(json.dumps({"ready": True}) + "\n")
    out.flush()
    for line in sys.stdin:
        if not line.strip():
            continue
        req = json.loads(line)
        try:
            res = run(req)
        except Exception as e:  # the server's own failure: reported as a sandbox error
            res = {"started": False, "error": f"{type(e).__name__}: {e}"}
        clean = kill_others() and wipe()
        if not clean:  # something survived: this sandbox is not fresh any more, the harness starts a new one
            res["restart"] = True
        out.write(json.dumps(res) + "\n")
        out.flush()
        if not clean:
            return


if __name__ == "__main__":
    main()
