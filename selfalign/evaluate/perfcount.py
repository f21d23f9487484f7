"""EvalPerf's profiling of one solution, as a sandbox program: evalplus 0.3.1 evalplus/perf/profile.py
``profile`` runs the solution once per round (PERF_PROFILE_ROUNDS = 1) in a fresh process
(``multiprocessing.Process``, 45 s per test + 1), execs its code, and counts the CPU instructions
of the call on the performance-exercising input with cirron (``num_instruction_profiler``:
perf_event_open, user space only, the collector's own overhead subtracted). A timeout or an error
is a "broken" profile (score 0 for a sample; a reference is retried once with 10 s more,
evalperf.py:177-194).

Here the unit program starts a child Python per measurement (a fresh process: an ``lru_cache``
or other state never carries over) and reports ``{"cost", "counter", "cpu_s"}``. The counter
(``evaluate.evalperf_counter``):
- ``perf``: the hardware instruction counter through perf_event_open (ctypes; the attributes
  cirron sets: disabled, exclude_kernel, exclude_hv; its overhead, the least of 10 empty
  measurements, subtracted), exactly what evalplus counts; needs a PMU the machine (or its VM)
  exposes and ``perf_event_paranoid`` <= 2;
- ``valgrind``: instructions counted by valgrind's cachegrind (``I refs``), the run with the call
  minus the same run without it: deterministic, user space only, ~20x slower than a bare run;
- ``cpu_time``: the call's process CPU time in its fresh process (load-dependent);
- ``auto``: perf where it works, else valgrind where it is installed, else cpu_time.
A call must first finish natively within the 45 s (the official limit); valgrind's runs get 40 x
the native wall time + 30 s.
"""
from __future__ import annotations

VALGRIND_FACTOR, VALGRIND_SLACK_S = 40, 30.0

# The child: {data}, {code}, {entry} come as argv; it prints one JSON line.
CHILD = r'''
import json, os, pickle, sys, time
if os.path.isdir("/opt/site"):
    sys.path.insert(0, "/opt/site")
mode, data, path, entry = sys.argv[1:5]
with open(data, "rb") as f:
    args = pickle.load(f)["pe"]
ns = {}
exec(compile(open(path).read(), "/sandbox/profiled.py", "exec"), ns)
fn = ns[entry]


def perf_counter():                  # cirron's Collector, through ctypes: user-space instructions
    import ctypes, platform, struct
    nr = {"x86_64": 298, "aarch64": 241}.get(platform.machine())
    if nr is None:
        raise OSError("perf_event_open: unknown syscall number on " + platform.machine())
    libc = ctypes.CDLL(None, use_errno=True)
    attr = bytearray(128)
    struct.pack_into("IIQ", attr, 0, 0, 128, 1)          # PERF_TYPE_HARDWARE, size, PERF_COUNT_HW_INSTRUCTIONS
    struct.pack_into("Q", attr, 40, 1 | 1 << 5 | 1 << 6)  # disabled, exclude_kernel, exclude_hv
    buf = (ctypes.c_char * 128).from_buffer(attr)
    fd = libc.syscall(nr, buf, 0, -1, -1, 0)
    if fd < 0:
        raise OSError(ctypes.get_errno(), "perf_event_open: " + os.strerror(ctypes.get_errno()))

    def measure(call):
        libc.ioctl(fd, 0x2403, 0)                         # PERF_EVENT_IOC_RESET
        libc.ioctl(fd, 0x2400, 0)                         # PERF_EVENT_IOC_ENABLE
        call()
        libc.ioctl(fd, 0x2401, 0)                         # PERF_EVENT_IOC_DISABLE
        return struct.unpack("Q", os.read(fd, 8))[0]
    return measure


if mode == "perf":
    measure = perf_counter()
    overhead = min(measure(lambda: None) for _ in range(10))
    print(json.dumps({"cost": max(0, measure(lambda: fn(*args)) - overhead)}))
elif mode == "native":
    t = time.process_time()
    fn(*args)
    print(json.dumps({"cost": time.process_time() - t}))
elif mode == "call":                 # under valgrind
    fn(*args)
'''

# The unit: {counter!r}, {data!r}, {code!r}, {entry!r}, {limit!r}
UNIT = r'''
import json as _json, os as _os, re as _re, shutil as _shutil, subprocess as _sp, sys as _sys, time as _time
with open("/tmp/child.py", "w") as _f:
    _f.write({child!r})
with open("/tmp/profiled.py", "w") as _f:
    _f.write({code!r})
# -S -s -B but not -I (whose -E would ignore PYTHONHASHSEED): a fixed hash seed keeps counts repeatable
_py = [_sys.executable, "-S", "-s", "-B", "/tmp/child.py"]
_env = {{**_os.environ, "PYTHONHASHSEED": "0"}}


def _child(mode, limit, prefix=()):
    t = _time.perf_counter()
    r = _sp.run([*prefix, *_py, mode, {data!r}, "/tmp/profiled.py", {entry!r}], capture_output=True, text=True,
                timeout=limit, env=_env, cwd="/tmp")
    if r.returncode != 0:
        raise RuntimeError(f"{{mode}}: exit {{r.returncode}}: {{r.stderr[-400:]}}")
    return (_json.loads(r.stdout.strip().splitlines()[-1]) if mode in ("perf", "native") else {{}}), _time.perf_counter() - t


def _valgrind(mode, limit):
    log = f"/tmp/vg-{{mode}}.log"
    _child(mode, limit, ("valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null",
                         f"--log-file={{log}}"))
    found = _re.findall(r"I\s+refs:\s+([\d,]+)", open(log).read())
    if not found:
        raise RuntimeError(f"valgrind: no instruction count in {{log}}")
    return int(found[-1].replace(",", ""))


_counter = {counter!r}
if _counter in ("auto", "perf"):
    try:
        _res, _ = _child("perf", {limit!r})
        _counter = "perf"
    except RuntimeError as _e:
        if _counter == "perf" or "perf_event_open" not in str(_e):
            raise
        _counter = "valgrind" if _shutil.which("valgrind") else "cpu_time"
if _counter != "perf":
    _res, _wall = _child("native", {limit!r})
    _cpu = _res["cost"]
    if _counter == "valgrind":
        _vlimit = {factor!r} * _wall + {slack!r}
        _res = {{"cost": _valgrind("call", _vlimit) - _valgrind("baseline", _vlimit), "cpu_s": _cpu}}
print("SELFALIGN-REPORT " + _json.dumps({{**_res, "counter": _counter}}))
'''


def unit_source(counter: str, data: str, code: str, entry: str, limit: float) -> str:
    """The checks of one profiling run (the solution module is empty: the code runs in the child)."""
    return UNIT.format(child=CHILD, counter=counter, data=data, code=code, entry=entry, limit=limit,
                       factor=VALGRIND_FACTOR, slack=VALGRIND_SLACK_S)


def unit_timeout(counter: str, limit: float) -> float:
    """The sandbox's wall limit for one profiling unit: the native run, and valgrind's two."""
    if counter == "perf":
        return limit + 10.0
    return limit + 10.0 + (0 if counter == "cpu_time" else 2 * (VALGRIND_FACTOR * limit + VALGRIND_SLACK_S))
