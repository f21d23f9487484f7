"""Sandbox throughput and overhead, measured side by side in one run.

Prints verdicts/s for a trivial passing program through the pool, and the cost per run of the
bwrap sandbox vs a bare subprocess of the same interpreter (same flags), with their ratio.
    python bench/sandbox.py [--runs 60]
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from selfalign.sandbox import BOOT, Sandbox, SandboxLimits, default_workers, real_python  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=60)
    a = ap.parse_args()
    prog = "assert sum(range(10)) == 45\n"
    workers = default_workers()
    sb = Sandbox(SandboxLimits(), workers=workers)
    sb.run_many([prog] * 4, workers)  # warm-up
    t = time.perf_counter()
    vs = sb.run_many([prog] * a.runs, workers)
    pool_s = time.perf_counter() - t
    assert all(v.verdict == "pass" for v in vs)

    serial = Sandbox(SandboxLimits(), workers=1)
    t = time.perf_counter()
    for _ in range(a.runs // 2):
        serial.run(prog)
    bwrap_each = (time.perf_counter() - t) / (a.runs // 2)

    prefix, rel = real_python()
    d = Path("/tmp/selfalign-bench")
    d.mkdir(exist_ok=True)
    (d / "main.py").write_text(prog)
    cmd = [str(prefix / rel), "-I", "-S", "-B", "-c", BOOT.replace("/sandbox/main.py", str(d / "main.py"))]
    t = time.perf_counter()
    for _ in range(a.runs // 2):
        subprocess.run(cmd, check=True, stdin=subprocess.DEVNULL, capture_output=True)
    bare_each = (time.perf_counter() - t) / (a.runs // 2)
    print(f"cores={os.cpu_count()} workers={workers} runs={a.runs}")
    print(f"pool throughput: {a.runs / pool_s:.1f} verdicts/s (target >= 15)")
    print(f"per run, serial: bwrap {1000 * bwrap_each:.1f} ms, bare subprocess {1000 * bare_each:.1f} ms, "
          f"ratio {bwrap_each / bare_each:.2f}x (target <= 1.3x)")


if __name__ == "__main__":
    main()
