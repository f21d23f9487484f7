"""How the train rule starts `selfalign train`: a plain process on the CPU path, `accelerate launch`
with one process per GPU otherwise (the official recipe: `accelerate launch -m star_align.train`,
README.md:288 of bigcode-project/selfcodealign).

The entry point is the same either way; the Trainer reads the launcher's RANK/WORLD_SIZE. The
accelerate configs live in config/accelerate/: one GPU, DDP, FSDP full-shard (models >= 15B), and
FSDP with CPU offload.
"""
from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path

from ..config import REPO_ROOT, ConfigError

ACCELERATE_DIR = REPO_ROOT / "config" / "accelerate"
FSDP_MIN_SIZE_B = 15.0     # full weights + gradients + optimizer state stop fitting one 80 GB GPU


def train_gpus(cfg: dict, spec) -> int:
    """GPUs (= processes) of a training job: none for LoRA on a GGUF model (the CPU default),
    else train.gpus or the sheet's gpus column, at least 1."""
    t = cfg["train"]
    if spec.is_gguf and t["method"] == "lora":
        return 0
    return t["gpus"] or max(1, spec.gpus)


@dataclass(frozen=True)
class TrainLaunch:
    processes: int          # one per GPU; 0 = a plain process (CPU)
    strategy: str           # cpu | single | ddp | fsdp
    offload: bool = False

    @property
    def accelerate_config(self) -> Path | None:
        name = {"cpu": None, "single": "single_gpu", "ddp": "multi_gpu",
                "fsdp": "fsdp_offload" if self.offload else "fsdp"}[self.strategy]
        return ACCELERATE_DIR / f"{name}.yaml" if name else None

    def command(self, python: str) -> str:
        """Shell words that run `selfalign` (its subcommand and arguments follow)."""
        if self.strategy == "cpu":
            return f"{python} -m selfalign"
        return (f"{python} -m accelerate.commands.launch --config_file {shlex.quote(str(self.accelerate_config))} "
                f"--num_processes {self.processes} -m selfalign")


def plan(cfg: dict, spec) -> TrainLaunch:
    t = cfg["train"]
    n = train_gpus(cfg, spec)
    if n == 0:
        if t["cpu_offload"]:
            raise ConfigError("train.cpu_offload is for FSDP on GPUs; this model trains on the CPU path")
        return TrainLaunch(0, "cpu")
    strategy = t["distributed"]
    if strategy == "auto":
        strategy = "fsdp" if spec.size_b >= FSDP_MIN_SIZE_B and n > 1 else "ddp"
    if t["cpu_offload"] and strategy != "fsdp":
        raise ConfigError(f"train.cpu_offload needs FSDP: set train.distributed: fsdp ({spec.name} is {spec.size_b}B "
                          f"on {n} GPU(s); auto picks FSDP from {FSDP_MIN_SIZE_B:g}B on 2 or more)")
    if strategy == "ddp" and n == 1:
        strategy = "single"
    return TrainLaunch(n, strategy, offload=t["cpu_offload"])
