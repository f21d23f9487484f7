"""Regenerate the paper's tables and figures from results/, beside the paper's published numbers.

Tables: Markdown (paper/*.md) and LaTeX booktabs (paper/*.tex). Figures: PNG + PDF (figures/),
greyscale-readable (hatches and markers, not colour alone). Everything is a pure function of the
files under results/ and the reference CSV: deleting the outputs and re-running gives the same
bytes (no timestamps; PDF creation dates off).
"""
from __future__ import annotations

import csv
import math
import json
import logging
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

REFERENCE = Path(__file__).parent / "data" / "paper_results.csv"
DASH = "—"
BENCH_LABEL = {"humaneval": "HumanEval", "humaneval_plus": "HumanEval+", "mbpp_plus": "MBPP+",
               "livecodebench": "LiveCodeBench", "evalperf": "EvalPerf", "classeval": "ClassEval",
               "ds1000": "DS-1000", "canitedit": "CanItEdit"}


# ------------------------------------------------------------------------------------- loading
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
    from .records import iter_jsonl
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
    from .evaluate.metrics import within
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


# -------------------------------------------------------------------------------------- tables
@dataclass
class Table:
    name: str
    caption: str
    header: list[str]
    rows: list[list]
    note: str = ""

    def cell(self, v) -> str:
        if v is None or v == "":
            return DASH
        if isinstance(v, float):
            return f"{v:.1f}"
        return str(v)   # Measured: "value ± se", "≈" when the paper's figure is within 2 SE

    def markdown(self) -> str:
        lines = [f"**{self.caption}**", "", "| " + " | ".join(self.header) + " |",
                 "|" + "|".join("---" for _ in self.header) + "|"]
        lines += ["| " + " | ".join(self.cell(v) for v in r) + " |" for r in self.rows]
        if self.note:
            lines += ["", self.note]
        return "\n".join(lines) + "\n"

    def latex(self) -> str:
        def esc(s: str) -> str:
            for a, b in (("\\", r"\textbackslash{}"), ("&", r"\&"), ("%", r"\%"), ("_", r"\_"), ("#", r"\#"),
                         ("—", "---"), ("@", "@"), ("→", r"$\rightarrow$"), ("±", r"$\pm$"), ("≈", r"$\approx$")):
                s = s.replace(a, b)
            return s
        cols = "l" + "r" * (len(self.header) - 1)
        lines = [r"\begin{table}[t]", r"\centering", f"\\caption{{{esc(self.caption)}}}", f"\\label{{tab:{self.name}}}",
                 f"\\begin{{tabular}}{{{cols}}}", r"\toprule", " & ".join(esc(h) for h in self.header) + r" \\", r"\midrule"]
        lines += [" & ".join(esc(self.cell(v)) for v in r) + r" \\" for r in self.rows]
        lines += [r"\bottomrule", r"\end{tabular}", r"\end{table}"]
        return "\n".join(lines) + "\n"


def ref_value(ref: list[dict], table: str, method: str | None = None, benchmark: str | None = None,
              metric: str | None = None, model: str | None = None) -> float | None:
    for r in ref:
        if r["table"] == table and (method is None or r["method"] == method) and \
                (benchmark is None or r["benchmark"] == benchmark) and (metric is None or r["metric"] == metric) and \
                (model is None or r["model"] == model):
            return r["value"]
    return None


