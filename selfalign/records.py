"""Typed records of every pipeline box and resumable JSONL I/O.

A stage appends records to a *work file* as it goes and renames it to its declared output at the
end, so a killed stage resumes where it stopped: ids already in the work file are skipped. A killed
writer can leave a truncated last line; it is detected, reported and cut off. A corrupt line
anywhere else is an error naming the file and the line: it is never silently skipped.
"""
from __future__ import annotations

import dataclasses
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator, TypeVar

log = logging.getLogger(__name__)


class RecordError(ValueError):
    pass


@dataclass
class Seed:
    id: str
    seed: str                      # function source
    docstring: str
    source: str                    # file path or dataset row id
    lines: tuple[int, int]         # 1-based inclusive span in the source file
    name: str = ""


@dataclass
class Concepts:
    id: str
    seed_id: str
    seed: str
    concepts: list[str]            # empty when dropped
    fewshot_ids: list[str]
    ok: bool = True
    drop_reason: str = ""          # truncated | unparseable | empty
    raw: str = ""


@dataclass
class Instruction:
    id: str
    parent_id: str                 # concepts id (or seed id for S->I)
    seed_id: str
    concepts: list[str]
    category: str
    difficulty: str
    instruction: str
    fewshot_ids: list[str]
    ok: bool = True
    drop_reason: str = ""
    raw: str = ""


@dataclass
class Response:
    id: str                        # {instruction_id}-r{k}
    instruction_id: str
    instruction: str
    response: str                  # text with the fenced solution
    tests: str                     # fenced asserts
    code: str                      # extracted solution code
    test_code: str                 # extracted test code
    fewshot_ids: list[str]
    sampling: dict[str, Any] = field(default_factory=dict)
    ok: bool = True
    drop_reason: str = ""
    raw: str = ""


@dataclass
class Execution:
    id: str                        # = response id
    instruction_id: str
    verdict: str                   # pass | fail | timeout | memory | error
    exit_code: int | None
    duration_s: float
    stdout_tail: str = ""
    stderr_tail: str = ""


@dataclass
class SFTExample:
    id: str                        # = instruction id
    instruction: str
    response: str
    response_id: str
    seed_id: str
    concepts: list[str]
    category: str
    difficulty: str
    verdict: str
    augmented: bool = False


RECORD_TYPES = {c.__name__: c for c in (Seed, Concepts, Instruction, Response, Execution, SFTExample)}
T = TypeVar("T")


def to_dict(rec) -> dict:
    return dataclasses.asdict(rec) if dataclasses.is_dataclass(rec) else dict(rec)


def from_dict(cls: type[T], d: dict) -> T:
    names = {f.name for f in dataclasses.fields(cls)}
    missing = [f.name for f in dataclasses.fields(cls)
               if f.name not in d and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
    if missing:
        raise RecordError(f"{cls.__name__} record lacks {', '.join(missing)}")
    kw = {k: v for k, v in d.items() if k in names}
    if "lines" in kw and isinstance(kw["lines"], list):
        kw["lines"] = tuple(kw["lines"])
    return cls(**kw)


def _repair_tail(path: Path) -> None:
    """Cut off a truncated last line (no newline and not valid JSON) left by a killed writer."""
    size = path.stat().st_size
    if size == 0:
        return
    with open(path, "rb") as f:
        f.seek(-1, os.SEEK_END)
        if f.read(1) == b"\n":
            return
        # find the start of the last line
        block = min(size, 1 << 20)
        pos = size
        tail = b""
        while pos > 0:
            step = min(block, pos)
            pos -= step
            f.seek(pos)
            tail = f.read(step) + tail
            nl = tail.rfind(b"\n")
            if nl >= 0:
                start = pos + nl + 1
                break
        else:
            start = 0
        f.seek(start)
        last = f.read()
    try:
        json.loads(last)
    except ValueError:
        log.warning("%s: dropping a truncated last line (%d bytes) left by an interrupted run", path, len(last))
        with open(path, "r+b") as f:
            f.truncate(start)
        return
    with open(path, "ab") as f:   # complete JSON without its newline: just terminate it
        f.write(b"\n")


def iter_jsonl(path: str | Path, repair: bool = False) -> Iterator[dict]:
    """The objects of a JSONL file (``.gz`` too), with a RecordError naming a corrupt line."""
    from .benchdata import open_text
    path = Path(path)
    if repair and path.exists():
        _repair_tail(path)
    with open_text(path) as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except ValueError as e:
                raise RecordError(f"{path}:{lineno}: corrupt JSONL line ({e.msg}); fix or delete that line") from None
            if not isinstance(obj, dict):
                raise RecordError(f"{path}:{lineno}: expected a JSON object, got {type(obj).__name__}")
            yield obj


def read_records(path: str | Path, cls: type[T]) -> list[T]:
    out = []
    for i, d in enumerate(iter_jsonl(path), 1):
        try:
            out.append(from_dict(cls, d))
        except (RecordError, TypeError) as e:
            raise RecordError(f"{path}: record {i}: {e}") from None
    return out


def write_jsonl_atomic(path: str | Path, records: Iterable) -> int:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    n = 0
    with open(tmp, "w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(to_dict(r), ensure_ascii=False) + "\n")
            n += 1
        f.flush()
        os.fsync(f.fileno())
    tmp.replace(path)
    return n


def write_json_atomic(path: str | Path, obj: Any) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2, ensure_ascii=False, default=str)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())
    tmp.replace(path)


