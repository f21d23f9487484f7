"""The plan: per job of a run (generation, training, evaluation, per model) its GPUs, tensor
parallel, training strategy, estimated peak GPU memory, host memory, disk, and whether it fits the
cluster's nodes (config ``cluster:``). The train launch (selfalign/train/launch.py) and the rules'
resources (selfalign/workflow.py ``resources``) read these same objects, so what is planned runs."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from .. import config as C
from .arch import arch_for
from .memory import GIB, Estimate, train_host_memory, train_memory, vllm_memory

FSDP_MIN_SIZE_B = 15.0     # auto strategy: FSDP from 15B on several GPUs (below: DDP when it fits)
HOST_MARGIN = 1.25         # SLURM kills at --mem: ask for the estimate plus a quarter
# Host memory of the jobs the plan does not estimate (llama.cpp, an openai server's client): what
# the rules asked for before the plan; also the floor of every estimate.
CPU_JOB_MB = {"generate": 3000, "seeds": 4000, "evaluate": 4000, "train": 8000}


@dataclass(frozen=True)
class Cluster:
    gpu_mem_gb: float
    gpus_per_node: int
    usable: float
    cpus_per_gpu: int
    host_mem_gb: float | None
    runtime_min: dict

    @classmethod
    def from_cfg(cls, cfg: dict, gpu_mem_gb: float | None = None, gpus_per_node: int | None = None) -> "Cluster":
        c = cfg["cluster"]
        return cls(float(gpu_mem_gb or c["gpu_mem_gb"]), int(gpus_per_node or c["gpus_per_node"]), c["gpu_mem_usable"],
                   c["cpus_per_gpu"], c["host_mem_gb"], dict(c["runtime_min"]))

    @property
    def budget(self) -> float:
        return self.usable * self.gpu_mem_gb * GIB


@dataclass(frozen=True)
class JobPlan:
    job: str                    # generate | train | evaluate
    model: str
    gpus: int                   # 0 = CPU
    tp: int = 0                 # vLLM tensor parallel
    strategy: str = "cpu"       # vllm | llamacpp | openai | cpu | single | ddp | fsdp
    checkpointing: bool = False
    offload: bool = False
    gpu_gib: float = 0.0        # per GPU
    host_gib: float = 0.0       # the whole job
    disk_gib: float = 0.0
    fits: bool = True
    detail: str = ""
    reason: str = ""
    runtime_min: int = 0
    cpus: int = 0               # cpus_per_task for a GPU job (0: the rule's threads)
    extra: dict = field(default_factory=dict)

    @property
    def mem_mb(self) -> int:
        """The job's SLURM --mem: the host estimate with a margin, never below the CPU default's."""
        if self.strategy in ("llamacpp", "openai"):
            return CPU_JOB_MB[self.job]
        return max(CPU_JOB_MB.get(self.job, 2000), math.ceil(self.host_gib * 1024 * HOST_MARGIN))


def _strategies(t: dict, spec, n: int) -> list[str]:
    if n == 1 and t["distributed"] != "fsdp":
        return ["single"]
    if t["distributed"] != "auto":
        return [t["distributed"]]
    return ["fsdp"] if spec.size_b >= FSDP_MIN_SIZE_B else ["ddp", "fsdp"]


def _train_estimate(arch, t: dict, strategy: str, n: int, ckpt: bool, offload: bool, device: str = "cuda") -> Estimate:
    return train_memory(arch, strategy=strategy, processes=n, precision="fp32" if t["precision"] == "fp32" else "bf16",
                        method=t["method"], seq=t["max_length"], batch=t["batch_size"], checkpointing=ckpt,
                        offload=offload, optimizer=t["optimizer"], device=device)


def _train_disk(arch, strategy: str, method: str) -> tuple[float, float]:
    """(peak while training, what stays): two checkpoints (save_total_limit 2) and the final model.
    FSDP checkpoints hold the fp32 shards and the unfactored optimizer state; the final model is
    saved from the fp32 flat parameters. One process saves bf16 weights and a factored state."""
    P = arch.params()
    if method == "lora":
        return 0.5 * GIB, 0.5 * GIB
    ckpt, final = (8.0 * P, 4.0 * P) if strategy == "fsdp" else (2.0 * P, 2.0 * P)
    return 2 * ckpt + final, final


def train_plan(cfg: dict, spec, cluster: Cluster | None = None) -> JobPlan:
    """How the train job of ``cfg`` runs: processes (GPUs), strategy, activation checkpointing,
    offload, chosen as the first that fits (train.gpus 0: from the sheet's gpus column up to the
    node's GPUs, counts that divide the effective batch), or refused with the reason."""
    cluster = cluster or Cluster.from_cfg(cfg)
    t, arch = cfg["train"], arch_for(spec)
    if spec.is_gguf and t["method"] == "lora":      # the CPU path: one plain process
        if t["cpu_offload"]:
            raise C.ConfigError("train.cpu_offload is for FSDP on GPUs; this model trains on the CPU path")
        est = _train_estimate(arch, t, "cpu", 1, t["activation_checkpointing"] is True, False, device="cpu")
        return JobPlan("train", spec.name, 0, strategy="cpu", host_gib=est.gib(), detail=est.describe(),
                       disk_gib=0.5, runtime_min=cluster.runtime_min["train"],
                       checkpointing=t["activation_checkpointing"] is True)
    per_step = t["batch_size"]
    if t["gpus"]:
        if t["effective_batch_size"] % (per_step * t["gpus"]):
            raise C.ConfigError(f"train.effective_batch_size={t['effective_batch_size']} is not a multiple of "
                                f"train.batch_size={per_step} x train.gpus={t['gpus']}: change one of them")
        counts = [t["gpus"]]
    else:
        start = min(max(1, spec.gpus), cluster.gpus_per_node)     # the sheet's count, within one node
        counts = [n for n in range(start, cluster.gpus_per_node + 1) if t["effective_batch_size"] % (per_step * n) == 0]
    if not counts:
        return JobPlan("train", spec.name, 0, fits=False, reason=(
            f"no GPU count from {start} to the node's {cluster.gpus_per_node} divides train.effective_batch_size="
            f"{t['effective_batch_size']} by train.batch_size={per_step}: set train.gpus"))
    ac = t["activation_checkpointing"]
    ckpts = [False, True] if ac == "auto" else [bool(ac)]
    tried = []
    for n in counts:
        for strategy in _strategies(t, spec, n):
            if t["cpu_offload"] and strategy != "fsdp":
                raise C.ConfigError(f"train.cpu_offload needs FSDP: set train.distributed: fsdp ({spec.name} is "
                                    f"{spec.size_b}B on {n} GPU(s); auto picks FSDP from {FSDP_MIN_SIZE_B:g}B on 2 or more)")
            for ck in ckpts:
                est = _train_estimate(arch, t, strategy, n, ck, t["cpu_offload"])
                tried.append((n, strategy, ck, est))
                if est.peak <= cluster.budget:
                    return _train_job(cfg, spec, arch, cluster, n, strategy, ck, est)
    n, strategy, ck, est = tried[-1]
    job = _train_job(cfg, spec, arch, cluster, n, strategy, ck, est)
    return JobPlan(**{**job.__dict__, "fits": False, "reason": _train_knobs(cfg, spec, arch, cluster, n, strategy, ck, est)})


def _train_job(cfg, spec, arch, cluster, n, strategy, ck, est) -> JobPlan:
    t = cfg["train"]
    host = train_host_memory(arch, strategy=strategy, processes=n, offload=t["cpu_offload"])
    peak_disk, _ = _train_disk(arch, strategy, t["method"])
    fits_host = cluster.host_mem_gb is None or host.gib() <= cluster.host_mem_gb
    return JobPlan("train", spec.name, n, strategy=strategy, checkpointing=ck, offload=t["cpu_offload"],
                   gpu_gib=est.gib(), host_gib=host.gib(), disk_gib=peak_disk / GIB, detail=est.describe(),
                   fits=fits_host, reason="" if fits_host else
                   f"host RAM: needs {host.gib():.0f} GiB ({host.describe()}), the node has {cluster.host_mem_gb:g} (cluster.host_mem_gb)",
                   runtime_min=cluster.runtime_min["train"], cpus=n * cluster.cpus_per_gpu,
                   extra={"host_detail": host.describe()})


def _train_knobs(cfg, spec, arch, cluster, n, strategy, ck, est) -> str:
    t = cfg["train"]
    why = (f"needs {est.gib():.1f} GiB per GPU on {n} GPU(s) ({strategy}"
           f"{', activation checkpointing' if ck else ''}{', CPU offload' if t['cpu_offload'] else ''}), over the "
           f"{cluster.budget / GIB:.1f} GiB usable of {cluster.gpu_mem_gb:g} GiB (cluster.gpu_mem_usable)")
    knobs = []
    need = next((m for m in (2, 4, 8, 16, 32, 64) if m > n and t["effective_batch_size"] % (t["batch_size"] * m) == 0
                 and _train_estimate(arch, t, "fsdp", m, True, t["cpu_offload"]).peak <= cluster.budget), None)
    if need:
        where = "train.gpus" if need <= cluster.gpus_per_node else \
            f"a node with {need} GPUs (cluster.gpus_per_node; this launch does not span nodes)"
        knobs.append(f"more GPUs: FSDP over {need} fits ({where})")
    if not ck:
        knobs.append("activation checkpointing (train.activation_checkpointing: true)")
    if not t["cpu_offload"]:
        off = _train_estimate(arch, t, "fsdp", n, True, True)
        host = train_host_memory(arch, strategy="fsdp", processes=n, offload=True)
        if off.peak <= cluster.budget:
            knobs.append(f"CPU offload (train.cpu_offload: true, train.distributed: fsdp): {off.gib():.1f} GiB per GPU, "
                         f"{host.gib():.0f} GiB host RAM")
    return why + "; " + ("knobs: " + "; ".join(knobs) if knobs else "no knob of this plan makes it fit")


def vllm_plan(cfg: dict, spec, job: str, cluster: Cluster | None = None) -> JobPlan:
    """A generation or evaluation job on vLLM: tensor parallel = the sheet's gpus column, context
    min(backend.n_ctx, the sheet's), backend.gpu_memory_utilization of each GPU."""
    cluster = cluster or Cluster.from_cfg(cfg)
    from ..backends.vllm import DEVICE_DEFAULTS

    arch, b = arch_for(spec), dict(cfg["backend"])
    if b["gpu_memory_utilization"] is None:    # null: vLLM's GPU default (the plan is for GPUs)
        b["gpu_memory_utilization"] = DEVICE_DEFAULTS["cuda"]["gpu_memory_utilization"]
    tp, context = max(1, spec.gpus), min(b["n_ctx"], spec.context)
    m = vllm_memory(arch, tp=tp, context=context, gpu_mem=cluster.gpu_mem_gb * GIB, utilization=b["gpu_memory_utilization"])
    detail = " + ".join(f"{k} {m[k] / GIB:.1f}" for k in ("weights", "workspace", "cuda graphs", "runtime", "kv (one sequence)"))
    reason = ""
    if tp > cluster.gpus_per_node:
        reason = f"tensor parallel {tp} (the sheet's gpus column) needs {tp} GPUs in one node; it has {cluster.gpus_per_node}"
        alt = max((t for t in (1, 2, 4, 8) if t <= cluster.gpus_per_node and not arch.heads % t), default=1)
        am = vllm_memory(arch, tp=alt, context=context, gpu_mem=cluster.gpu_mem_gb * GIB,
                         utilization=b["gpu_memory_utilization"])
        reason += (f"; with tensor parallel {alt} it would need {am['peak'] / GIB:.1f} of "
                   f"{am['budget'] / GIB:.1f} GiB per GPU ({'fits' if am['peak'] <= am['budget'] else 'does not fit'})")
    elif arch.heads % tp or (tp > arch.kv_heads and tp % arch.kv_heads):
        reason = f"tensor parallel {tp} does not divide {arch.heads} attention / {arch.kv_heads} KV heads"
    elif m["peak"] > m["budget"]:
        reason = (f"needs {m['peak'] / GIB:.1f} GiB per GPU, over backend.gpu_memory_utilization "
                  f"{b['gpu_memory_utilization']} x {cluster.gpu_mem_gb:g} GiB; knobs: more tensor parallel (the sheet's "
                  f"gpus column), a shorter context (backend.n_ctx {b['n_ctx']}), a higher gpu_memory_utilization")
    host = tp * 6.0 + 4.0
    return JobPlan(job, spec.name, tp, tp=tp, strategy="vllm", gpu_gib=m["peak"] / GIB, host_gib=host,
                   disk_gib=arch.hub_bytes / GIB if job == "generate" else 0.0, fits=not reason, reason=reason,
                   detail=detail, runtime_min=cluster.runtime_min[_kind(job)], cpus=tp * cluster.cpus_per_gpu,
                   extra={"kv_tokens": int(m["kv_tokens"]), "context": context,
                          "concurrent_sequences": int(m["kv_tokens"] // context)})


def job_plan(cfg: dict, spec, job: str, cluster: Cluster | None = None) -> JobPlan:
    """The plan of one job kind (seeds, generate, evaluate, train) for ``spec`` under ``cfg``."""
    cluster = cluster or Cluster.from_cfg(cfg)
    if job == "train":
        return train_plan(cfg, spec, cluster)
    from ..backends import backend_name
    name = backend_name(cfg, spec)
    if name == "vllm":
        return vllm_plan(cfg, spec, job, cluster)
    return JobPlan(job, spec.name, 0, strategy=name, runtime_min=cluster.runtime_min[_kind(job)])


def _kind(job: str) -> str:
    return "generate" if job == "seeds" else job


def run_plan(cfg: dict, cluster: Cluster, models: list[str] | None = None) -> list[JobPlan]:
    """Every job kind of a run, per model: each generator's generation (the trained model's own
    data and every teacher's), and the training and evaluation of each trained model (the
    config's ``model``, or each of ``models``)."""
    from ..model import get_spec

    out, seen = [], set()
    # the generators: the trained model itself and each ablation's teacher (read from the
    # ablations as written: resolving every experiment would only repeat the same backend settings)
    teachers = [over["teacher"] for over in cfg["ablations"].values() if over.get("teacher")]
    for trained in models or [cfg["model"]]:
        base = {**cfg, "model": trained}
        for gen in [trained] + teachers:
            if ("generate", gen) not in seen:
                seen.add(("generate", gen))
                out.append(job_plan({**cfg, "model": gen}, get_spec(cfg, gen), "generate", cluster))
        spec = get_spec(base, trained)
        out.append(job_plan(base, spec, "train", cluster))
        out.append(job_plan(base, spec, "evaluate", cluster))
    return out


def run_disk(cfg: dict, plans: list[JobPlan]) -> dict:
    """Disk of the run: each model's hub download, and per trained model its final models (one
    per experiment) plus, while one trains, its checkpoints (all of them with train.keep_checkpoints)."""
    from ..model import get_spec

    hub = sum(p.disk_gib for p in plans if p.job == "generate")
    trains = [p for p in plans if p.job == "train"]
    total = hub
    for p in trains:
        arch = arch_for(get_spec(cfg, p.model))
        peak, final = (x / GIB for x in _train_disk(arch, p.strategy, cfg["train"]["method"]))
        n_exp = 1 + len(cfg["ablations"])                  # each experiment trains its own copy
        kept = n_exp * (peak - final) if cfg["train"]["keep_checkpoints"] else (peak - final)
        total += n_exp * final + kept
    return {"hub_gib": hub, "total_gib": total}
