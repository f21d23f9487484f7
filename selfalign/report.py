"""The data funnel of one experiment, counted from the stage records themselves."""
from __future__ import annotations

import collections
import json

from .records import iter_jsonl


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
