"""Counts of what each filter kept and dropped, in pipeline order (funnel.json)."""
from __future__ import annotations

import json
from pathlib import Path


class Funnel:
    def __init__(self, stage: str):
        self.stage = stage
        self.steps: list[dict] = []

    def step(self, name: str, kept: int, dropped: int = 0, **extra) -> None:
        self.steps.append({"stage": self.stage, "step": name, "kept": kept, "dropped": dropped, **extra})

    def as_list(self) -> list[dict]:
        return list(self.steps)

    def write(self, path: str | Path) -> None:
        from .records import write_json_atomic
        write_json_atomic(path, {"stage": self.stage, "steps": self.steps})


def merge_funnels(paths: list[str | Path]) -> dict:
    steps = []
    for p in paths:
        with open(p) as f:
            steps += json.load(f)["steps"]
    return {"steps": steps}
