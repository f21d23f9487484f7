"""The command line of one sandbox: the chain of tools a program (or a persistent server) runs
under, the interpreter it runs, and the boot line that starts it (layers: see __init__.py)."""
from __future__ import annotations

import math
import os
import shlex
import shutil
import sys
from pathlib import Path

from .reaper import Containment
from .verdict import SandboxLimits, SandboxUnavailable

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


class Chain:
    """Builds the command of a sandbox: a one-shot run of /sandbox/main.py, or (``server``) the
    persistent server /sandbox/server.py, for worker ``slot`` (its uid in root mode)."""

    def __init__(self, limits: SandboxLimits, unsafe: bool, site: str | None, data_dir: str | None,
                 containment: Containment):
        self.limits, self.unsafe, self.site, self.data_dir = limits, unsafe, site, data_dir
        self.containment = containment      # marks this sandbox's chains (and puts them in a cgroup)
        self.boot = (SITE_PREFIX if site else "") + BOOT
        self.boot_stdin = (SITE_PREFIX if site else "") + BOOT_STDIN
        self.prefix, self.py_rel = real_python()
        self.root = os.geteuid() == 0

    def _prlimit(self, server: bool = False) -> list[str]:
        if server:  # the server's programs get their limits when it forks them
            return ["prlimit", "--core=0", "--"]
        lim = self.limits
        cpu = int(math.ceil(lim.timeout_s)) + 1
        return ["prlimit", f"--as={lim.memory_mb << 20}", f"--cpu={cpu}", f"--fsize={lim.file_size_mb << 20}",
                f"--nproc={lim.max_procs}", "--core=0", "--"]

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
            return self.containment.wrap(self._prlimit(server) + pdeath + self._bwrap(
                str(self.prefix), prog_dir, info_fd, self.site, server), slot, cgroup=server)
        uid = self.containment.uid(slot)
        inner = self._prlimit(server) + ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
                                         "--pdeathsig=KILL", "--"] + self._bwrap("/mnt/py", prog_dir, info_fd,
                                                                                 "/mnt/site" if self.site else None, server)
        # the unprivileged uid may not traverse the directories above the interpreter (/root, ...):
        # it gets them through bind mounts staged in a private mount namespace
        stage = ("mount -t tmpfs -o mode=755,size=1m selfalign /mnt && mkdir /mnt/py && "
                 f"mount --bind {shlex.quote(str(self.prefix))} /mnt/py && mount -o remount,bind,ro /mnt/py && ")
        if self.site:
            stage += (f"mkdir /mnt/site && mount --bind {shlex.quote(self.site)} /mnt/site && "
                      "mount -o remount,bind,ro /mnt/site && ")
        stage += 'exec "$@"'
        return self.containment.wrap(["unshare", "--mount", "--propagation", "private", "--", "sh", "-c", stage,
                                      "sandbox"] + inner, slot, cgroup=server)
