"""What a corpus file gives: its top-level functions with a docstring (tree-sitter, as the official
extraction query), or for the seed ablation random snippets of its lines."""
from __future__ import annotations

import ast
import hashlib
import random
import re

from ..records import Seed

_PARSER = None


def _parser():
    global _PARSER
    if _PARSER is None:
        import tree_sitter_python
        from tree_sitter import Language, Parser
        _PARSER = Parser(Language(tree_sitter_python.language()))
    return _PARSER


def _docstring_of(fn_node) -> str | None:
    body = fn_node.child_by_field_name("body")
    if body is None or body.named_child_count == 0:
        return None
    first = body.named_children[0]
    if first.type != "expression_statement" or first.named_child_count != 1:
        return None
    s = first.named_children[0]
    # triple double quotes only, no prefix (generate_from_the_stack.py:8-21, filter_dataset.py:285)
    if s.type != "string" or not s.text.startswith(b'"""') or not s.text.endswith(b'"""'):
        return None
    try:
        value = ast.literal_eval(s.text.decode("utf-8"))
    except (ValueError, SyntaxError, UnicodeDecodeError):
        return None
    return value if isinstance(value, str) else None


def seed_id(source: str, code: str) -> str:
    return "seed-" + hashlib.sha1(f"{source}\0{code}".encode()).hexdigest()[:12]


def extract_functions(text: str, source: str) -> tuple[list[Seed], int]:
    """Top-level functions whose first statement is a docstring; returns (seeds, syntax-error count)."""
    data = text.encode("utf-8")
    tree = _parser().parse(data)
    out, broken = [], 0
    for node in tree.root_node.named_children:
        fn = node
        if node.type == "decorated_definition":
            fn = node.child_by_field_name("definition")
        if fn is None or fn.type != "function_definition":
            continue
        doc = _docstring_of(fn)
        if doc is None or not doc.strip():
            continue
        if fn.has_error:
            broken += 1
            continue
        code = data[fn.start_byte:fn.end_byte].decode("utf-8")
        name_node = fn.child_by_field_name("name")
        out.append(Seed(id=seed_id(source, code), seed=code, docstring=doc.strip(), source=source,
                        lines=(fn.start_point[0] + 1, fn.end_point[0] + 1),
                        name=name_node.text.decode() if name_node else ""))
    return out, broken


# collect_snippets.py:241-264, 411-470 with its defaults: files cut into 100-line chunks from the
# end, one fragment of 5-30 consecutive lines drawn from each chunk of at least 10 lines.
SNIPPET_CHUNK, SNIPPET_MIN_DOC, SNIPPET_MIN, SNIPPET_MAX = 100, 10, 5, 30


def extract_snippets(text: str, source: str, run_seed: int) -> list[Seed]:
    import textwrap
    lines = text.splitlines(keepends=True)
    out = []
    for k, end in enumerate(range(len(lines), 0, -SNIPPET_CHUNK)):
        if end < SNIPPET_CHUNK and k > 0:
            break                                 # the short head of a long file is left out
        first = max(0, end - SNIPPET_CHUNK)
        doc = re.sub(r"\n\n+", "\n\n", "".join(lines[first:end]).replace("\r", ""))
        doc_lines = doc.splitlines(keepends=True)
        if len(doc_lines) < SNIPPET_MIN_DOC:
            continue
        rng = random.Random(f"{run_seed}:snippet:{source}:{k}")
        n = rng.randint(SNIPPET_MIN, min(SNIPPET_MAX, len(doc_lines)))
        start = rng.randint(0, len(doc_lines) - n)
        code = textwrap.dedent("".join(doc_lines[start:start + n]).replace("\t", "    "))
        if not any(c.isalpha() for c in code):   # symbols only (collect_snippets.py:586-589)
            continue
        out.append(Seed(id=seed_id(source, f"{k}:{code}"), seed=code, docstring="", source=source,
                        lines=(first + start + 1, first + start + n)))
    return out
