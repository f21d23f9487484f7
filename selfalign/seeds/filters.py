"""The cheap syntactic seed filters (filter_dataset.py, high_quality_subset.py): a value-returning
`return`, arguments, length, banned words and imports; each switchable (seeds.filters)."""
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


def n_args(code: str) -> int:
    fn = _fn_node(code)
    if fn is None:
        return 0
    a = fn.args
    return len(a.posonlyargs) + len(a.args) + len(a.kwonlyargs) + bool(a.vararg) + bool(a.kwarg)


def n_lines(code: str) -> int:
    return code.count("\n") + 1


def has_banned_word(code: str, words: list[str]) -> bool:
    """Lower-cased substring match, as filter_dataset.py:229, 248-251 ("debug" contains "bug")."""
    low = code.lower()
    return any(w.lower() in low for w in words)


def uses_banned_import(code: str, modules: list[str]) -> bool:
    banned = set(modules)
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return True
    for node in ast.walk(tree):
        if isinstance(node, ast.Import) and any(a.name.split(".")[0] in banned for a in node.names):
            return True
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in banned:
            return True
        if isinstance(node, ast.Name) and node.id in banned:
            return True
    return False


def cheap_filters(cfg: dict) -> list[tuple[str, Callable[[Seed], bool]]]:
    s = cfg["seeds"]
    on = s["filters"]
    filters = [
        ("returns_value", lambda x: returns_value(x.seed)),
        ("min_args", lambda x: n_args(x.seed) >= s["min_args"]),
        ("max_lines", lambda x: n_lines(x.seed) <= s["max_lines"]),
        ("banned_words", lambda x: not has_banned_word(x.seed, s["banned_words"])),
        ("banned_imports", lambda x: not uses_banned_import(x.seed, s["banned_imports"])),
    ]
    return [(name, f) for name, f in filters if on[name]]
