"""The official final-data cleanup (src/star_align/sanitize_data.py), as pure functions over one
sample: incomplete-code markers, the set of defined names, the code representation used for the
last MinHash pass, and the optional assert augmentation of the instruction."""
from __future__ import annotations

import ast
import random
import re

# sanitize_data.py:83-90, matched lower-cased anywhere in the response and its tests (:134)
INCOMPLETE_MARKERS = ["todo", "fixme", "write your code here", "your code here", "your code goes here",
                      "notimplemented"]


def incomplete_marker(text: str, markers: list[str]) -> str | None:
    low = text.lower()
    return next((m for m in markers if m.lower() in low), None)


def instruction_words(text: str) -> int:
    """Whitespace-separated words (sanitize_data.py:375)."""
    return len(text.split())


def whitespace_key(text: str) -> str:
    """Exact-match key of sanitize_data.py:363-364: the text without any whitespace."""
    return "".join(text.split())


def _compress(name: str) -> str:
    return name.replace("_", "").lower()


def name_sets(code: str) -> tuple[frozenset[str], frozenset[str]]:
    """(function names, class names) defined anywhere in ``code``, lower-cased without underscores
    (sanitize_data.py:42-80). Raises SyntaxError."""
    tree = ast.parse(code)
    fns, classes = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            fns.add(_compress(node.name))
        elif isinstance(node, ast.ClassDef):
            classes.add(_compress(node.name))
    return frozenset(fns), frozenset(classes)


class NameSetDedup:
    """Keeps a sample only when neither its set of function names nor its set of class names was
    seen before (sanitize_data.py:380-393: both sets go into one seen-set; empty sets never match)."""

    def __init__(self) -> None:
        self.seen: set[frozenset[str]] = set()

    def check(self, code: str) -> str:
        """'' (new: remembered), 'names_seen' or 'syntax_error'."""
        try:
            fns, classes = name_sets(code)
        except (SyntaxError, ValueError):
            return "syntax_error"
        if (fns and fns in self.seen) or (classes and classes in self.seen):
            return "names_seen"
        self.seen |= {fns, classes}
        return ""


def _strip_docstrings(tree: ast.AST) -> None:
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
                node.body = node.body[1:] or [ast.Pass()]


def code_representation(code: str) -> str | None:
    """Top-level functions and classes of the response's code without docstrings, unparsed
    (sanitize_data.py:262-281); None on a syntax error. '' when it defines neither."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return None
    tree.body = [n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))]
    _strip_docstrings(tree)
    return ast.unparse(tree)


def augment_with_asserts(instruction: str, test_code: str, rng: random.Random, prob: float = 0.5) -> str:
    """sanitize_data.py:165-195: append 1-5 of the asserts (all of a non-assert test block of at
    most 5 lines) as "Your code should pass the following …", with probability ``prob`` (0.5 when
    the official --data_augmentation is on), unless the instruction already shows tests or examples."""
    lines = test_code.splitlines()
    if lines and all(ln.startswith("assert") for ln in lines):
        picked = rng.sample(lines, k=min(rng.choice([1, 2, 3, 4, 5]), len(lines)))
        block, term = "\n".join(picked), "assertion" + ("s" if len(picked) > 1 else "")
    else:
        block, term = test_code, "test case"
    low = instruction.lower()
    if ("assert" in block and len(block.splitlines()) <= 5 and rng.random() < prob
            and "assert" not in instruction and "for example" not in low and "test" not in low):
        return f"{instruction}\n\nYour code should pass the following {term}:\n```python\n{block.strip()}\n```"
    return instruction


_NON_WORD = re.compile(r"\W", re.UNICODE)


def minhash_pieces(text: str) -> int:
    """Pieces of minhash_dedup.py:133/334's split (a text of fewer than 5 is dropped there)."""
    return len(_NON_WORD.split(text.lower()))