def main_rows(res: Results, exp: str, models: list[str]) -> list[tuple]:
    """(label, benchmark, paper table, paper benchmark, paper metric, summary path) per row of the
    main table: one per benchmark metric the paper reports (ClassEval class and method level,
    EvalPerf DPS and pass@1, a LiveCodeBench row per contest-date window actually scored)."""
    windows = []
    for (e, m, v, b), r in res.evals.items():
        for label in ((r.get("summary") or {}).get("by_window") or {}) if b == "livecodebench" else []:
            if label not in windows:
                windows.append(label)
    rows = [("HumanEval", "humaneval", None, None, None, ("base",)),
            ("HumanEval+", "humaneval_plus", "main", "HumanEval+", "pass@1", ("plus",)),
            ("MBPP+", "mbpp_plus", "main", "MBPP+", "pass@1", ("plus",))]
    rows += [(f"LiveCodeBench ({w})", "livecodebench", "livecodebench", f"LiveCodeBench({w})", "pass@1", ("by_window", w))
             for w in windows or ["start 2023-09-01"]]
    rows += [("EvalPerf DPS", "evalperf", "evalperf", "EvalPerf", "DPS", ()),
             ("EvalPerf pass@1", "evalperf", "evalperf", "EvalPerf", "pass@1", ("base",)),
             ("ClassEval class-level", "classeval", "classeval", "ClassEval", "class-level pass@1", ("class",)),
             ("ClassEval method-level", "classeval", "classeval", "ClassEval", "method-level pass@1", ("method_level",)),
             ("DS-1000", "ds1000", "ds1000", "DS-1000", "pass@1", ("base",)),
             ("CanItEdit", "canitedit", "canitedit", "CanItEdit", "pass@1", ("base",))]
    return rows


def table_main(ref, res: Results, exp: str, models: list[str]) -> Table:
    header = ["Benchmark", "Paper: CodeQwen1.5-7B base", "Paper: SelfCodeAlign"]
    for m in models:
        header += [f"Ours: {m} base", f"Ours: {m} SFT"]
    rows, notes = [], []
    for label, bench, tab, pb, metric, path in main_rows(res, exp, models):
        paper_base = ref_value(ref, tab, "base", pb, metric) if tab else None
        paper_sca = ref_value(ref, tab, "SelfCodeAlign", pb, metric) if tab else None
        row = [label, paper_base, paper_sca]
        for m in models:
            for variant, paper in (("base", paper_base), ("sft", paper_sca)):
                if bench == "evalperf" and not path:   # DPS: the summary's own figure, no SE
                    r = res.evals.get(("_base" if variant == "base" else exp, m, variant, bench)) or {}
                    dps = (r.get("summary") or {}).get("dps")
                    row.append(Measured(dps) if dps is not None else None)
                else:
                    row.append(measured(res.evals, exp, m, variant, bench, path, paper))
                why = skip_reason(res.evals, exp, m, variant, bench)
                if why and why not in notes:
                    notes.append(why)
        rows.append(row)
    note = ("Ours: pass@1 ± its standard error over problems; ≈ marks a figure whose paper counterpart in the "
            "same row lies within two standard errors. ")
    return Table("main", f"Main results, pass@1 (%) — experiment {exp}", header, rows,
                 note=note + (("Not run here: " + "; ".join(notes)) if notes else ""))


def table_distillation(ref, res: Results, exp: str, models: list[str]) -> Table:
    rows = []
    for r in ref:
        if r["table"] == "distillation":
            ours = None
            if r["method"] == "SelfCodeAlign" and models:
                ours = measured(res.evals, exp, models[0], "sft", "humaneval_plus", paper=r["value"])
            rows.append([r["method"], r["value"], ours])
    return Table("distillation", "Self-alignment vs distillation, HumanEval+ pass@1 (%)",
                 ["Method", "Paper (CodeQwen1.5-7B, 74k pairs)", f"Ours ({models[0] if models else DASH})"], rows)


def _ablation_rows(ref, res: Results, table: str, variants: list[tuple[str, str]], model: str, bench: str):
    rows = []
    for method, exp in variants:
        paper = ref_value(ref, table, method)
        rows.append([method, paper, measured(res.evals, exp, model, "sft", bench, paper=paper) if exp else None])
    return rows


def _own(cfg_exps: dict) -> dict:
    """Experiments on the trained model's own data (no teacher)."""
    return {n: c for n, c in cfg_exps.items() if not c.get("teacher")}


def _is_main_method(c: dict) -> bool:
    return c["generate"]["seed_path"] == "concepts" and c["seeds"]["kind"] == "functions"


