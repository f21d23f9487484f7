"""How the train rule starts `selfalign train`: a plain process on the CPU path, `accelerate launch`
with one process per GPU otherwise (the official recipe: `accelerate launch -m star_align.train`,
README.md:288 of bigcode-project/selfcodealign).

The entry point is the same either way; the Trainer reads the launcher's RANK/WORLD_SIZE. The
accelerate configs live in config/accelerate/: one GPU, DDP, FSDP full-shard, and FSDP with CPU
offload. How many processes, which strategy and whether activations are checkpointed is the plan's
choice (selfalign/plan/jobs.py ``train_plan``), the same plan the rule's resources come from.
"""
from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path

from ..config import REPO_ROOT, ConfigError

ACCELERATE_DIR = REPO_ROOT / "config" / "accelerate"


@dataclass(frozen=True)
class TrainLaunch:
    processes: int          # one per GPU; 0 = a plain process (CPU)
    strategy: str           # cpu | single | ddp | fsdp
    offload: bool = False
    checkpointing: bool = False

    @classmethod
    def of(cls, job) -> "TrainLaunch":
        """The launch of a planned training job (a :class:`selfalign.plan.JobPlan`)."""
        return cls(job.gpus, job.strategy if job.gpus else "cpu", job.offload, job.checkpointing)

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

    def train_command(self, python: str) -> str:
        """`selfalign train` as planned (its --config, --sft, --out follow)."""
        return self.command(python) + " train" + (" --activation-checkpointing" if self.checkpointing else "")


def train_gpus(cfg: dict, spec) -> int:
    """GPUs (= processes) of a training job, as planned: none for LoRA on a GGUF model (the CPU
    default), else the first count from train.gpus or the sheet's gpus column that fits."""
    return plan(cfg, spec).processes


def plan(cfg: dict, spec) -> TrainLaunch:
    """The launch of ``cfg``'s training; a training that cannot fit the cluster is a ConfigError."""
    from ..plan import train_plan

    job = train_plan(cfg, spec)
    if not job.fits:
        raise ConfigError(f"the training of {spec.name} does not fit: {job.reason}")
    return TrainLaunch.of(job)
