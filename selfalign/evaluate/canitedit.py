"""CanItEdit: instructional code editing, each problem with a descriptive and a lazy instruction.

Rows: ``name``/``id``, ``before``, ``after``, ``tests``, ``instruction_descriptive``,
``instruction_lazy``. A sample passes when the edited program runs with the problem's tests.
Reported: pass@1 over both instruction kinds and for each (the paper's two columns). The
ExcessCode metric (needs line coverage of the tests) is not computed.
"""
from __future__ import annotations

from .base import Problem, pass_at_1_by, read_rows

KINDS = ("descriptive", "lazy")


def program(code: str, tests: str) -> str:
    return f"{code}\n\n{tests}\n"


def load(cfg: dict) -> tuple[list[Problem], dict]:
    rows, info = read_rows(cfg["evaluate"]["data"]["canitedit"], "canitedit")
    probs = []
    for r in rows:
        before = r["before"].rstrip()
        for kind in KINDS:
            text = r[f"instruction_{kind}"].strip()
            probs.append(Problem(
                task_id=f"{r.get('name', r.get('id'))}/{kind}",
                prompt=f"## Code Before:\n```python\n{before}\n```\n## Instruction:\n{text}\n## Code After:\n```python\n",
                instruction=(f"Edit the program below as the instruction says, and write the whole edited program."
                             f"\n\nInstruction: {text}\n\n```python\n{before}\n```"),
                programs=lambda code, tests=r["tests"]: {"base": program(code, tests)}, completion_is_body=False,
                metrics={"base": ["base"]}, stop=["\n```"],
                meta={"group": kind, "canonical_solution": r["after"], "before": r["before"]}))
    info.update(problems=len(probs))
    return probs, info


def summarize(per: list[dict], problems: list[Problem]) -> dict:
    return {"by_instruction": pass_at_1_by(per)}
