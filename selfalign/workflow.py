"""Helpers the Snakefile uses (kept here, where tests reach them, not in a common.smk).

Nothing here writes a file while Snakemake builds the DAG: paths and settings are computed, and
the files are written by jobs (the stage configs by the stage_config rule, rules/config.smk)."""
from __future__ import annotations

import re
from pathlib import Path

from . import config as C

# the records file of each data stage (a stage's shards are shards/<its stem>.<k>-of-<n>.jsonl)
FILES = {"seeds": "seeds.jsonl", "concepts": "concepts.jsonl", "instructions": "instructions.jsonl",
         "responses": "responses.jsonl", "execute": "executions.jsonl"}
GENERATION = ("concepts", "instructions", "responses")

# What a rule's {model} wildcard is: "data", the model that generated the experiment's data (its
# teacher, when set), whose directory holds the data stages' records; "trained", the trained
# model (sft_model, its evaluations); "any", any model, whose config the job then runs with (the
# base model's evaluations under _base/{model}).
WILDCARD_MODELS = ("data", "trained", "any")


class Workflow:
    def __init__(self, raw_config: dict):
        try:
            self.cfg = C.resolve(raw_config)
            self.experiments = C.experiment_configs(self.cfg)
        except C.ConfigError as e:
            raise SystemExit(f"selfalign: config error: {e}") from None
        self.results = self.cfg["results_dir"]
        self.config_dir = f"{self.results}/_config"
        self.model = self.cfg["model"]
        self.main = self.cfg["experiment"]
        self._specs: dict = {}
        self._plans: dict = {}
        self._require_data()

    def _require_data(self) -> None:
        """evaluate.require_data (config/paper.yaml): every benchmark's data file is there before
        any job runs, or the workflow is not built (the CPU default reports a missing one as skipped)."""
        from .releases import FETCH_HINT, missing_data

        missing = {m for cfg in self.experiments.values() if cfg["evaluate"]["require_data"] for m in missing_data(cfg)}
        if missing:
            names = ", ".join(f"{b} ({p or f'evaluate.data.{b} not set'})" for b, p in sorted(missing, key=str))
            raise SystemExit(f"selfalign: config error: evaluate.require_data: benchmark data missing: {names}; "
                             f"fetch it with {FETCH_HINT}")

    def exp(self, experiment: str) -> dict:
        return self.experiments[experiment]

    def source(self, experiment: str, stage: str) -> str:
        """The experiment whose ``stage`` records this experiment uses: the main experiment (or the
        first by name) with the same data key, so an ablation recomputes only what it changes."""
        key = C.data_key(self.exp(experiment), stage)
        for name in [self.main] + sorted(self.experiments):
            cfg = self.exp(name)
            if stage in C.upstream(cfg, "execute") and C.data_key(cfg, stage) == key:
                return name
        return experiment

    def data(self, experiment: str, model: str, stage: str, name: str | None = None) -> str:
        """Path of a data stage's file for ``experiment`` (possibly another experiment's, shared)."""
        return f"{self.results}/{self.source(experiment, stage)}/{model}/{name or FILES[stage]}"

    # ------------------------------------------------------------------------------ stage configs
    def model_of(self, experiment: str, wildcard: str) -> str:
        """The model a path of ``experiment`` names in its {model} ("data" or "trained")."""
        return self.generator(experiment) if wildcard == "data" else self.exp(experiment)["model"]

    def model_constraint(self, wildcard: str) -> str:
        """The {model} wildcard's constraint for a rule whose {model} is ``wildcard``: only the model
        that the path's experiment makes the file for. Any other path is none of this run's rules'
        (Snakemake: no rule to produce it), so another run's records (``seeds.file``) are inputs
        that must exist, never files this config would make again with its own settings."""
        # each experiment's name precedes its model in every path: results/<experiment>/<model>/...
        return "|".join(f"(?<=/{re.escape(e)}/){re.escape(self.model_of(e, wildcard))}" for e in self.experiments)

    def _stage_cfg(self, experiment: str, stage: str, model: str | None = None) -> dict:
        """The config ``stage`` of ``experiment`` runs with; ``model`` other than its own selects it."""
        cfg = self.exp(experiment)
        if stage in C.DATA_STAGES:
            cfg = C.data_config(cfg)
        if model and model != cfg["model"]:
            cfg = {**cfg, "model": model}
        return cfg

    def stage_config(self, experiment: str, stage: str, model: str | None = None, wildcard: str | None = None) -> str:
        """Path of the resolved config ``stage`` runs with, for a job of ``experiment`` whose path
        has ``model`` as its {model} (``wildcard`` "any": the job's model; else the rule's
        constraint made it the experiment's own). Writes nothing."""
        if wildcard is not None and wildcard not in WILDCARD_MODELS:
            raise ValueError(f"wildcard={wildcard!r}: one of {WILDCARD_MODELS}")
        cfg = self._stage_cfg(experiment, stage, model if wildcard == "any" else None)
        return str(C.stage_config_path(cfg, stage, self.config_dir))

    def stage_config_of(self, experiment: str, model: str, stage: str, key: str) -> dict:
        """What the stage_config rule writes to ``<config_dir>/experiment/model/stage-key.json``."""
        cfg = self._stage_cfg(experiment, stage, model)
        if stage not in C.STAGES or C.stage_key(cfg, stage) != key:
            raise ValueError(f"{self.config_dir}/{experiment}/{model}/{stage}-{key}.json: not a stage config of "
                             f"this run (the config changed since this name was asked for?)")
        return cfg

    # -------------------------------------------------------------------------------------- jobs
    def generator(self, experiment: str) -> str:
        return C.generator(self.exp(experiment))

    def shards(self, experiment: str, stage: str) -> int:
        """Parts the data stage ``stage`` is cut into (config ``shards.execute``, else ``shards.generate``)."""
        return int(self.exp(experiment)["shards"]["execute" if stage == "execute" else "generate"])

    def shard_parts(self, experiment: str, model: str, stage: str) -> list[str]:
        """The shard outputs a sharded stage gathers ([] when the stage is not sharded)."""
        n = self.shards(experiment, stage)
        if n == 1:
            return []
        stem = FILES[stage].removesuffix(".jsonl")
        return [f"{self.results}/{experiment}/{model}/shards/{stem}.{k}-of-{n}.jsonl" for k in range(n)]

    def gather_args(self, experiment: str, model: str, stage: str) -> str:
        """``--gather PART...`` when the stage is sharded (its rule then only joins the shards)."""
        parts = self.shard_parts(experiment, model, stage)
        return " ".join(["--gather"] + parts) if parts else ""

    def seeds_file(self, experiment: str) -> list[str]:
        """``seeds.file`` when it is a local path: an input of the seeds job (made by this run when
        one of its rules makes that path, else it must exist); a hub id is no file."""
        f = self.exp(experiment)["seeds"]["file"]
        return [f] if f and not f.startswith("hf:") else []

    def _spec(self, cfg: dict):
        from .model import get_spec

        key = (cfg["models_sheet"], cfg["model"])
        if key not in self._specs:                   # the sheet is read once, not once per job
            self._specs[key] = get_spec(cfg)
        return self._specs[key]

    def plan(self, experiment: str, stage: str):
        """The plan of a job of ``experiment`` (selfalign/plan/jobs.py): ``stage`` is a rule's
        name for it (seeds, generate, train, evaluate). A training that does not fit the cluster
        (config ``cluster:``) stops the workflow here, with the plan's reason."""
        key = (experiment, stage)
        if key not in self._plans:
            from .plan import job_plan
            cfg = self.exp(experiment)
            if stage in ("seeds", "generate"):      # the rules' names for the data stages
                cfg = C.data_config(cfg)
            try:
                p = job_plan(cfg, self._spec(cfg), stage if stage in ("seeds", "train", "evaluate") else "generate")
            except C.ConfigError as e:
                raise SystemExit(f"selfalign: config error: {e}") from None
            if not p.fits and stage == "train":
                raise SystemExit(f"selfalign: config error: the training of {p.model} does not fit: {p.reason} "
                                 f"(python -m selfalign plan shows every job)")
            self._plans[key] = p
        return self._plans[key]

    def gpus(self, experiment: str, stage: str) -> int:
        """GPUs a job needs, for cluster executors: vLLM generation takes the model's tensor-parallel
        GPUs; training the plan's processes (none for LoRA on a GGUF model, the CPU default)."""
        return self.plan(experiment, stage).gpus

    def resources(self, stage: str, experiment: str | None = None, gather: str | None = None) -> dict:
        """A model-loading rule's Snakemake resources, from the plan of its job (``experiment``:
        fixed, else the job's {experiment}): mem_mb, runtime and cpus_per_task as planned, its GPUs,
        and for SLURM (snakemake-executor-plugin-slurm 2.6.1) one task on one node that sees all of
        them: without tasks_per_gpu=0 the plugin asks --ntasks-per-gpu=1, so a gpu=4 job would run 4
        copies that see one GPU each (its issue 459); nodes=1 keeps them on one node. ``gather``:
        the rule's data stage, whose job only joins shards when it is sharded (no GPU, little memory)."""
        def plan(wc):
            return self.plan(experiment or wc.experiment, stage)

        def joins(wc):
            return gather is not None and self.shards(wc.experiment, gather) > 1
        return {"mem_mb": lambda wc: 2000 if joins(wc) else plan(wc).mem_mb, "runtime": lambda wc: plan(wc).runtime_min,
                "gpu": lambda wc: 0 if joins(wc) else plan(wc).gpus,
                "cpus_per_task": lambda wc, threads: threads if joins(wc) else (plan(wc).cpus or threads),
                "tasks_per_gpu": 0, "nodes": 1}

    def threads(self, experiment: str, stage: str, cores: int) -> int:
        """Cores a job can use: llama.cpp generation, training and the sandbox's workers take all
        of them; a job that only joins shards, copies another run's seeds or asks a server (the
        openai backend) takes one, so other jobs run beside it."""
        cfg = self.exp(experiment)
        if stage in GENERATION + ("execute",) and self.shards(experiment, stage) > 1:
            return 1                                 # the gather job (the shard jobs take all cores)
        if stage == "seeds" and cfg["seeds"]["file"]:
            return 1
        if stage in ("seeds", "generate", "evaluate") + GENERATION:
            from .backends import backend_name
            data = C.data_config(cfg) if stage != "evaluate" else cfg
            if backend_name(data, self._spec(data)) == "openai":
                return 1
        return cores

    def scorer_sources(self) -> list[str]:
        """The code that decides a verdict: a change to it re-scores samples without regenerating them."""
        root = repo_path("selfalign")
        files = sorted((root / "evaluate").glob("*.py")) + sorted((root / "sandbox").glob("*.py"))
        # the containment and the command line decide no verdict
        return [str(f) for f in files if f.name not in ("reaper.py", "cgroups.py", "cli.py")]

    def train_launch(self, experiment: str, python: str) -> str:
        """The words that start `selfalign train` for the experiment's training job, as planned
        (train.launch.TrainLaunch: processes, strategy, activation checkpointing)."""
        from .train.launch import TrainLaunch

        return TrainLaunch.of(self.plan(experiment, "train")).train_command(python)

    def model_gpus(self, model: str) -> int:
        """GPUs of a model row's generation backend (vLLM's tensor-parallel size; 0 off vLLM)."""
        from .model import read_sheet

        spec = read_sheet(self.cfg["models_sheet"])[model]
        return spec.gpus if spec.backend == "vllm" else 0

    @property
    def run_gpus(self) -> int:
        """GPUs of the run's own model (0 on a CPU run), for the jobs that load no model."""
        return self.gpus(self.main, "evaluate")

    @staticmethod
    def env(cpu_env: str, gpus: int) -> str:
        """The conda env file (relative to rules/) of a job: envs/gpu.yaml when it runs on GPUs,
        else its CPU env. Model-free jobs pass ``run_gpus``, so a GPU node builds one env."""
        return f"../envs/{'gpu' if gpus > 0 else cpu_env}.yaml"

    def benchmarks(self, experiment: str | None = None, variant: str = "sft") -> list[str]:
        """The evaluation targets: each benchmark, and with ``evaluate.extra_styles`` ("all", or
        "base" for the base variant) each again with the variant's other prompt style
        (``humaneval@completion`` for an SFT model)."""
        e = self.exp(experiment or self.main)["evaluate"]
        out = list(e["benchmarks"])
        if e["extra_styles"] == "all" or (e["extra_styles"] == "base" and variant == "base"):
            own = e["sft_prompt"] if variant == "sft" else e["base_prompt"]
            other = "completion" if own == "instruct" else "instruct"
            out += [f"{b}@{other}" for b in e["benchmarks"]]
        return out

    def teacher_evals(self) -> list[str]:
        """``evaluate.teacher_eval``: each experiment's teacher scored once, with that prompt style."""
        out = []
        for name, cfg in self.experiments.items():
            e, teacher = cfg["evaluate"], cfg.get("teacher")
            if e["teacher_eval"] == "none" or not teacher or teacher == cfg["model"]:
                continue
            suffix = "" if e["teacher_eval"] == e["base_prompt"] else f"@{e['teacher_eval']}"
            out += [f"{self.results}/_base/{teacher}/eval/{b}{suffix}.json" for b in e["benchmarks"]]
        return out

    def paper_inputs(self) -> dict[str, list[str]]:
        r, m = self.results, self.model
        funnels, evals = [], []
        for e in self.experiments:
            funnels.append(f"{r}/{e}/{self.generator(e)}/funnel.json")
            evals += [f"{r}/{e}/{m}/eval/sft/{b}.json" for b in self.benchmarks(e)]
        evals += [f"{r}/_base/{m}/eval/{b}.json" for b in self.benchmarks(variant="base")]
        evals += self.teacher_evals()
        return {"funnels": funnels, "evals": sorted(set(evals)),
                "card": [f"{r}/{e}/{self.generator(e)}/dataset/README.md" for e in self.experiments]}


def write_stage_config(smk) -> None:
    """The stage_config rule's script: ``smk`` is Snakemake's object (config, wildcards, output)."""
    wc = smk.wildcards
    cfg = Workflow(smk.config).stage_config_of(wc.experiment, wc.model, wc.stage, wc.key)
    path = C.write_stage_config(cfg, wc.stage, smk.output[0])
    for log in smk.log:
        Path(log).parent.mkdir(parents=True, exist_ok=True)
        Path(log).write_text(f"{wc.stage} config of experiment {wc.experiment}, model {wc.model}: {path}\n")


PAPER_TABLES = ["main", "distillation", "ablation_exec_filter", "ablation_seed", "ablation_samples", "self_vs_teacher", "data",
                "cpu_models", "sc2_instruct", "cpu_replication"]
PAPER_FIGURES = ["funnel", "pass_rate", "scale", "ablation_exec_filter", "cpu_models", "cpu_replication"]


def repo_path(*parts: str) -> Path:
    return C.REPO_ROOT.joinpath(*parts)
