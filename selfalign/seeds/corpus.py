"""The corpus seeds are cut from: the .py files of a local tree (the CPU default: the running
interpreter's standard library) or a Hugging Face dataset streamed from the hub (The Stack for paper runs)."""
from __future__ import annotations

import sysconfig
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from . import SeedError


@dataclass
class CorpusStats:
    files: int = 0
    skipped_binary: int = 0
    skipped_encoding: int = 0
    skipped_size: int = 0


def default_corpus_path() -> Path:
    return Path(sysconfig.get_paths()["stdlib"])


def iter_local_corpus(root: str | Path | None, max_files: int = 0, max_bytes: int = 1_000_000,
                      stats: CorpusStats | None = None) -> Iterator[tuple[str, str]]:
    """(relative path, text) of every .py file under ``root`` in sorted order."""
    root = Path(root) if root else default_corpus_path()
    if not root.is_dir():
        raise SeedError(f"corpus directory not found: {root}")
    stats = stats if stats is not None else CorpusStats()
    files = sorted(p for p in root.rglob("*.py")
                   if not any(part in ("site-packages", "dist-packages", "__pycache__") for part in p.relative_to(root).parts))
    if not files:
        raise SeedError(f"corpus directory {root} holds no .py files")
    n = 0
    for p in files:
        if max_files and n >= max_files:
            break
        try:
            if p.stat().st_size > max_bytes:
                stats.skipped_size += 1
                continue
            data = p.read_bytes()
        except OSError:
            stats.skipped_encoding += 1
            continue
        if b"\x00" in data:
            stats.skipped_binary += 1
            continue
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            stats.skipped_encoding += 1
            continue
        n += 1
        stats.files += 1
        yield str(p.relative_to(root)), text


def iter_hf_corpus(dataset: str, data_dir: str | None, column: str, max_files: int = 0,
                   stats: CorpusStats | None = None) -> Iterator[tuple[str, str]]:
    """Stream a Hugging Face dataset (The Stack for paper runs). Needs network access to the hub."""
    try:
        from datasets import load_dataset
    except ImportError:
        raise SeedError("the datasets package is not installed") from None
    try:
        ds = load_dataset(dataset, data_dir=data_dir, split="train", streaming=True)
        it = iter(ds)
        first = next(it)
    except Exception as e:
        raise SeedError(f"cannot stream dataset {dataset!r} (data_dir={data_dir!r}): "
                        f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''} "
                        f"— offline? use corpus.source: local") from None
    stats = stats if stats is not None else CorpusStats()

    def rows():
        yield first
        yield from it

    for i, row in enumerate(rows()):
        if max_files and i >= max_files:
            break
        if column not in row:
            raise SeedError(f"dataset {dataset!r} has no column {column!r} (columns: {', '.join(row)})")
        stats.files += 1
        yield str(row.get("max_stars_repo_path") or row.get("path") or f"{dataset}#{i}"), row[column]
