"""The data funnel: what each filter kept and dropped, in pipeline order. Stages with filters
write their steps as they go (``Funnel``: seeds.funnel.json, select.funnel.json); the funnel rule
joins them with counts taken from the records of the stages between (funnel.json)."""
from __future__ import annotations

import collections
import json
from pathlib import Path

from ..records import iter_jsonl, write_json_atomic


class Funnel:
    def __init__(self, stage: str):
        self.stage = stage
        self.steps: list[dict] = []

    def step(self, name: str, kept: int, dropped: int = 0, **extra) -> None:
        self.steps.append({"stage": self.stage, "step": name, "kept": kept, "dropped": dropped, **extra})

    def as_list(self) -> list[dict]:
        return list(self.steps)

    def write(self, path: str | Path) -> None:
        write_json_atomic(path, {"stage": self.stage, "steps": self.steps})


def _count(path: str, stage: str, unit: str) -> list[dict]:
    rows = list(iter_jsonl(path))
    ok = sum(1 for r in rows if r.get("ok", True))
    reasons = collections.Counter((r.get("drop_reason") or "").split(":")[0] for r in rows if not r.get("ok", True))
    return [{"stage": stage, "step": "generated", "kept": len(rows), "dropped": 0, "unit": unit},
            {"stage": stage, "step": "parsed", "kept": ok, "dropped": len(rows) - ok, "reasons": dict(reasons) or None}]


def build_funnel(seeds_funnel: str, concepts: str | None, instructions: str, responses: str, executions: str,
                 select_funnel: str) -> dict:
    steps = json.load(open(seeds_funnel))["steps"]
    if concepts:
        steps += _count(concepts, "concepts", "seed")
    steps += _count(instructions, "instructions", "instruction")
    steps += _count(responses, "responses", "sample")
    verdicts = collections.Counter(r["verdict"] for r in iter_jsonl(executions))
    total = sum(verdicts.values())
    steps.append({"stage": "execute", "step": "passed", "kept": verdicts.get("pass", 0),
                  "dropped": total - verdicts.get("pass", 0), "verdicts": dict(verdicts)})
    steps += json.load(open(select_funnel))["steps"]
    return {"steps": steps}
