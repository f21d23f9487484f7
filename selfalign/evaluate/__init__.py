"""Benchmarks, one module each, behind one registry (name -> "module:function").

Every benchmark module's ``load(cfg) -> Benchmark`` (selfalign/evaluate/base.py) reads its data,
raising ``DataMissing`` when it is not available, and knows the official harness it follows.
Evaluation is two steps, as in evalplus: ``generate.generate_samples`` writes a samples file from a
model, ``score.score_file`` scores any samples file in our bubblewrap sandbox
(``python -m selfalign evaluate generate|score``).
"""
from __future__ import annotations

import importlib

REGISTRY = {
    "humaneval": "selfalign.evaluate.humaneval:load",
    "humaneval_plus": "selfalign.evaluate.evalplus_data:load_humaneval_plus",
    "mbpp_plus": "selfalign.evaluate.evalplus_data:load_mbpp_plus",
    "livecodebench": "selfalign.evaluate.livecodebench:load",
    "evalperf": "selfalign.evaluate.evalperf:load",
    "classeval": "selfalign.evaluate.classeval:load",
    "ds1000": "selfalign.evaluate.ds1000:load",
    "canitedit": "selfalign.evaluate.canitedit:load",
}


STYLES = ("completion", "instruct")


def parse_name(name: str) -> tuple[str, str | None]:
    """``humaneval`` or ``humaneval@instruct`` (the benchmark with another prompt style than the
    variant's own; ``evaluate.extra_styles``) -> (benchmark, style or None)."""
    bench, _, style = name.partition("@")
    if bench not in REGISTRY:
        raise KeyError(f"unknown benchmark {bench!r}; known: {', '.join(REGISTRY)}")
    if style and style not in STYLES:
        raise KeyError(f"unknown prompt style {style!r} in {name!r}; known: {', '.join(STYLES)}")
    return bench, style or None


def loader(name: str):
    """``load(cfg) -> Benchmark``; raises DataMissing when the data is not there."""
    name = name.partition("@")[0]
    if name not in REGISTRY:
        raise KeyError(f"unknown benchmark {name!r}; known: {', '.join(REGISTRY)}")
    module, fn = REGISTRY[name].split(":")
    return getattr(importlib.import_module(module), fn)
