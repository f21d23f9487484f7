"""The headline tables: main results (every benchmark the paper reports), self-alignment vs
distillation, and StarCoder2-15B-Instruct's model card beside our run at that scale."""
from __future__ import annotations

from .results import Measured, Results, measured, ref_value, skip_reason
from .table import DASH, Table


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
    data = data_note(res, exp, models)
    return Table("main", f"Main results, pass@1 (%) — experiment {exp}", header, rows,
                 note=note + (f"Data: {data}. " if data else "") + (("Not run here: " + "; ".join(notes)) if notes else ""))


NAMES = {"livecodebench": "LiveCodeBench", "ds1000": "DS-1000", "evalperf": "EvalPerf", "classeval": "ClassEval",
         "canitedit": "CanItEdit", "humaneval_plus": "HumanEval+", "mbpp_plus": "MBPP+"}


def data_note(res: Results, exp: str, models: list[str]) -> str:
    """Which release of each benchmark the figures come from (its tag, and the data's sha256 as
    the result records them), and what EvalPerf's cost was counted with."""
    seen: dict[str, str] = {}
    for (e, m, v, b), r in sorted(res.evals.items()):
        if e not in (exp, "_base") or m not in models or b not in NAMES or "summary" not in r or b in seen:
            continue
        sha = (r.get("data") or {}).get("sha256")
        digest = ", ".join(f"{k} {h[:12]}" for k, h in sorted(sha.items())) if isinstance(sha, dict) else (sha or "")[:12]
        text = NAMES[b] + (f" {r['release']}" if r.get("release") else "") + (f" (sha256 {digest})" if digest else "")
        if b == "evalperf" and (r["summary"].get("counter")):
            text += f", cost counted by {r['summary']['counter']}"
        seen[b] = text
    return "; ".join(seen[b] for b in NAMES if b in seen)


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


def table_sc2(ref) -> Table:
    rows = [[r["benchmark"], r["value"], None] for r in ref if r["table"] == "sc2_instruct"]
    return Table("sc2_instruct", "StarCoder2-15B-Instruct-v0.1 (model card) beside our run at that scale",
                 ["Benchmark", "Paper / model card", "Ours (starcoder2-15b)"], rows)
