"""Sandbox throughput and overhead, measured side by side in one run.

Prints verdicts/s for a trivial passing program through the pool, and the cost per run of the
sandbox — persistent (the default: one bwrap per worker whose PID-1 server forks each program)
and one-shot (a fresh bwrap chain per program) — vs a bare subprocess of the same interpreter with
the same flags, with their ratios. Serial runs, interleaved in rounds so load drifts hit all three.
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
    sb.run_many([prog] * (2 * workers), workers)  # warm-up: every worker's sandbox started
    t = time.perf_counter()
    vs = sb.run_many([prog] * a.runs, workers)
    pool_s = time.perf_counter() - t
    assert all(v.verdict == "pass" for v in vs), [(v.verdict, v.note, v.stderr_tail[-300:]) for v in vs if v.verdict != "pass"][:3]
    sb.close()

    persistent, one_shot = Sandbox(SandboxLimits(), workers=1), Sandbox(SandboxLimits(), workers=1, persistent=False)
    persistent.run(prog)
    prefix, rel = real_python()
    d = Path("/tmp/selfalign-bench")
    d.mkdir(exist_ok=True)
    (d / "main.py").write_text(prog)
    bare = [str(prefix / rel), "-I", "-S", "-B", "-c", BOOT.replace("/sandbox/main.py", str(d / "main.py"))]
    cost = {"persistent": 0.0, "one-shot": 0.0, "bare": 0.0}
    rounds = max(1, a.runs // 2)
    for _ in range(rounds):
        for name in cost:
            t = time.perf_counter()
            if name == "bare":
                subprocess.run(bare, check=True, stdin=subprocess.DEVNULL, capture_output=True)
            else:
                assert (persistent if name == "persistent" else one_shot).run(prog).verdict == "pass"
            cost[name] += time.perf_counter() - t
    persistent.close()
    each = {k: v / rounds for k, v in cost.items()}
    print(f"cores={os.cpu_count()} workers={workers} runs={a.runs}")
    print(f"pool throughput (persistent): {a.runs / pool_s:.1f} verdicts/s (target >= 15)")
    print(f"per run, serial: persistent sandbox {1000 * each['persistent']:.1f} ms, one-shot sandbox "
          f"{1000 * each['one-shot']:.1f} ms, bare subprocess {1000 * each['bare']:.1f} ms; ratios vs bare: "
          f"persistent {each['persistent'] / each['bare']:.2f}x (target <= 1.3x), one-shot {each['one-shot'] / each['bare']:.2f}x")


if __name__ == "__main__":
    main()
