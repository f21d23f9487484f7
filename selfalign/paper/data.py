"""The data tables: counts at each stage of every experiment, and the CPU models side by side."""
from __future__ import annotations

from .results import Results, funnel_dropped, funnel_value, last_kept, measured
from .table import Table


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
