"""What the tables and figures read: the files under results/ (funnels, evaluations, executions,
train manifests) and the paper's published figures (selfalign/data/paper_results.csv), and the
lookups every table shares."""
from __future__ import annotations

import csv
import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

REFERENCE = Path(__file__).parent.parent / "data" / "paper_results.csv"
BENCH_LABEL = {"humaneval": "HumanEval", "humaneval_plus": "HumanEval+", "mbpp_plus": "MBPP+",
               "livecodebench": "LiveCodeBench", "evalperf": "EvalPerf", "classeval": "ClassEval",
               "ds1000": "DS-1000", "canitedit": "CanItEdit"}


def load_reference(path: Path = REFERENCE) -> list[dict]:
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    for r in rows:
        r["value"] = float(r["value"])
    return rows


@dataclass
class Results:
    """Everything the paper stage reads, gathered from results_dir."""
    funnels: dict           # (experiment, model) -> steps
    evals: dict             # (experiment, model, variant, benchmark) -> result json ("_base" experiment for base)
    executions: dict        # (experiment, model) -> {(category, difficulty): [passed, total]}
    manifests: dict         # (experiment, model) -> train manifest


def gather(results_dir: str | Path, experiments: list[str]) -> Results:
    root = Path(results_dir)
    funnels, evals, execs, manifests = {}, {}, {}, {}
    for exp_dir in sorted(p for p in root.iterdir() if p.is_dir()) if root.exists() else []:
        exp = exp_dir.name
        if exp not in experiments and exp != "_base":
            continue
        for model_dir in sorted(p for p in exp_dir.iterdir() if p.is_dir()):
            model = model_dir.name
            if (model_dir / "funnel.json").exists():
                funnels[(exp, model)] = json.loads((model_dir / "funnel.json").read_text())["steps"]
            for f in sorted((model_dir / "eval").rglob("*.json")) if (model_dir / "eval").exists() else []:
                if f.name.endswith(".samples.json"):   # how samples were made, not a result
                    continue
                variant = "base" if exp == "_base" else f.parent.name
                evals[(exp, model, variant, f.stem)] = json.loads(f.read_text())
            if (model_dir / "sft_model" / "train_manifest.json").exists():
                manifests[(exp, model)] = json.loads((model_dir / "sft_model" / "train_manifest.json").read_text())
            ex, ins = model_dir / "executions.jsonl", model_dir / "instructions.jsonl"
            if ex.exists() and ins.exists():
                execs[(exp, model)] = pass_rates(ins, ex)
    return Results(funnels, evals, execs, manifests)


def pass_rates(instructions: Path, executions: Path) -> dict:
    from ..records import iter_jsonl
    props = {r["id"]: (r["category"], r["difficulty"]) for r in iter_jsonl(instructions)}
    out: dict = defaultdict(lambda: [0, 0])
    for r in iter_jsonl(executions):
        key = props.get(r["instruction_id"])
        if key:
            out[key][0] += r["verdict"] == "pass"
            out[key][1] += 1
    return dict(out)


def score(evals: dict, exp: str, model: str, variant: str, bench: str, suite: str | None = None) -> float | None:
    r = evals.get(("_base" if variant == "base" else exp, model, variant, bench))
    if not r or "summary" not in r:
        return None
    s = r["summary"]
    suite = suite or ("plus" if "plus" in s else "base")
    return (s.get(suite) or {}).get("pass@1")


@dataclass(frozen=True)
class Measured:
    """Our figure with its standard error, and whether the paper's figure of the same row lies
    within two standard errors of it (None: no paper figure or no SE)."""
    value: float
    se: float | None = None
    within: bool | None = None

    def __str__(self) -> str:
        text = f"{self.value:.1f}" + (f" ± {self.se:.1f}" if self.se is not None else "")
        return text + (" ≈" if self.within else "")


def measured(evals: dict, exp: str, model: str, variant: str, bench: str, path: tuple = (),
             paper: float | None = None) -> Measured | None:
    """The pass@1 (and SE) at ``path`` in a result's summary (default: plus if present, else the
    first metric), marked against ``paper``."""
    from ..evaluate.metrics import within
    r = evals.get(("_base" if variant == "base" else exp, model, variant, bench))
    if not r or "summary" not in r:
        return None
    node = r["summary"]
    for key in path or (("plus",) if "plus" in node else ("base",) if "base" in node else ("class",)):
        node = (node or {}).get(key)
    if not isinstance(node, dict):
        return None
    value = node.get("pass@1", node.get("dps"))
    if value is None:
        return None
    se = node.get("pass@1_se")
    return Measured(value, se, within(value, se, paper))


def num(v) -> float | None:
    """A table cell's number (a Measured's value)."""
    return v.value if isinstance(v, Measured) else v


def skip_reason(evals: dict, exp: str, model: str, variant: str, bench: str) -> str | None:
    r = evals.get(("_base" if variant == "base" else exp, model, variant, bench))
    return r.get("skipped") if r else None


def ref_value(ref: list[dict], table: str, method: str | None = None, benchmark: str | None = None,
              metric: str | None = None, model: str | None = None) -> float | None:
    for r in ref:
        if r["table"] == table and (method is None or r["method"] == method) and \
                (benchmark is None or r["benchmark"] == benchmark) and (metric is None or r["metric"] == metric) and \
                (model is None or r["model"] == model):
            return r["value"]
    return None


def funnel_value(steps: list[dict], stage: str, step: str) -> int | None:
    for s in steps:
        if s["stage"] == stage and s["step"] == step:
            return s["kept"]
    return None


def last_kept(steps: list[dict], stage: str) -> int | None:
    kept = [s["kept"] for s in steps if s["stage"] == stage]
    return kept[-1] if kept else None


def funnel_dropped(steps: list[dict], stage: str, step: str) -> int | None:
    for s in steps:
        if s["stage"] == stage and s["step"] == step:
            return s["dropped"]
    return None
