"""``python -m selfalign evaluate generate|score|env``: the evaluation commands (rules/evaluate.smk)."""
from __future__ import annotations

import json
import logging

from ..config import load_cli
from . import REGISTRY as BENCHMARKS

log = logging.getLogger("selfalign")


def _eval_cfg(a) -> dict:
    overrides = list(a.set or [])
    if getattr(a, "data", None):
        overrides.append(f"evaluate.data.{a.benchmark.partition('@')[0]}={json.dumps(a.data)}")
    return load_cli(a.config, overrides)


def generate(a) -> None:
    from .generate import generate_samples

    res = generate_samples(_eval_cfg(a), a.benchmark, a.variant, a.out, train_dir=a.train_dir, threads=a.threads)
    log.info("samples %s/%s: %s", a.variant, a.benchmark, res.get("skipped") or f"{res['problems']} problems -> {a.out}")


def score(a) -> None:
    from .score import score_file

    res = score_file(_eval_cfg(a), a.benchmark, a.samples, a.out, workers=a.workers)
    if "summary" in res:
        s = res["summary"]
        for metric, v in ((k, v) for k, v in s.items() if isinstance(v, dict) and "passed" in v):
            print(f"{a.benchmark} {metric}: pass@1 {v.get('pass@1')} ± {v.get('pass@1_se')} % "
                  f"({v['passed']} of {s['samples']} samples; {s['problems']} problems)")
    else:
        print(f"{a.benchmark}: {res['skipped']}")


def env(a) -> None:
    from . import envs

    cfg = load_cli(a.config)
    names = list(envs.FAMILIES) if a.name == "all" else [a.name]
    for name in names:
        if a.env_action == "build":
            print(f"{name}: {envs.build(name, cfg, pip_args=a.pip_arg)}")
        else:
            site, info = envs.site_for(name, cfg)
            print(f"{name}: {info.get('path') or 'not built (' + info['build'] + ')'}")


def add_parser(sub) -> None:
    ev = sub.add_parser("evaluate", help="benchmarks: generate samples, score any samples file, library environments")
    evsub = ev.add_subparsers(dest="action", required=True, metavar="ACTION")
    sp = evsub.add_parser("generate", help="write a benchmark's samples from the base or SFT model")
    sp.set_defaults(fn=generate)
    sp.add_argument("--variant", choices=["base", "sft"], required=True)
    sp.add_argument("--train-dir", help="the SFT model's directory (--variant sft)")
    sp.add_argument("--threads", type=int)
    sc = evsub.add_parser("score", help="score a samples file ({task_id, solution|completion} rows) in the sandbox",
                          description="Score any samples file: one JSON object per line with a task_id and a "
                                      "'solution' (a whole program) or a 'completion' (continuing the task's "
                                      "prompt); several rows per task are several samples (pass@k).")
    sc.set_defaults(fn=score)
    sc.add_argument("--samples", required=True, help="samples JSONL (optionally .gz)")
    sc.add_argument("--workers", type=int, help="sandbox workers (default: sandbox.workers, else 2 x cores)")
    for x in (sp, sc):
        x.add_argument("--config", help="config file (default: the defaults; e.g. config/config.yaml)")
        x.add_argument("--benchmark", required=True, metavar="NAME[@STYLE]",
                       help=f"one of {', '.join(sorted(BENCHMARKS))}; NAME@completion / NAME@instruct forces a "
                            "prompt style (generate)")
        x.add_argument("--data", help="the benchmark's data file (overrides evaluate.data.<benchmark>)")
        x.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a config key")
        x.add_argument("--out", required=True)
    en = evsub.add_parser("env", help="build or locate a benchmark's library environment")
    en.set_defaults(fn=env)
    en.add_argument("env_action", choices=["build", "path"])
    en.add_argument("name", help="classeval, ds1000, canitedit, or all")
    en.add_argument("--config")
    en.add_argument("--pip-arg", action="append", help="extra argument for pip (e.g. --extra-index-url=...)")
