"""``python -m selfalign STAGE …``: the only entry point the Snakemake rules call.

Each stage reads its inputs, writes its outputs atomically (resuming from its work file), and
fails with one line ``selfalign: error: …`` on bad input instead of a traceback.
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

log = logging.getLogger("selfalign")


def _cfg(path: str | None, overrides: list[str] | None = None) -> dict:
    from . import config as C

    extra = {}
    for kv in overrides or []:
        key, _, val = kv.partition("=")
        node = extra
        parts = key.split(".")
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        try:
            node[parts[-1]] = json.loads(val)
        except ValueError:
            node[parts[-1]] = val
    if path and path.endswith(".json"):
        cfg = json.loads(Path(path).read_text())
        return C.resolve(C.deep_merge(cfg, extra))
    return C.load(path, extra)


def _backend_factory(cfg: dict, threads: int | None = None, lora: str | None = None):
    def make():
        from .backends import load_backend
        return load_backend(cfg, lora_path=lora, n_threads=threads)
    return make


# ------------------------------------------------------------------------------------- commands
def cmd_config(a) -> None:
    cfg = _cfg(a.configfile, a.set)
    if a.action == "show":
        print(json.dumps(cfg, indent=2, sort_keys=True))
    else:
        from . import config as C
        print(f"ok: {a.configfile or '(defaults)'} is valid; experiments: {', '.join(C.experiment_configs(cfg))}")


def cmd_model(a) -> None:
    from .model import get_spec, model_info, provision
    from .records import write_json_atomic

    cfg = _cfg(a.config)
    spec = get_spec(cfg, a.name)
    path = provision(spec, cfg)
    info = model_info(spec, path)
    if a.out:
        write_json_atomic(a.out, info)
    print(json.dumps(info, indent=1))


def cmd_seeds(a) -> None:
    from .records import write_jsonl_atomic
    from .seeds import run_seed_stage

    cfg = _cfg(a.config)
    if cfg["seeds"]["file"]:
        from .seeds import copy_seeds
        n = copy_seeds(cfg["seeds"]["file"], a.out, a.funnel)
        log.info("seeds: %d taken from %s", n, cfg["seeds"]["file"])
        return
    seeds, funnel = run_seed_stage(cfg, _backend_factory(cfg, a.threads))
    write_jsonl_atomic(a.out, seeds)
    funnel.write(a.funnel)
    log.info("seeds: %d written to %s", len(seeds), a.out)


def _gather(a) -> bool:
    """``--gather SHARD...``: join shard outputs into --out (the scatter/gather's gather step)."""
    if not a.gather:
        return False
    from .records import gather_jsonl, write_json_atomic

    n = gather_jsonl(a.gather, a.out)
    if a.stats:
        parts = [str(p).removesuffix(".jsonl") + ".stats.json" for p in a.gather]
        write_json_atomic(a.stats, {"stage": a.cmd, "records": n, "shards": [
            json.loads(Path(p).read_text()) if Path(p).exists() else None for p in parts]})
    log.info("%s: gathered %d records from %d shards", a.cmd, n, len(a.gather))
    return True


def cmd_generate(a) -> None:
    from .generate import run_stage
    from .records import Concepts, Instruction, Seed, Shard, read_records

    if _gather(a):
        return
    cfg = _cfg(a.config)
    if a.stage == "concepts":
        parents = read_records(a.input, Seed)
    elif a.stage == "instructions":
        if cfg["generate"]["seed_path"] == "direct":
            parents = read_records(a.input, Seed)
        else:
            parents = [c for c in read_records(a.input, Concepts) if c.ok]
    else:
        parents = [i for i in read_records(a.input, Instruction) if i.ok]
    stats = run_stage(a.stage, cfg, parents, _backend_factory(cfg, a.threads), a.out, a.stats, shard=Shard.parse(a.shard))
    log.info("%s: %s", a.stage, json.dumps({k: v for k, v in stats.items() if k != "generation"}))


def cmd_execute(a) -> None:
    from .execute import run_executions
    from .records import Response, Shard, read_records

    if _gather(a):
        return
    cfg = _cfg(a.config)
    if a.workers:
        cfg["sandbox"]["workers"] = a.workers
    stats = run_executions(cfg, read_records(a.responses, Response), a.out, a.stats,
                           unsafe=True if a.unsafe_no_sandbox else None, shard=Shard.parse(a.shard))
    log.info("execute: %s", json.dumps(stats))


def cmd_select(a) -> None:
    from .decontam import build
    from .prompts import load_fewshot
    from .records import Execution, Instruction, Response, read_records, write_jsonl_atomic
    from .select import select_sft

    cfg = _cfg(a.config)
    dec = build(cfg, "select")[0] if cfg["select"]["decontaminate"] else None
    sft, funnel = select_sft(cfg, read_records(a.instructions, Instruction), read_records(a.responses, Response),
                             read_records(a.executions, Execution), load_fewshot(cfg["generate"]["fewshot_file"]), dec)
    write_jsonl_atomic(a.out, sft)
    funnel.write(a.funnel)
    log.info("select: %d SFT examples", len(sft))


def cmd_funnel(a) -> None:
    from .report.funnel import build_funnel
    from .records import write_json_atomic

    write_json_atomic(a.out, build_funnel(a.seeds_funnel, a.concepts, a.instructions, a.responses, a.executions, a.select_funnel))


def cmd_train(a) -> None:
    from .train import train

    cfg = _cfg(a.config)
    if a.threads:
        import torch
        torch.set_num_threads(a.threads)
    m = train(cfg, a.sft, a.out)
    if m.get("rank"):   # another process of a distributed launch: rank 0 reports
        return
    if m.get("skipped"):
        log.warning("train: skipped: %s", m["skipped"])
        return
    log.info("train: %d steps, final loss %.4f, %.1f s/step, peak RSS %.0f MB", m["steps"], m["final_loss"],
             m["s_per_step"], m["peak_rss_mb"])


def _eval_cfg(a) -> dict:
    overrides = list(a.set or [])
    if getattr(a, "data", None):
        overrides.append(f"evaluate.data.{a.benchmark.partition('@')[0]}={json.dumps(a.data)}")
    return _cfg(a.config, overrides)


def cmd_evaluate_generate(a) -> None:
    from .evaluate.generate import generate_samples

    res = generate_samples(_eval_cfg(a), a.benchmark, a.variant, a.out, train_dir=a.train_dir, threads=a.threads)
    log.info("samples %s/%s: %s", a.variant, a.benchmark, res.get("skipped") or f"{res['problems']} problems -> {a.out}")


def cmd_evaluate_score(a) -> None:
    from .evaluate.score import score_file

    res = score_file(_eval_cfg(a), a.benchmark, a.samples, a.out, workers=a.workers)
    if "summary" in res:
        s = res["summary"]
        for metric, v in ((k, v) for k, v in s.items() if isinstance(v, dict) and "passed" in v):
            print(f"{a.benchmark} {metric}: pass@1 {v.get('pass@1')} ± {v.get('pass@1_se')} % "
                  f"({v['passed']} of {s['samples']} samples; {s['problems']} problems)")
    else:
        print(f"{a.benchmark}: {res['skipped']}")


def cmd_evaluate_env(a) -> None:
    from .evaluate import envs

    cfg = _cfg(a.config)
    names = list(envs.FAMILIES) if a.name == "all" else [a.name]
    for name in names:
        if a.env_action == "build":
            print(f"{name}: {envs.build(name, cfg, pip_args=a.pip_arg)}")
        else:
            site, info = envs.site_for(name, cfg)
            print(f"{name}: {info.get('path') or 'not built (' + info['build'] + ')'}")


def cmd_paper(a) -> None:
    from .paper import build_paper

    cfg = _cfg(a.config)
    build_paper(cfg, a.results_dir, a.paper_dir, a.figures_dir)


def cmd_card(a) -> None:
    from .report.card import export_dataset, write_manifest

    cfg = _cfg(a.config)
    export_dataset(cfg, a.sft, a.seeds, a.funnel, a.out_dir)
    write_manifest(cfg, Path(a.sft).parent, a.manifest)


def cmd_sandbox(a) -> None:
    from .sandbox import Sandbox, SandboxLimits

    src = Path(a.file).read_text()
    lim = SandboxLimits(timeout_s=a.timeout, memory_mb=a.memory_mb)
    v = Sandbox(lim, unsafe_no_sandbox=a.unsafe_no_sandbox, persistent=False).run(src)  # one program: no server
    print(json.dumps(v.as_dict()))
    sys.exit(0 if v.verdict == "pass" else 1)


def cmd_doctor(a) -> None:
    from .doctor import run

    sys.exit(run(a, _cfg(a.configfile, a.set)))


def _shard_args(sp) -> None:
    g = sp.add_mutually_exclusive_group()
    g.add_argument("--shard", metavar="K/N", help="run only part K (0-based) of N; join the parts with --gather")
    g.add_argument("--gather", nargs="+", metavar="PART", help="join shard outputs into --out instead of running")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m selfalign", description=(
        "SelfCodeAlign replication harness. Stages, in order: model, seeds, concepts, instructions, responses, "
        "execute, select, funnel, train, evaluate, card, paper. `snakemake --cores all` runs them all."))
    p.add_argument("-v", "--verbose", action="store_true")
    sub = p.add_subparsers(dest="cmd", required=True, metavar="STAGE")

    def add(name, fn, help_):
        sp = sub.add_parser(name, help=help_)
        sp.set_defaults(fn=fn)
        return sp

    sp = add("config", cmd_config, "validate or show a config")
    sp.add_argument("action", choices=["validate", "show"])
    sp.add_argument("--configfile", default="config/config.yaml")
    sp.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a key, e.g. seeds.count=10")

    sp = add("model", cmd_model, "provision the model's weights (download/assemble once, verify sha256)")
    sp.add_argument("--config")
    sp.add_argument("--name")
    sp.add_argument("--out")

    sp = add("seeds", cmd_seeds, "extract and filter seed functions")
    sp.add_argument("--config", required=True)
    sp.add_argument("--out", required=True)
    sp.add_argument("--funnel", required=True)
    sp.add_argument("--threads", type=int)

    for stage, inp in (("concepts", "seeds"), ("instructions", "concepts (or seeds for seed_path: direct)"),
                       ("responses", "instructions")):
        sp = add(stage, cmd_generate, f"generate {stage} from {inp}")
        sp.set_defaults(stage=stage)
        sp.add_argument("--config", required=True)
        sp.add_argument("--input", required=True, help=f"{inp} JSONL")
        sp.add_argument("--out", required=True)
        sp.add_argument("--stats")
        sp.add_argument("--threads", type=int)
        _shard_args(sp)

    sp = add("execute", cmd_execute, "run every response with its tests in the sandbox")
    sp.add_argument("--config", required=True)
    sp.add_argument("--responses", required=True)
    sp.add_argument("--out", required=True)
    sp.add_argument("--stats")
    _shard_args(sp)
    sp.add_argument("--workers", type=int)
    sp.add_argument("--unsafe-no-sandbox", action="store_true", help="run generated code WITHOUT bubblewrap (dangerous)")

    sp = add("select", cmd_select, "choose, filter and deduplicate the SFT data")
    for k in ("config", "instructions", "responses", "executions", "out", "funnel"):
        sp.add_argument(f"--{k}", required=True)

    sp = add("funnel", cmd_funnel, "count what each stage kept and dropped")
    for k in ("seeds-funnel", "instructions", "responses", "executions", "select-funnel", "out"):
        sp.add_argument(f"--{k}", required=True)
    sp.add_argument("--concepts", help="concepts JSONL (absent for seed_path: direct)")

    sp = add("train", cmd_train, "instruction-tune the base model on sft.jsonl")
    sp.add_argument("--config", required=True)
    sp.add_argument("--sft", required=True)
    sp.add_argument("--out", required=True)
    sp.add_argument("--threads", type=int)

    from .evaluate import REGISTRY as BENCHMARKS
    ev = sub.add_parser("evaluate", help="benchmarks: generate samples, score any samples file, library environments")
    evsub = ev.add_subparsers(dest="action", required=True, metavar="ACTION")
    sp = evsub.add_parser("generate", help="write a benchmark's samples from the base or SFT model")
    sp.set_defaults(fn=cmd_evaluate_generate)
    sp.add_argument("--variant", choices=["base", "sft"], required=True)
    sp.add_argument("--train-dir", help="the SFT model's directory (--variant sft)")
    sp.add_argument("--threads", type=int)
    sc = evsub.add_parser("score", help="score a samples file ({task_id, solution|completion} rows) in the sandbox",
                          description="Score any samples file: one JSON object per line with a task_id and a "
                                      "'solution' (a whole program) or a 'completion' (continuing the task's "
                                      "prompt); several rows per task are several samples (pass@k).")
    sc.set_defaults(fn=cmd_evaluate_score)
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
    en.set_defaults(fn=cmd_evaluate_env)
    en.add_argument("env_action", choices=["build", "path"])
    en.add_argument("name", help="classeval, ds1000, canitedit, or all")
    en.add_argument("--config")
    en.add_argument("--pip-arg", action="append", help="extra argument for pip (e.g. --extra-index-url=...)")

    sp = add("paper", cmd_paper, "regenerate tables and figures from results")
    sp.add_argument("--config", required=True)
    sp.add_argument("--results-dir", default="results")
    sp.add_argument("--paper-dir", default="paper")
    sp.add_argument("--figures-dir", default="figures")

    sp = add("card", cmd_card, "dataset card, datasets-loadable export and run manifest")
    for k in ("config", "sft", "seeds", "funnel", "out-dir", "manifest"):
        sp.add_argument(f"--{k}", required=True)

    sp = add("sandbox", cmd_sandbox, "run one Python file in the sandbox and print its JSON verdict")
    sp.add_argument("action", choices=["run"])
    sp.add_argument("file")
    sp.add_argument("--timeout", type=float, default=10.0)
    sp.add_argument("--memory-mb", type=int, default=4096)
    sp.add_argument("--unsafe-no-sandbox", action="store_true", help="run WITHOUT bubblewrap (dangerous)")

    sp = add("doctor", cmd_doctor, "check that this machine runs a backend (and a config): one line a check")
    sp.add_argument("--configfile", help="config file (default: the defaults)")
    sp.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a config key")
    sp.add_argument("--backend", help="load the model through this backend (default: the model sheet's)")
    sp.add_argument("--model", help="the model sheet row to load (default: the config's model)")
    sp.add_argument("--tokens", type=int, default=32, help="greedy tokens per prompt (default 32)")
    sp.add_argument("--prompts", type=int, default=8, help="how many of the fixed prompts (1-8, default 8)")
    sp.add_argument("--agreement", action=argparse.BooleanOptionalAction, default=None,
                    help="compare the greedy tokens with transformers on the same checkpoint (fp32; default: for vllm)")
    sp.add_argument("--json", action="store_true", help="one JSON line instead of text")
    return p



def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    from .config import ConfigError
    from .model import ModelError
    from .records import RecordError
    from .sandbox import SandboxUnavailable
    from .seeds import SeedError
    from .evaluate.samples import SamplesError

    known = (ConfigError, RecordError, ModelError, SandboxUnavailable, SeedError, SamplesError, FileNotFoundError)
    try:
        from .train import TrainError
        known += (TrainError,)
    except ImportError:  # pragma: no cover
        pass
    try:
        args.fn(args)
    except known as e:
        print(f"selfalign: error: {e}", file=sys.stderr)
        sys.exit(2)
    except OSError as e:
        if e.errno == 28:  # ENOSPC: the work file keeps what was done; re-run after freeing space
            print(f"selfalign: error: disk full while writing ({e}); completed records are kept, "
                  f"free space and re-run to resume", file=sys.stderr)
            sys.exit(2)
        raise


if __name__ == "__main__":
    main()