class ResumableWriter:
    """Append-only JSONL work file that knows which ids it already holds.

    Usage: ``w = ResumableWriter(work); todo = [x for x in items if x.id not in w.done]``;
    ``w.append(rec)`` per record; ``w.finish(final_path)`` renames atomically.
    """

    def __init__(self, work_path: str | Path):
        self.path = Path(work_path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.done: set[str] = set()
        if self.path.exists():
            for d in iter_jsonl(self.path, repair=True):
                self.done.add(d["id"])
            if self.done:
                log.info("%s: resuming, %d records already done", self.path, len(self.done))
        self._f = open(self.path, "a", encoding="utf-8")

    def append(self, rec) -> None:
        d = to_dict(rec)
        if d["id"] in self.done:
            return
        self._f.write(json.dumps(d, ensure_ascii=False) + "\n")
        self._f.flush()
        self.done.add(d["id"])

    def extend(self, recs: Iterable) -> None:
        for r in recs:
            self.append(r)
        self.sync()

    def sync(self) -> None:
        self._f.flush()
        os.fsync(self._f.fileno())

    def close(self) -> None:
        if not self._f.closed:
            self.sync()
            self._f.close()

    def finish(self, final_path: str | Path) -> Path:
        """Write the records, ordered by id, to ``final_path`` (atomically) and drop the work
        file: the output does not depend on completion order, resumes or sharding."""
        self.close()
        final = Path(final_path)
        write_jsonl_atomic(final, sorted(iter_jsonl(self.path), key=lambda d: d["id"]))
        self.path.unlink()
        return final

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


@dataclass(frozen=True)
class Shard:
    """Part ``index`` (0-based) of ``count``: a stage's work split for a cluster (scatter/gather)."""
    index: int = 0
    count: int = 1

    @classmethod
    def parse(cls, text: str | None) -> "Shard":
        if not text:
            return cls()
        try:
            k, n = (int(x) for x in text.split("/"))
        except ValueError:
            raise ValueError(f"--shard must be K/N (e.g. 0/4), got {text!r}") from None
        if not (n >= 1 and 0 <= k < n):
            raise ValueError(f"--shard {text}: need 0 <= K < N")
        return cls(k, n)

    def owns(self, position: int) -> bool:
        return position % self.count == self.index

    def __str__(self) -> str:  # the --shard spelling, K/N
        return f"{self.index}/{self.count}"


def gather_jsonl(parts: list[str | Path], out: str | Path) -> int:
    """Join the shard outputs of a stage into the file an unsharded run writes (ordered by id)."""
    recs: dict[str, dict] = {}
    for part in parts:
        for d in iter_jsonl(part):
            if d["id"] in recs and recs[d["id"]] != d:
                raise RecordError(f"{part}: record {d['id']} differs from the same id in another shard")
            recs[d["id"]] = d
    return write_jsonl_atomic(out, (recs[k] for k in sorted(recs)))


def work_path(final_path: str | Path) -> Path:
    """Where a stage accumulates its output before the final rename (outside Snakemake's outputs)."""
    final = Path(final_path)
    return final.parent / ".work" / final.name
