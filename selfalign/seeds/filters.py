"""The syntactic seed filters of the official seed pipeline, each switchable (seeds.filters).

Two places, as in the official scripts: a value-returning ``return`` before the imports are
inferred (seed_gathering/high_quality_subset.py:18-29, 120-122), and the text checks of
filter_dataset.py ``pre_filtering`` (:229-267) on the autoimported, type-checked code: banned
words and imports as lower-cased substrings, decontamination, length, and the argument check.
"""
from __future__ import annotations

import ast
from typing import Callable

from ..records import Seed


def _fn_node(code: str) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    try:
        mod = ast.parse(code)
    except SyntaxError:
        return None
    if len(mod.body) == 1 and isinstance(mod.body[0], (ast.FunctionDef, ast.AsyncFunctionDef)):
        return mod.body[0]
    return None


def returns_value(code: str) -> bool:
    fn = _fn_node(code)
    if fn is None:
        return False
    # any return with an argument, `return None` included (high_quality_subset.py:18-29)
    return any(isinstance(node, ast.Return) and node.value is not None for node in ast.walk(fn))


def has_no_arg_def(code: str) -> bool:
    """filter_dataset.py:262-267: a line that starts with ``def `` and contains ``():``. A text
    check: ``def f() -> int:`` and ``async def f():`` pass it, as they do in the official."""
    return any(line.startswith("def ") and "():" in line for line in code.split("\n"))


def n_lines(code: str) -> int:
    return code.count("\n") + 1


def has_banned_word(code: str, words: list[str]) -> bool:
    """Lower-cased substring match, as filter_dataset.py:229, 248-251 ("debug" contains "bug")."""
    low = code.lower()
    return any(w.lower() in low for w in words)


def banned_import_strings(modules: list[str]) -> list[str]:
    """filter_dataset.py:230-233: ``import X`` and ``from X`` for each banned module."""
    return [f"import {m}" for m in modules] + [f"from {m}" for m in modules]


def has_banned_import(code: str, modules: list[str]) -> bool:
    """filter_dataset.py:248-251: a lower-cased substring, so after autoimport a module used by
    name is caught by the import line autoimport added; ``import ossaudiodev`` contains ``import os``."""
    return has_banned_word(code, banned_import_strings(modules))


def early_filters(cfg: dict) -> list[tuple[str, Callable[[Seed], bool]]]:
    """Before autoimport and the type check (high_quality_subset.py:120-122)."""
    return [("returns_value", lambda x: returns_value(x.seed))] if cfg["seeds"]["filters"]["returns_value"] else []


def text_filters(cfg: dict, decontaminated: Callable[[str], bool] | None) -> list[tuple[str, Callable[[Seed], bool]]]:
    """filter_dataset.py:243-267 in its order, on the code as autoimport left it; ``decontaminated``:
    code -> kept (None when the filter is off)."""
    s = cfg["seeds"]
    on = s["filters"]
    filters = [
        ("banned_words", lambda x: not has_banned_word(x.seed, s["banned_words"])),
        ("banned_imports", lambda x: not has_banned_import(x.seed, s["banned_imports"])),
        ("decontaminate", lambda x: decontaminated(x.seed) if decontaminated else True),
        ("max_lines", lambda x: n_lines(x.seed) <= s["max_lines"]),
        ("min_args", lambda x: not has_no_arg_def(x.seed)),
    ]
    return [(name, f) for name, f in filters if on[name] and (name != "decontaminate" or decontaminated)]
