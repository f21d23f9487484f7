"""Benchmarks, one module each, behind one registry (name -> "module:function").

Every benchmark module exposes ``load(cfg) -> list[Problem]`` (raising ``DataMissing`` when its
data is not available locally) and problems that know how to build their prompt and the program
that scores a completion. Scoring always runs in our bubblewrap sandbox.
"""
from __future__ import annotations

import importlib

REGISTRY = {
    "humaneval": "selfalign.evaluate.humaneval:load",
    "humaneval_plus": "selfalign.evaluate.evalplus_data:load_humaneval_plus",
    "mbpp_plus": "selfalign.evaluate.evalplus_data:load_mbpp_plus",
    "livecodebench": "selfalign.evaluate.pending:load",
    "evalperf": "selfalign.evaluate.pending:load",
    "classeval": "selfalign.evaluate.pending:load",
    "ds1000": "selfalign.evaluate.pending:load",
    "canitedit": "selfalign.evaluate.pending:load",
}


def loader(name: str):
    if name not in REGISTRY:
        raise KeyError(f"unknown benchmark {name!r}; known: {', '.join(REGISTRY)}")
    module, fn = REGISTRY[name].split(":")
    func = getattr(importlib.import_module(module), fn)
    if module.endswith(".pending"):
        return lambda cfg: func(name, cfg)
    return func
