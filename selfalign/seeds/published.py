"""Seeds from a file (``seeds.file``): another run's seeds.jsonl, or the published seed set in its
own format, from the hub or a local copy."""
from __future__ import annotations

import ast
import json
from pathlib import Path

from ..records import Seed
from . import SeedError
from .extract import seed_id
from .filters import n_lines

PUBLISHED_SPLIT = "train"


def published_seed(row: dict, source: str) -> Seed | None:
    """A row of the published seed set (bigcode/python-stack-v1-functions-filtered-sc2: content,
    sha1, id; the content is autoimport's output, imports first) as a Seed; None without a
    function that has a docstring."""
    code = row.get("content") or ""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return None
    fn = next((n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and ast.get_docstring(n)), None)
    if fn is None:
        return None
    sid = "seed-" + str(row["sha1"])[:12] if row.get("sha1") else seed_id(source, code)
    return Seed(id=sid, seed=code, docstring=ast.get_docstring(fn).strip(), source=f"{source}#{row.get('id', '')}",
                lines=(1, n_lines(code)), name=fn.name)


def read_seed_file(spec: str) -> tuple[list[Seed], dict]:
    """Seeds from ``seeds.file``: our seeds.jsonl, or the published seed set in its own format —
    ``hf:<dataset>[:<split>]`` from the hub (GPU users with network) or a local .jsonl/.parquet
    copy of it. Returns (seeds, funnel-step extras)."""
    from ..evaluate.base import DataMissing, read_rows
    from ..records import RecordError, from_dict

    if spec.startswith("hf:"):
        ds_id, _, split = spec[3:].partition(":")
        spec = f"hf:{ds_id}:{split or PUBLISHED_SPLIT}"
    elif not Path(spec).exists():
        raise FileNotFoundError(f"seeds.file {spec} does not exist (run the config that makes it first, "
                                f"e.g. `make run` for results/selfalign/gemma3-270m/seeds.jsonl)")
    try:
        rows, where = read_rows(spec, "seeds.file")
    except DataMissing as e:
        raise SeedError(f"seeds.file: {str(e).removeprefix('skipped: ')}") from None
    if rows and "content" in rows[0] and "seed" not in rows[0]:
        name = spec[3:].rsplit(":", 1)[0] if spec.startswith("hf:") else Path(spec).name
        seeds = [x for x in (published_seed(r, name) for r in rows) if x is not None]
        return seeds, {"format": "published", "rows": len(rows), "unparseable": len(rows) - len(seeds), **where}
    try:
        return [from_dict(Seed, r) for r in rows], {}
    except RecordError as e:
        raise SeedError(f"seeds.file {spec}: {e}") from None


def copy_seeds(src: str | Path, out: str | Path, funnel_out: str | Path) -> int:
    """``seeds.file``: another run's seeds (validated records) and its funnel, or the published
    seed set, with a step saying so."""
    from ..records import write_json_atomic, write_jsonl_atomic

    seeds, extra = read_seed_file(str(src))
    if not seeds:
        raise SeedError(f"seeds.file {src}: no usable seed in it")
    write_jsonl_atomic(out, seeds)
    funnel_src = Path(src).with_name("seeds.funnel.json") if not str(src).startswith("hf:") else None
    steps = json.loads(funnel_src.read_text())["steps"] if funnel_src and funnel_src.exists() else []
    steps.append({"stage": "seeds", "step": "from_file", "kept": len(seeds), "dropped": extra.get("unparseable", 0),
                  "file": str(src), **{k: v for k, v in extra.items() if k not in ("unparseable",)}})
    write_json_atomic(funnel_out, {"stage": "seeds", "steps": steps})
    return len(seeds)
