"""The seed stage's funnel on a run config (default: config/config.yaml, the CPU default), every
filter and the judge included: what each step kept and dropped, and the time. To compare two
versions of the code, run it with each one first on PYTHONPATH (issue 25 measured the filter
order and checks of commit 298e3ef against this branch this way):

    PYTHONPATH=<checkout> python bench/seed_funnel.py [--configfile config/config.yaml] [--no-judge] [--out FILE]
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--configfile", default=None)
    ap.add_argument("--out", default=None, help="write the funnel and timing here as JSON")
    ap.add_argument("--no-judge", action="store_true", help="stop before the model judge (the last filter)")
    a = ap.parse_args()
    import selfalign
    from selfalign.backends import load_backend
    from selfalign.config import REPO_ROOT, load
    from selfalign.seeds import run_seed_stage

    cfg = load(a.configfile or REPO_ROOT / "config" / "config.yaml")
    if a.no_judge:
        cfg["seeds"]["filters"]["judge"] = False
    t = time.perf_counter()
    seeds, funnel = run_seed_stage(cfg, lambda: load_backend(cfg))
    dt = time.perf_counter() - t
    steps = [{k: v for k, v in s.items() if k in ("step", "kept", "dropped")} for s in funnel.as_list()]
    report = {"code": str(Path(selfalign.__file__).parent), "seconds": round(dt, 1), "seeds": len(seeds), "steps": steps}
    print(" → ".join(f"{s['step']} {s['kept']}" for s in steps), f"({dt:.0f} s)")
    if a.out:
        Path(a.out).write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
