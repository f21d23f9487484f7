"""Seed stage: Python functions with docstrings from a corpus, filtered into seeds.jsonl.

The official scripts (seed_gathering/) run the same filters: generate_from_the_stack.py
(extraction), high_quality_subset.py (return, autoimport, pyright), filter_dataset.py (words,
imports, benchmarks, length, arguments, judge); see docs/FIDELITY.md for where the order differs.
``seeds.kind: random_snippets`` instead draws random code fragments
(src/star_align/collect_snippets.py), the paper's seed ablation.

One module a step: corpus.py (reading files), extract.py (functions, snippets), filters.py (the
cheap syntactic filters), typecheck.py (autoimport, pyright), judge.py (the docstring judge),
published.py (``seeds.file``: another run's seeds or the published set), stage.py (the order).
"""


class SeedError(RuntimeError):
    pass


# the stage's entry points (defined after SeedError, which every module here raises)
from .published import copy_seeds, read_seed_file  # noqa: E402
from .stage import run_seed_stage  # noqa: E402

__all__ = ["SeedError", "copy_seeds", "read_seed_file", "run_seed_stage"]
