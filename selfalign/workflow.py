"""Helpers the Snakefile uses (kept here, where tests reach them, not in a common.smk)."""
from __future__ import annotations

from pathlib import Path

from . import config as C


class Workflow:
    def __init__(self, raw_config: dict, config_dir: str = ".snakemake/selfalign/config"):
        try:
            self.cfg = C.resolve(raw_config)
            self.experiments = C.experiment_configs(self.cfg)
        except C.ConfigError as e:
            raise SystemExit(f"selfalign: config error: {e}") from None
        self.config_dir = config_dir
        self.results = self.cfg["results_dir"]
        self.model = self.cfg["model"]
        self.main = self.cfg["experiment"]
        self._specs: dict = {}

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
        files = {"seeds": "seeds.jsonl", "concepts": "concepts.jsonl", "instructions": "instructions.jsonl",
                 "responses": "responses.jsonl", "execute": "executions.jsonl"}
        return f"{self.results}/{self.source(experiment, stage)}/{model}/{name or files[stage]}"

    def stage_config(self, experiment: str, stage: str) -> str:
        cfg = self.experiments[experiment]
        if stage in C.DATA_STAGES:
            cfg = C.data_config(cfg)
        return str(C.stage_config_path(cfg, stage, self.config_dir))

    def generator(self, experiment: str) -> str:
        return C.generator(self.exp(experiment))

    def shards(self, experiment: str, kind: str) -> int:
        return int(self.exp(experiment)["shards"][kind])

    def shard_parts(self, experiment: str, model: str, stage: str) -> list[str]:
        """The shard outputs a sharded stage gathers ([] when the stage is not sharded)."""
        n = self.shards(experiment, "execute" if stage == "executions" else "generate")
        if n == 1:
            return []
        return [f"{self.results}/{experiment}/{model}/shards/{stage}.{k}-of-{n}.jsonl" for k in range(n)]

    def exp(self, experiment: str) -> dict:
        return self.experiments[experiment]

    def gpus(self, experiment: str, stage: str) -> int:
        """GPUs a job needs, for cluster executors: vLLM generation takes the model's tensor-parallel
        GPUs; training takes train.gpus or those, unless it is LoRA on a GGUF model (the CPU
        default; launch.train_gpus)."""
        from .model import get_spec

        cfg = self.exp(experiment)
        if stage in ("seeds", "generate"):          # the rules' names for the data stages
            cfg = C.data_config(cfg)
        key = (cfg["models_sheet"], cfg["model"])
        if key not in self._specs:                   # the sheet is read once, not once per job
            self._specs[key] = get_spec(cfg)
        spec = self._specs[key]
        if stage == "train":
            from .train.launch import train_gpus
            return train_gpus(cfg, spec)
        return spec.gpus if spec.backend == "vllm" else 0

    def scorer_sources(self) -> list[str]:
        """The code that decides a verdict: a change to it re-scores samples without regenerating them."""
        root = repo_path("selfalign")
        files = sorted((root / "evaluate").glob("*.py")) + sorted((root / "sandbox").glob("*.py"))
        return [str(f) for f in files if f.name != "reaper.py"]   # the reaper decides no verdict

    def train_launch(self, experiment: str, python: str) -> str:
        """The words that start `selfalign` for the experiment's training job (launch.plan)."""
        from .train.launch import plan
        from .model import get_spec

        cfg = self.exp(experiment)
        try:
            return plan(cfg, get_spec(cfg)).command(python)
        except C.ConfigError as e:
            raise SystemExit(f"selfalign: config error: {e}") from None

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
        """The evaluation targets: each benchmark, and with ``evaluate.extra_styles`` each again
        with the variant's other prompt style (``humaneval@completion`` for an SFT model)."""
        e = self.exp(experiment or self.main)["evaluate"]
        out = list(e["benchmarks"])
        if e["extra_styles"]:
            own = e["sft_prompt"] if variant == "sft" else e["base_prompt"]
            other = "completion" if own == "instruct" else "instruct"
            out += [f"{b}@{other}" for b in e["benchmarks"]]
        return out

    def paper_inputs(self) -> dict[str, list[str]]:
        r, m = self.results, self.model
        funnels, evals = [], []
        for e in self.experiments:
            funnels.append(f"{r}/{e}/{self.generator(e)}/funnel.json")
            evals += [f"{r}/{e}/{m}/eval/sft/{b}.json" for b in self.benchmarks(e)]
        evals += [f"{r}/_base/{m}/eval/{b}.json" for b in self.benchmarks(variant="base")]
        return {"funnels": funnels, "evals": sorted(set(evals)),
                "card": [f"{r}/{e}/{self.generator(e)}/dataset/README.md" for e in self.experiments]}


PAPER_TABLES = ["main", "distillation", "ablation_exec_filter", "ablation_seed", "ablation_samples", "self_vs_teacher", "data",
                "cpu_models", "sc2_instruct", "cpu_replication"]
PAPER_FIGURES = ["funnel", "pass_rate", "scale", "ablation_exec_filter", "cpu_models", "cpu_replication"]


def repo_path(*parts: str) -> Path:
    return C.REPO_ROOT.joinpath(*parts)