def _first(cfg_exps: dict, pred) -> str | None:
    return next((n for n, c in cfg_exps.items() if pred(c)), None)


def _main_like(c: dict, main: dict | None) -> bool:
    """Same responses per instruction and training as the main experiment (so rows compare)."""
    return main is None or (c["generate"]["responses"]["n"] == main["generate"]["responses"]["n"]
                            and c["train"] == main["train"])


def table_exec_filter(ref, res: Results, cfg_exps: dict, model: str, bench: str) -> Table:
    own = _own(cfg_exps)
    main = next(iter(cfg_exps.values()), None)
    by_mode = {}
    for name, c in own.items():
        if _is_main_method(c) and _main_like(c, main):
            by_mode.setdefault(c["select"]["mode"], name)
    variants = [("passing responses only", by_mode.get("pass")), ("random responses", by_mode.get("random")),
                ("failing responses only", by_mode.get("fail"))]
    return Table("ablation_exec_filter", f"Execution-filter ablation, pass@1 (%) — ours on {BENCH_LABEL[bench]}",
                 ["Selection", "Paper (HumanEval+)", f"Ours ({model})"],
                 _ablation_rows(ref, res, "ablation_exec_filter", variants, model, bench))


def table_seed(ref, res: Results, cfg_exps: dict, model: str, bench: str) -> Table:
    own = _own(cfg_exps)
    main_cfg = next(iter(cfg_exps.values()), None)
    ok = lambda c: c["select"]["mode"] == "pass" and _main_like(c, main_cfg)
    direct = _first(own, lambda c: ok(c) and c["generate"]["seed_path"] == "direct")
    snippets = _first(own, lambda c: ok(c) and c["generate"]["seed_path"] == "concepts"
                      and c["seeds"]["kind"] == "random_snippets")
    main = _first(own, lambda c: ok(c) and _is_main_method(c))
    variants = [("seed -> instruction directly (S->I)", direct),
                ("random snippets -> concepts -> instruction", snippets),
                ("filtered functions -> concepts -> instruction", main)]
    return Table("ablation_seed", f"Seed/concept ablation, pass@1 (%) — ours on {BENCH_LABEL[bench]}",
                 ["Seed path", "Paper (HumanEval+)", f"Ours ({model})"],
                 _ablation_rows(ref, res, "ablation_seed", variants, model, bench))


def table_samples(res: Results, cfg_exps: dict, model: str, bench: str) -> Table:
    """Responses sampled per instruction (the method otherwise the main one's): SFT pairs kept and pass@1."""
    rows = []
    seen = set()
    main = next(iter(cfg_exps.values()), None)
    for name, c in sorted(_own(cfg_exps).items(), key=lambda kv: kv[1]["generate"]["responses"]["n"]):
        n = c["generate"]["responses"]["n"]
        if n in seen or not (_is_main_method(c) and c["select"]["mode"] == "pass") or \
                (main is not None and c["train"] != main["train"]):
            continue
        seen.add(n)
        steps = res.funnels.get((name, model)) or []
        rows.append([n, name, funnel_value(steps, "select", "sft"), measured(res.evals, name, model, "sft", bench)])
    return Table("ablation_samples", f"Responses sampled per instruction, ours ({model}, {BENCH_LABEL[bench]} pass@1 %)",
                 ["Samples per instruction", "Experiment", "SFT pairs", f"Ours ({model})"], rows,
                 note="The paper samples 10 responses per instruction; it reports no figure for other counts.")


