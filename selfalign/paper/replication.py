"""The paper's findings in miniature (config/cpu-replication.yaml): a student's base model and its
SFT arms, and the plain reading of what they show."""
from __future__ import annotations

import math

from .results import Results, funnel_value, measured, ref_value
from .table import Table

REPLICATION_PAPER = {"pass": "passing responses only", "random": "random responses", "fail": "failing responses only"}


def replication_arms(res: Results, cfg_exps: dict, student: str) -> list[dict]:
    """One arm per experiment that trains ``student``: whose data (the teacher's or its own), the
    selection mode, the SFT pairs, and HumanEval pass@1 ± SE with each prompt style."""
    arms = [{"arm": f"{student} base (no SFT)", "data": "—", "mode": "—", "pairs": None,
             # only what was measured with that prompt (evaluate.extra_styles: base adds it)
             "instruct": measured(res.evals, "", student, "base", "humaneval@instruct"),
             "completion": measured(res.evals, "", student, "base", "humaneval"), "exp": None}]
    for teacher in sorted({c["teacher"] for c in cfg_exps.values() if c.get("teacher") and c["teacher"] != student
                           and c["evaluate"]["teacher_eval"] != "none"}):
        # the teacher scored once (evaluate.teacher_eval): what the arms' data came from
        arms.append({"arm": f"teacher {teacher} (no SFT)", "data": "—", "mode": "—", "pairs": None, "exp": None,
                     "instruct": measured(res.evals, "", teacher, "base", "humaneval@instruct"),
                     "completion": measured(res.evals, "", teacher, "base", "humaneval")})
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
    def sep(x, y):  # score x above score y by more than 2 combined SEs
        return x.value - y.value > 2 * math.hypot(x.se or 0, y.se or 0)
    lines = []
    if all(teacher.get(m) and teacher[m]["instruct"] for m in ("pass", "random", "fail")):
        p, r, f = (teacher[m]["instruct"] for m in ("pass", "random", "fail"))
        order = "holds" if p.value >= r.value >= f.value else "does not hold"
        strict = sep(p, f)
        lines.append(f"pass ≥ random ≥ fail {order} on the point estimates ({p.value:.1f} / {r.value:.1f} / {f.value:.1f}); "
                     f"pass is {'' if strict else 'not '}above fail by more than two standard errors.")
    # the SFT model against its base with the same prompt; without a base score for the instruction
    # prompt (evaluate.extra_styles: none), against the base's completion prompt, and said so
    b = arms[0]
    base, style = (b["instruct"], "") if b["instruct"] else (b["completion"], " (completion prompt: the base was not scored with the instruction prompt)")
    for a in arms[1:]:
        if a["exp"] and a["instruct"] and base:
            moved = sep(a["instruct"], base) or sep(base, a["instruct"])
            lines.append(f"{a['exp']}: instruction-prompt pass@1 {a['instruct'].value:.1f} vs base {base.value:.1f}{style} — "
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
