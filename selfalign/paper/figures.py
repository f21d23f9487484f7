"""The figures (PNG + PDF in figures/), greyscale-readable: hatches and markers, not colour alone;
no timestamps in the files."""
from __future__ import annotations

import textwrap
from pathlib import Path

from .ablations import table_exec_filter
from .data import table_side_by_side
from .replication import REPLICATION_PAPER, replication_arms
from .results import BENCH_LABEL, Measured, Results, num, ref_value, score


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
    from ..prompts import CATEGORIES, DIFFICULTIES
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


def fig_cpu_replication(ref, res: Results, cfg_exps: dict, student: str, figures_dir: Path) -> list[Path]:
    fig, ax = _fig(f"{student}: base vs SFT arms on HumanEval (± SE),\nbeside the paper's exec-filter ablation")
    arms = replication_arms(res, cfg_exps, student)
    if not any(a["instruct"] or a["completion"] for a in arms):
        _no_data(ax, "no replication results")
        return _save(fig, figures_dir, "cpu_replication")
    xs = range(len(arms))
    for off, key, shade, hatch in ((-0.22, "instruct", "0.35", ""), (0.0, "completion", "0.6", "..")):
        ax.bar([x + off for x in xs], [num(a[key]) or 0 for a in arms], 0.2,
               yerr=[(a[key].se or 0) if a[key] else 0 for a in arms], capsize=3, color=shade, edgecolor="black",
               hatch=hatch, label=f"ours, {key} prompt")
    paper = [ref_value(ref, "ablation_exec_filter", REPLICATION_PAPER.get(a["mode"], "")) if a["data"] != student else None
             for a in arms]
    ax.bar([x + 0.22 for x in xs], [v or 0 for v in paper], 0.2, color="0.85", edgecolor="black", hatch="//",
           label="paper (CodeQwen1.5-7B, HumanEval+)")
    ax.set_xticks(list(xs))
    ax.set_xticklabels([arm_label(a, student) for a in arms], fontsize=7)
    ax.set_ylabel("pass@1 (%)")
    ax.legend(fontsize=7)
    return _save(fig, figures_dir, "cpu_replication")


def arm_label(arm: dict, student: str) -> str:
    """A short tick label under its own bars: the experiment, its selection and data size (the
    full arm names, rotated, ran under the neighbouring groups)."""
    if not arm["exp"]:
        return textwrap.fill(arm["arm"], 15)
    source = "own data" if arm["data"] == student else "teacher data"
    pairs = "?" if arm["pairs"] is None else arm["pairs"]
    return f"{arm['exp']}\n{source}\n{arm['mode']}, {pairs} pairs"