def table_matrix(res: Results, exp: str, models: list[str], bench: str, cfg_exps: dict | None = None,
                 teachers: dict[str, str] | None = None) -> Table:
    """Rows: trained models; columns: base, SFT on its own data, SFT on each teacher's data.

    ``teachers`` (teacher -> experiment) comes from the ablations as configured, so a teacher
    equal to the trained model keeps its column (self-alignment data under that experiment)."""
    if teachers is None:
        teachers = {}
        for name, c in sorted((cfg_exps or {}).items()):
            if c.get("teacher"):
                teachers.setdefault(c["teacher"], name)
    trained = [m for m in models if m not in teachers or any(k[1] == m and k[2] == "sft" for k in res.evals)]
    rows = [[m, measured(res.evals, exp, m, "base", bench), measured(res.evals, exp, m, "sft", bench),
             *[measured(res.evals, e, m, "sft", bench) for e in teachers.values()], None] for m in trained]
    return Table("self_vs_teacher", f"Self vs teacher data across scales, {BENCH_LABEL[bench]} pass@1 (%)",
                 ["Base model", "Base", "SFT on own data", *[f"SFT on {t} data" for t in teachers], "Paper"], rows,
                 note="The paper's 3B–33B matrix cells are not available in text form: paper column left empty. "
                      "A teacher column is an experiment with `teacher:` set (data from that model).")


def configured_teachers(cfg: dict) -> dict[str, str]:
    """teacher -> ablation name, in the order the config lists them (before a teacher equal to the
    trained model is turned into self-alignment)."""
    out: dict[str, str] = {}
    for name, over in cfg.get("ablations", {}).items():
        if over.get("teacher"):
            out.setdefault(over["teacher"], name)
    return out


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


def table_data(res: Results) -> Table:
    rows = []
    for (exp, model), steps in sorted(res.funnels.items()):
        rows.append([f"{exp} / {model}", funnel_value(steps, "seeds", "extracted"),
                     last_kept(steps, "seeds"),
                     funnel_value(steps, "instructions", "parsed"), funnel_value(steps, "responses", "generated"),
                     funnel_value(steps, "responses", "parsed"), funnel_value(steps, "execute", "passed"),
                     funnel_value(steps, "select", "sft")])
    return Table("data", "Data statistics (counts at each stage)",
                 ["Experiment / model", "Functions extracted", "Seeds", "Instructions", "Samples", "Parsed samples",
                  "Passing samples", "SFT pairs"], rows)


def table_side_by_side(res: Results, exp: str) -> Table:
    rows = []
    for (e, model), steps in sorted(res.funnels.items()):
        if e != exp:
            continue
        rows.append([model, funnel_value(steps, "instructions", "parsed"), funnel_value(steps, "responses", "parsed"),
                     funnel_value(steps, "execute", "passed"), funnel_dropped(steps, "select", "fewshot_copy"),
                     funnel_dropped(steps, "select", "test_sanity"), funnel_value(steps, "select", "sft"),
                     measured(res.evals, exp, model, "base", "humaneval"), measured(res.evals, exp, model, "sft", "humaneval")])
    return Table("cpu_models", "CPU models side by side: yields and HumanEval pass@1 (%)",
                 ["Model", "Instructions", "Parsed samples", "Passing", "Few-shot copies dropped",
                  "Test-sanity drops", "SFT pairs", "HumanEval base", "HumanEval SFT"], rows,
                 note="qwen2.5-coder-0.5b-instruct is instruction-tuned (not the paper's base-model setting).")


def table_sc2(ref) -> Table:
    rows = [[r["benchmark"], r["value"], None] for r in ref if r["table"] == "sc2_instruct"]
    return Table("sc2_instruct", "StarCoder2-15B-Instruct-v0.1 (model card) beside our run at that scale",
                 ["Benchmark", "Paper / model card", "Ours (starcoder2-15b)"], rows)


# ------------------------------------------------------------------------------------- figures
def _fig(title: str):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7, 4.2))
    ax.set_title(title, fontsize=10)
    return fig, ax


def _save(fig, figures_dir: Path, name: str) -> list[Path]:
    import matplotlib.pyplot as plt
    figures_dir.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    outs = []
    for ext, meta in (("png", {"Software": None}), ("pdf", {"CreationDate": None, "Producer": None})):
        p = figures_dir / f"{name}.{ext}"
        fig.savefig(p, dpi=150, metadata=meta)
        outs.append(p)
    plt.close(fig)
    return outs


