"""Benchmarks, one module each, behind one registry (name -> "module:function").

Every benchmark module exposes ``load(cfg) -> (list[Problem], data info)`` (raising ``DataMissing``
when its data is not available) and problems that know how to build their prompt and the program
that scores a completion; optionally ``summarize(per_problem, problems)`` for its own metrics
(method-level ClassEval, DPS, per-library DS-1000, ...). Scoring always runs in our bubblewrap
sandbox.
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


def _module(name: str):
    if name not in REGISTRY:
        raise KeyError(f"unknown benchmark {name!r}; known: {', '.join(REGISTRY)}")
    module, fn = REGISTRY[name].split(":")
    return importlib.import_module(module), fn


def loader(name: str):
    """``load(cfg) -> (problems, data info)``; raises DataMissing when the data is not there."""
    mod, fn = _module(name)
    return getattr(mod, fn)


def summarizer(name: str):
    """The benchmark's own metrics beyond pass@k (``summarize(per_problem, problems)``), or None."""
    return getattr(_module(name)[0], "summarize", None)


def needs_libraries(name: str) -> bool:
    """Whether the benchmark's scoring programs import third-party libraries (DS-1000)."""
    return bool(getattr(_module(name)[0], "NEEDS_LIBRARIES", False))
