"""Filters that keep small models honest: few-shot-copy detection and test sanity.

A small base model "passes" its own tests mostly by copying the examples of its prompt (measured
with Gemma-3-270M: 15 of 16 passing samples). Code is compared after normalising identifiers and
literals, so a copy under a new function name is still a copy; instructions by word sequence.
"""
from __future__ import annotations

import ast
import builtins
import io
import keyword
import tokenize

from ..textsim import seq_ratio, words

_KEEP_NAMES = set(dir(builtins)) | set(keyword.kwlist)


def normalized_code_tokens(code: str) -> list[str]:
    """Token stream with identifiers → ID, numbers → NUM, strings → STR; comments and layout dropped."""
    out = []
    try:
        toks = list(tokenize.generate_tokens(io.StringIO(code).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return code.split()
    for t in toks:
        if t.type == tokenize.NAME:
            out.append(t.string if t.string in _KEEP_NAMES else "ID")
        elif t.type == tokenize.NUMBER:
            out.append("NUM")
        elif t.type == tokenize.STRING or t.type == getattr(tokenize, "FSTRING_START", -1):
            out.append("STR")  # f-string parts (3.12+) other than the start are skipped
        elif t.type == tokenize.OP:
            out.append(t.string)
    return out


def code_similarity(a: str, b: str) -> float:
    return seq_ratio(normalized_code_tokens(a), normalized_code_tokens(b))


def text_similarity(a: str, b: str) -> float:
    return seq_ratio(words(a), words(b))


def copy_reason(instruction: str, code: str, test_code: str, instr_shots: list, resp_shots: list,
                code_threshold: float, text_threshold: float) -> str:
    """'' if original, else which part copies which few-shot example."""
    from ..prompts import code_blocks

    for ex in instr_shots:
        if text_similarity(instruction, ex.instruction) >= text_threshold:
            return f"instruction copies {ex.id}"
    for ex in resp_shots:
        ex_code = "\n\n".join(code_blocks(ex.response))
        if code and code_similarity(code, ex_code) >= code_threshold:
            return f"response copies {ex.id}"
        ex_tests = "\n\n".join(code_blocks(ex.tests))
        if test_code and code_similarity(test_code, ex_tests) >= code_threshold:
            return f"tests copy {ex.id}"
    return ""


def defined_names(code: str) -> set[str]:
    """Top-level functions, classes and assigned names of the response's code."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return set()
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for t in targets:
                names |= {n.id for n in ast.walk(t) if isinstance(n, ast.Name)}
    return names


def exercises_response_code(code: str, test_code: str) -> bool:
    """True when some assert of the tests calls (directly or through a variable built from such a
    call) a function or class that the response defines."""
    defined = {n for n in defined_names(code)}
    if not defined:
        return False
    try:
        tree = ast.parse(test_code)
    except SyntaxError:
        return False
    # names in the tests whose value derives from the response's code, one pass in order
    tainted = set(defined)
    for node in ast.walk(tree):
        if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign, ast.For, ast.With)):
            value = getattr(node, "value", None) or getattr(node, "iter", None)
            if value is None and isinstance(node, ast.With):
                value = node.items[0].context_expr if node.items else None
            if value is not None and any(isinstance(n, ast.Name) and n.id in tainted for n in ast.walk(value)):
                targets = getattr(node, "targets", None) or [getattr(node, "target", None)]
                if isinstance(node, ast.With):
                    targets = [i.optional_vars for i in node.items if i.optional_vars is not None]
                for t in targets:
                    if t is not None:
                        tainted |= {n.id for n in ast.walk(t) if isinstance(n, ast.Name)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assert):
            has_call = any(isinstance(n, ast.Call) for n in ast.walk(node.test))
            uses = any(isinstance(n, ast.Name) and n.id in tainted for n in ast.walk(node.test))
            calls_defined = any(isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id in defined
                                for n in ast.walk(node.test))
            if calls_defined or (uses and (has_call or any(n.id in tainted - defined for n in ast.walk(node.test)
                                                           if isinstance(n, ast.Name)))):
                return True
    return False