def _no_data(ax, what: str) -> None:
    ax.text(0.5, 0.5, f"no data: {what}", ha="center", va="center", transform=ax.transAxes, fontsize=11)
    ax.set_xticks([])
    ax.set_yticks([])


def fig_funnel(res: Results, exp: str, model: str, cfg_name: str, figures_dir: Path) -> list[Path]:
    fig, ax = _fig(f"Data funnel — {model}, experiment {exp} ({cfg_name})")
    steps = res.funnels.get((exp, model))
    if not steps:
        _no_data(ax, f"results/{exp}/{model}/funnel.json not found")
    else:
        labels = [f"{s['stage']}: {s['step']}" for s in steps]
        values = [s["kept"] for s in steps]
        y = range(len(values))[::-1]
        ax.barh(list(y), values, color="0.55", edgecolor="black", hatch="//")
        ax.set_yticks(list(y))
        ax.set_yticklabels(labels, fontsize=7)
        ax.set_xscale("symlog")
        ax.set_xlabel("items kept after the step (log scale)")
        for yi, v in zip(y, values):
            ax.text(v, yi, f" {v}", va="center", fontsize=7)
    return _save(fig, figures_dir, "funnel")


def fig_pass_rate(res: Results, exp: str, model: str, figures_dir: Path) -> list[Path]:
    from .prompts import CATEGORIES, DIFFICULTIES
    fig, ax = _fig(f"Sandbox pass rate of sampled responses — {model}, {exp}")
    rates = res.executions.get((exp, model))
    if not rates:
        _no_data(ax, "no executions")
    else:
        width = 0.25
        hatches = ["", "//", "xx"]
        for j, d in enumerate(DIFFICULTIES):
            xs, ys, ns = [], [], []
            for i, c in enumerate(CATEGORIES):
                p, n = rates.get((c, d), [0, 0])
                xs.append(i + (j - 1) * width)
                ys.append(100 * p / n if n else 0)
                ns.append(n)
            bars = ax.bar(xs, ys, width, label=d, color=str(0.3 + 0.25 * j), edgecolor="black", hatch=hatches[j])
            for b, n in zip(bars, ns):
                ax.text(b.get_x() + b.get_width() / 2, b.get_height(), f"n={n}", ha="center", va="bottom", fontsize=6)
        ax.set_xticks(range(len(CATEGORIES)))
        ax.set_xticklabels(list(CATEGORIES))
        ax.set_ylabel("responses passing their own tests (%)")
        ax.set_xlabel("task category")
        ax.legend(title="difficulty", fontsize=7)
    return _save(fig, figures_dir, "pass_rate")


def fig_scale(ref, res: Results, exp: str, models_sheet: dict, figures_dir: Path, bench: str = "humaneval") -> list[Path]:
    fig, ax = _fig(f"pass@1 by model scale — {BENCH_LABEL[bench]} (ours) and paper points, {exp}")
    pts = []
    for (e, model, variant, b), r in res.evals.items():
        if b == bench and (e == exp or e == "_base") and "summary" in r and model in models_sheet:
            pts.append((models_sheet[model].size_b, variant, score(res.evals, exp, model, variant, bench), model))
    paper = [(7.0, "base", ref_value(ref, "main", "base", "HumanEval+"), "CodeQwen1.5-7B"),
             (7.0, "sft", ref_value(ref, "main", "SelfCodeAlign", "HumanEval+"), "CodeQwen1.5-7B"),
             (15.0, "sft", ref_value(ref, "sc2_instruct", None, "HumanEval+"), "StarCoder2-15B")]
    if not pts:
        _no_data(ax, f"no {bench} results")
    else:
        for variant, marker in (("base", "o"), ("sft", "s")):
            xs = [p[0] for p in pts if p[1] == variant and p[2] is not None]
            ys = [p[2] for p in pts if p[1] == variant and p[2] is not None]
            ax.scatter(xs, ys, marker=marker, facecolor="white" if variant == "base" else "black", edgecolor="black",
                       s=50, label=f"ours {variant} ({BENCH_LABEL[bench]})")
        for variant, marker in (("base", "^"), ("sft", "D")):
            xs = [p[0] for p in paper if p[1] == variant and p[2] is not None]
            ys = [p[2] for p in paper if p[1] == variant and p[2] is not None]
            ax.scatter(xs, ys, marker=marker, facecolor="0.6", edgecolor="black", s=50, label=f"paper {variant} (HumanEval+)")
        ax.set_xscale("log")
        ax.set_xlabel("parameters (billions, log scale)")
        ax.set_ylabel("pass@1 (%)")
        ax.legend(fontsize=7)
    return _save(fig, figures_dir, "scale")


