"""Benchmark decontamination the official way: exact substring matches of benchmark docstrings
and solutions (Aho-Corasick, so millions of texts stay cheap).

Seeds (seed_gathering/filter_dataset.py:236-255): a function is dropped when it contains, case
sensitively, a HumanEval docstring or canonical solution or an MBPP problem text or solution.
Final data (src/star_align/decontamination/find_substrings.py:82-103, benchmark_data.py:157-178):
instruction + response, lower-cased, against the same strings plus DS-1000 prompts (and GSM8K
questions, given as an extra file). The older word-n-gram test stays available as
``seeds.decontamination.method: ngram``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

# HumanEval solutions generic enough to keep (benchmark_data.py:11-17). The official fourth entry is
# written 'return ''.join(strings)', which Python reads as 'return ' + '' + '.join(strings)': it
# never matches, so HumanEval/28's solution stays a contamination string there, and here.
GENERIC_HUMANEVAL = {"return x + y", "return len(string)", "return n**2", "return .join(strings)"}


def humaneval_docstring(prompt: str) -> str | None:
    """The docstring of a HumanEval prompt as benchmark_data.py:75-87 cuts it (None: no docstring)."""
    for quote in ('"""', "'''"):
        n = prompt.count(quote)
        if n == 2:
            return prompt.split(quote)[1].strip()
        if n == 4 and quote == '"""':
            return prompt.split(quote)[3].strip()
        if n:
            return None
    return None


def ds1000_prompt(prompt: str) -> str:
    """The problem part of a DS-1000 prompt (benchmark_data.py:20-28)."""
    for marker in ("SOLUTION START", "BEGIN SOLUTION"):
        if marker in prompt:
            return prompt.split(marker)[0]
    return prompt


def _local_rows(name: str, path: str | None, report: dict) -> list[dict]:
    from .benchdata import read_jsonl_any
    if not path or not Path(path).exists():
        report[name] = f"skipped: {name} data not found at {path}"
        return []
    return read_jsonl_any(path)


def benchmark_strings(names: list[str], data_paths: dict, extra_files: dict | None = None) -> tuple[dict, dict]:
    """{source: strings} of the named benchmarks, and {source: count or why skipped}."""
    from .benchdata import load_humaneval, read_jsonl_any

    out: dict[str, list[str]] = {}
    report: dict[str, object] = {}
    for name in names:
        if name == "humaneval":
            rows = load_humaneval()
            docs = [d for d in (humaneval_docstring(r["prompt"]) for r in rows) if d]
            sols = [s for s in (r["canonical_solution"].strip() for r in rows) if s and s not in GENERIC_HUMANEVAL]
            out["humaneval_docstrings"], out["humaneval_solutions"] = docs, sols
            report[name] = len(rows)
        elif name == "mbpp":
            # the test split, task ids 11-510 (benchmark_data.py:50-56)
            rows = [r for r in _local_rows(name, data_paths.get("mbpp"), report)
                    if not isinstance(r.get("task_id"), int) or 11 <= r["task_id"] <= 510]
            # MBPP texts and solutions and DS-1000 prompts are used as they are, not stripped
            # (benchmark_data.py:65-72, 31-41; only HumanEval's and GSM8K's are stripped, :75-154)
            if rows:
                out["mbpp_docstrings"] = [t for t in (str(r.get("text") or r.get("prompt") or "") for r in rows) if t.strip()]
                out["mbpp_solutions"] = [t for t in (str(r.get("code") or "") for r in rows) if t.strip()]
                report[name] = len(rows)
        elif name == "ds1000":
            rows = _local_rows(name, data_paths.get("ds1000"), report)
            if rows:
                out["ds1000_prompts"] = [t for t in (ds1000_prompt(str(r.get("prompt") or "")) for r in rows) if t.strip()]
                report[name] = len(rows)
        else:
            raise ValueError(f"unknown decontamination benchmark {name!r}")
    for name, path in (extra_files or {}).items():
        if not Path(path).exists():
            report[name] = f"skipped: file not found at {path}"
            continue
        rows = read_jsonl_any(path)
        out[name] = [v.strip() for r in rows for v in r.values() if isinstance(v, str) and v.strip()]
        report[name] = len(rows)
    return out, report


@dataclass
class SubstringMatcher:
    """Flags a text containing any benchmark string (lower-cased on both sides unless case_sensitive)."""
    strings: dict[str, list[str]]
    case_sensitive: bool = True
    _automaton: object = field(default=None, repr=False)

    def __post_init__(self) -> None:
        import ahocorasick

        a = ahocorasick.Automaton()
        for source, strs in sorted(self.strings.items()):
            for s in strs:
                key = s if self.case_sensitive else s.lower()
                if key and key not in a:
                    a.add_word(key, (source, s))
        if len(a):
            a.make_automaton()
            self._automaton = a

    def match(self, text: str) -> tuple[str, str] | None:
        """(source, benchmark string) of the first match, or None."""
        if self._automaton is None:
            return None
        for _, hit in self._automaton.iter(text if self.case_sensitive else text.lower()):
            return hit
        return None

    def contaminated(self, text: str) -> bool:
        return self.match(text) is not None


def build(cfg: dict, stage: str):
    """The decontaminator of a stage ("seeds" or "select") and a report of its sources. Anything
    with ``contaminated(text) -> bool``: a SubstringMatcher (official) or an n-gram Decontaminator."""
    d = cfg["seeds"]["decontamination"]
    names = d["benchmarks"] if stage == "seeds" else cfg["select"]["decontamination_benchmarks"]
    if d["method"] == "ngram":
        from .benchdata import benchmark_texts
        from .textsim import Decontaminator
        texts, report = benchmark_texts(names, cfg["evaluate"]["data"], d["files"])
        return Decontaminator(texts, n=d["ngram"], min_shared=d["min_shared"]), report
    strings, report = benchmark_strings(names, cfg["evaluate"]["data"], d["files"])
    return SubstringMatcher(strings, case_sensitive=(stage == "seeds")), report
