"""The ablation tables: execution filter (selection mode), seed path, samples per instruction,
and self vs teacher data across scales, each row an experiment of the config picked by what it
changes."""
from __future__ import annotations

from .results import BENCH_LABEL, Results, funnel_value, measured, ref_value
from .table import Table


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