def fig_ablation(ref, res: Results, cfg_exps: dict, model: str, figures_dir: Path, bench: str = "humaneval") -> list[Path]:
    fig, ax = _fig(f"Execution-filter ablation — ours ({model}, {BENCH_LABEL[bench]}) beside the paper (HumanEval+)")
    t = table_exec_filter(ref, res, cfg_exps, model, bench)
    labels = [r[0] for r in t.rows]
    paper = [r[1] for r in t.rows]
    ours = [num(r[2]) for r in t.rows]
    errs = [r[2].se if isinstance(r[2], Measured) and r[2].se is not None else 0 for r in t.rows]
    if all(v is None for v in paper + ours):
        _no_data(ax, "no ablation results")
    else:
        xs = range(len(labels))
        ax.bar([x - 0.2 for x in xs], [v or 0 for v in paper], 0.4, label="paper (CodeQwen1.5-7B)", color="0.75",
               edgecolor="black", hatch="//")
        ax.bar([x + 0.2 for x in xs], [v or 0 for v in ours], 0.4, yerr=errs, capsize=3, label=f"ours ({model}, ± SE)",
               color="0.35", edgecolor="black")
        for x, v in zip(xs, ours):
            if v is None:
                ax.text(x + 0.2, 0.5, "not run", rotation=90, ha="center", va="bottom", fontsize=7)
        ax.set_xticks(list(xs))
        ax.set_xticklabels(labels, fontsize=8)
        ax.set_ylabel("pass@1 (%)")
        ax.legend(fontsize=7)
    return _save(fig, figures_dir, "ablation_exec_filter")


def fig_cpu_models(res: Results, exp: str, figures_dir: Path) -> list[Path]:
    """Yields at each stage and HumanEval pass@1, one group of bars per model of the experiment."""
    fig, ax = _fig(f"CPU models side by side — yields per stage, experiment {exp}")
    t = table_side_by_side(res, exp)
    if not t.rows:
        _no_data(ax, f"no funnel for experiment {exp}")
        return _save(fig, figures_dir, "cpu_models")
    stages = ["Instructions", "Parsed samples", "Passing", "SFT pairs"]
    idx = [t.header.index(h) for h in stages]
    width = 0.8 / len(t.rows)
    hatches = ["", "//", "xx", ".."]
    for j, row in enumerate(t.rows):
        vals = [row[i] or 0 for i in idx]
        he = "/".join("—" if v is None else f"{num(v):.1f}" for v in row[-2:])
        bars = ax.bar([x + j * width for x in range(len(stages))], vals, width, color=str(0.35 + 0.3 * j),
                      edgecolor="black", hatch=hatches[j % len(hatches)], label=f"{row[0]} (HumanEval base/SFT: {he} %)")
        for b, v in zip(bars, vals):
            ax.text(b.get_x() + b.get_width() / 2, max(v, 1), str(v), ha="center", va="bottom", fontsize=7)
    ax.set_yscale("symlog")
    ax.set_xticks([x + width * (len(t.rows) - 1) / 2 for x in range(len(stages))])
    ax.set_xticklabels(stages)
    ax.set_ylabel("count (log scale)")
    ax.legend(fontsize=7)
    return _save(fig, figures_dir, "cpu_models")


