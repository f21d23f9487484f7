"""Regenerate the paper's tables and figures from results/, beside the paper's published numbers.

Tables: Markdown (paper/*.md) and LaTeX booktabs (paper/*.tex); figures: PNG + PDF (figures/).
Everything is a pure function of the files under results/ and the reference CSV: deleting the
outputs and re-running gives the same bytes (no timestamps; PDF creation dates off).

results.py reads results/ and the reference; table.py renders a table; one module a table family
(headline.py, ablations.py, data.py, replication.py); figures.py draws; build.py writes them all.
"""
from .build import build_paper

__all__ = ["build_paper"]
