"""``python -m selfalign plan``: the plan of a config's jobs as a table, exit 1 when one does not fit."""
from __future__ import annotations

import json
import sys

from .. import config as C
from .jobs import Cluster, run_disk, run_plan

HEADER = ("| job | model | GPUs | TP | strategy | act. ckpt | GPU GiB (per GPU) | host GiB | disk GiB | fits |\n"
          "|---|---|---|---|---|---|---|---|---|---|")


def load_configs(paths: list[str]) -> dict:
    """Config files merged in order over the defaults, as Snakemake merges --configfile."""
    raw: dict = {}
    for p in paths:
        raw = C.deep_merge(raw, C.read_yaml(p))
    return C.resolve(raw)


def table(plans, cluster: Cluster) -> str:
    rows = [HEADER]
    for p in plans:
        budget = cluster.budget / (1 << 30) if p.strategy != "vllm" else None
        gpu = "-" if not p.gpus else (f"{p.gpu_gib:.1f} of {budget:.0f}" if budget else
                                      f"{p.gpu_gib:.1f} (+KV to {p.extra.get('concurrent_sequences', 0)} seqs)")
        rows.append(f"| {p.job} | {p.model} | {p.gpus or 'CPU'} | {p.tp or '-'} | {p.strategy} | "
                    f"{'yes' if p.checkpointing else 'no'} | {gpu} | {p.host_gib:.0f} | {p.disk_gib:.0f} | "
                    f"{'yes' if p.fits else '**no**'} |")
    return "\n".join(rows)


def cmd_plan(a) -> None:
    cfg = load_configs(a.configfile)
    cluster = Cluster.from_cfg(cfg, a.gpu_mem_gb, a.gpus_per_node)
    models = None
    if a.models:
        from ..model import read_sheet
        sheet = read_sheet(cfg["models_sheet"])
        models = [m for m, s in sheet.items() if s.backend == "vllm"] if a.models == "all" else a.models.split(",")
        unknown = [m for m in models if m not in sheet]
        if unknown:
            raise C.ConfigError(f"--models: {', '.join(unknown)} not in {cfg['models_sheet']}")
    plans = run_plan(cfg, cluster, models)
    disk = run_disk(cfg, plans)
    bad = [p for p in plans if not p.fits]
    if a.json:
        print(json.dumps({"cluster": cluster.__dict__, "jobs": [{**p.__dict__, "mem_mb": p.mem_mb} for p in plans],
                          "disk": disk, "fits": not bad}, indent=1))
    else:
        print(f"plan for {', '.join(a.configfile)} on nodes of {cluster.gpus_per_node} x {cluster.gpu_mem_gb:g} GiB GPUs "
              f"({cluster.usable:g} of each usable for training; vLLM takes backend.gpu_memory_utilization)")
        print(table(plans, cluster))
        for p in plans:
            if p.detail:
                print(f"- {p.job} {p.model}: {p.detail} GiB" + (f"; host: {p.extra['host_detail']} GiB"
                                                                if "host_detail" in p.extra else ""))
        print(f"disk: hub downloads {disk['hub_gib']:.0f} GiB; the run in all {disk['total_gib']:.0f} GiB "
              f"(every experiment's final model{', every checkpoint kept' if cfg['train']['keep_checkpoints'] else ''})")
        for p in bad:
            print(f"DOES NOT FIT: {p.job} {p.model}: {p.reason}")
    sys.exit(1 if bad else 0)


def add_parser(sub) -> None:
    sp = sub.add_parser("plan", help="per job: GPUs, memory, disk, and whether it fits the cluster (exit 1 if not)",
                        description="Estimate every job of a config (generation, training, evaluation, per model): "
                                    "GPUs, tensor parallel, peak GPU memory, host memory, disk. The train launch and "
                                    "the rules' resources read the same plan.")
    sp.set_defaults(fn=cmd_plan)
    sp.add_argument("--configfile", nargs="+", default=["config/config.yaml"], help="config files, merged in order")
    sp.add_argument("--gpu-mem-gb", type=float, help="memory of one GPU in GiB (default: cluster.gpu_mem_gb)")
    sp.add_argument("--gpus-per-node", type=int, help="GPUs per node (default: cluster.gpus_per_node)")
    sp.add_argument("--models", help="plan these sheet rows as the trained model (comma-separated, or 'all' vLLM rows)")
    sp.add_argument("--json", action="store_true", help="JSON instead of the table")