# ----------------------------------------------------------------------------------------- build
REPLICATION_PAPER = {"pass": "passing responses only", "random": "random responses", "fail": "failing responses only"}


def replication_arms(res: Results, cfg_exps: dict, student: str) -> list[dict]:
    """One arm per experiment that trains ``student``: whose data (the teacher's or its own), the
    selection mode, the SFT pairs, and HumanEval pass@1 ± SE with each prompt style."""
    arms = [{"arm": f"{student} base (no SFT)", "data": "—", "mode": "—", "pairs": None,
             "instruct": measured(res.evals, "", student, "base", "humaneval@instruct")
             or measured(res.evals, "", student, "base", "humaneval"),
             "completion": measured(res.evals, "", student, "base", "humaneval"), "exp": None}]
    for name, c in cfg_exps.items():
        if c["model"] != student:
            continue
        gen = c.get("teacher") or student
        mode = c["select"]["mode"]
        steps = res.funnels.get((name, gen)) or []
        arms.append({"arm": f"{name}: SFT on {'teacher ' + gen if gen != student else 'its own'} data, {mode}",
                     "data": gen, "mode": mode, "pairs": funnel_value(steps, "select", "sft"), "exp": name,
                     "instruct": measured(res.evals, name, student, "sft", "humaneval"),
                     "completion": measured(res.evals, name, student, "sft", "humaneval@completion")})
    return arms


def replication_reading(arms: list[dict], student: str) -> str:
    """The plain reading of the arms: does pass ≥ random ≥ fail hold beyond the standard errors,
    and did SFT move the instruction-prompt score off the base model's."""
    teacher = {a["mode"]: a for a in arms if a["exp"] and a["data"] != student}
    def sep(a, b):  # a above b by more than 2 combined SEs
        x, y = a["instruct"], b["instruct"]
        return x.value - y.value > 2 * math.hypot(x.se or 0, y.se or 0)
    lines = []
    if all(teacher.get(m) and teacher[m]["instruct"] for m in ("pass", "random", "fail")):
        p, r, f = (teacher[m]["instruct"] for m in ("pass", "random", "fail"))
        order = "holds" if p.value >= r.value >= f.value else "does not hold"
        strict = sep(teacher["pass"], teacher["fail"])
        lines.append(f"pass ≥ random ≥ fail {order} on the point estimates ({p.value:.1f} / {r.value:.1f} / {f.value:.1f}); "
                     f"pass is {'' if strict else 'not '}above fail by more than two standard errors.")
    base = arms[0]["instruct"]
    for a in arms[1:]:
        if a["instruct"] and base:
            moved = sep(a, arms[0]) or sep(arms[0], a)
            lines.append(f"{a['exp']}: instruction-prompt pass@1 {a['instruct'].value:.1f} vs base {base.value:.1f} — "
                         f"{'moved' if moved else 'not moved'} beyond two standard errors.")
    return " ".join(lines)


def table_cpu_replication(ref, res: Results, cfg_exps: dict, student: str) -> Table:
    arms = replication_arms(res, cfg_exps, student)
    rows = [[a["arm"], a["pairs"], a["instruct"], a["completion"],
             ref_value(ref, "ablation_exec_filter", REPLICATION_PAPER[a["mode"]]) if a["mode"] in REPLICATION_PAPER
             and a["data"] != student else None] for a in arms]
    return Table("cpu_replication", f"The paper's findings in miniature: {student} trained on a teacher's "
                 "execution-verified data, by selection, HumanEval pass@1 (%) ± SE",
                 ["Arm", "SFT pairs", "HumanEval, instruction prompt", "HumanEval, completion prompt",
                  "Paper: exec-filter ablation (CodeQwen1.5-7B, HumanEval+)"], rows,
                 note=("Reading: " + replication_reading(arms, student)) if len(arms) > 1 else "")


