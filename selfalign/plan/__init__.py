"""The plan of a run's jobs: which GPUs each takes and how much memory and disk it needs.

arch.py (a model's architecture numbers, config/model_configs.json), memory.py (peak memory of a
training process and a vLLM worker), jobs.py (the per-job plan, the knobs when a job does not
fit), cli.py (``python -m selfalign plan``)."""
from .arch import Arch, ArchError, arch_for
from .jobs import Cluster, JobPlan, job_plan, run_plan, train_plan

__all__ = ["Arch", "ArchError", "Cluster", "JobPlan", "arch_for", "job_plan", "run_plan", "train_plan"]