def fig_cpu_replication(ref, res: Results, cfg_exps: dict, student: str, figures_dir: Path) -> list[Path]:
    fig, ax = _fig(f"{student}: base vs SFT arms on HumanEval (± SE), beside the paper's exec-filter ablation")
    arms = replication_arms(res, cfg_exps, student)
    if not any(a["instruct"] or a["completion"] for a in arms):
        _no_data(ax, "no replication results")
        return _save(fig, figures_dir, "cpu_replication")
    xs = range(len(arms))
    for off, key, shade, hatch in ((-0.3, "instruct", "0.35", ""), (-0.1, "completion", "0.6", "..")):
        ax.bar([x + off for x in xs], [num(a[key]) or 0 for a in arms], 0.2,
               yerr=[(a[key].se or 0) if a[key] else 0 for a in arms], capsize=3, color=shade, edgecolor="black",
               hatch=hatch, label=f"ours, {key} prompt")
    paper = [ref_value(ref, "ablation_exec_filter", REPLICATION_PAPER.get(a["mode"], "")) if a["data"] != student else None
             for a in arms]
    ax.bar([x + 0.15 for x in xs], [v or 0 for v in paper], 0.2, color="0.85", edgecolor="black", hatch="//",
           label="paper (CodeQwen1.5-7B, HumanEval+)")
    ax.set_xticks(list(xs))
    ax.set_xticklabels([a["arm"].split(": ")[-1] for a in arms], fontsize=7, rotation=12)
    ax.set_ylabel("pass@1 (%)")
    ax.legend(fontsize=7)
    return _save(fig, figures_dir, "cpu_replication")


def build_paper(cfg: dict, results_dir: str | Path, paper_dir: str | Path, figures_dir: str | Path) -> dict:
    from .config import experiment_configs
    from .models import read_sheet

    paper_dir, figures_dir = Path(paper_dir), Path(figures_dir)
    paper_dir.mkdir(parents=True, exist_ok=True)
    exps = experiment_configs(cfg)
    main = cfg["experiment"]
    res = gather(results_dir, list(exps))
    ref = load_reference()
    sheet = read_sheet(cfg["models_sheet"])
    models = sorted({m for (_, m) in res.funnels} | {cfg["model"]})
    bench = "humaneval_plus" if any(k[3] == "humaneval_plus" and "summary" in v for k, v in res.evals.items()) else "humaneval"
    tables = [table_main(ref, res, main, models), table_distillation(ref, res, main, models),
              table_exec_filter(ref, res, exps, cfg["model"], bench), table_seed(ref, res, exps, cfg["model"], bench),
              table_samples(res, exps, cfg["model"], bench),
              table_matrix(res, main, models, bench, exps, configured_teachers(cfg) or None), table_data(res),
              table_side_by_side(res, main), table_sc2(ref), table_cpu_replication(ref, res, exps, cfg["model"])]
    for t in tables:
        (paper_dir / f"{t.name}.md").write_text(t.markdown())
        (paper_dir / f"{t.name}.tex").write_text(t.latex())
    figs = []
    figs += fig_funnel(res, main, cfg["model"], f"seed {cfg['seed']}", figures_dir)
    figs += fig_pass_rate(res, main, cfg["model"], figures_dir)
    figs += fig_scale(ref, res, main, sheet, figures_dir)
    figs += fig_ablation(ref, res, exps, cfg["model"], figures_dir)
    figs += fig_cpu_models(res, main, figures_dir)
    figs += fig_cpu_replication(ref, res, exps, cfg["model"], figures_dir)
    index = ["# Results regenerated by selfalign", "",
             f"Experiment `{main}`, model `{cfg['model']}`. Paper numbers from `selfalign/data/paper_results.csv`.", ""]
    for t in tables:
        index += [t.markdown(), ""]
    index += ["## Figures", ""] + [f"![{p.stem}](../{figures_dir.name}/{p.name})" for p in figs if p.suffix == ".png"]
    (paper_dir / "README.md").write_text("\n".join(index) + "\n")
    return {"tables": [t.name for t in tables], "figures": [str(p) for p in figs]}
