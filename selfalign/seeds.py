"""Seed stage: Python functions with docstrings from a corpus, filtered into seeds.jsonl.

Order: extraction → cheap syntactic filters → benchmark decontamination → MinHash near-dedup →
seeded pool → pyright type check → docstring judge (the base model) → seeded sample.
Every filter is switchable and counted.
"""
from __future__ import annotations

import ast
import hashlib
import json
import logging
import random
import re
import subprocess
import sys
import sysconfig
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator

from .funnel import Funnel
from .records import Seed

log = logging.getLogger(__name__)


class SeedError(RuntimeError):
    pass


# ---------------------------------------------------------------------------------------- corpus
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


# ------------------------------------------------------------------------------------ extraction
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
    if s.type != "string":
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


# --------------------------------------------------------------------------------- cheap filters
def _fn_node(code: str) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    try:
        mod = ast.parse(code)
    except SyntaxError:
        return None
    if len(mod.body) == 1 and isinstance(mod.body[0], (ast.FunctionDef, ast.AsyncFunctionDef)):
        return mod.body[0]
    return None


def returns_value(code: str) -> bool:
    fn = _fn_node(code)
    if fn is None:
        return False
    for node in ast.walk(fn):
        if isinstance(node, ast.Return) and node.value is not None and not (
                isinstance(node.value, ast.Constant) and node.value.value is None):
            return True
    return False


def n_args(code: str) -> int:
    fn = _fn_node(code)
    if fn is None:
        return 0
    a = fn.args
    return len(a.posonlyargs) + len(a.args) + len(a.kwonlyargs) + bool(a.vararg) + bool(a.kwarg)


def n_lines(code: str) -> int:
    return code.count("\n") + 1


def has_banned_word(code: str, words: list[str]) -> bool:
    return any(re.search(rf"\b{re.escape(w)}\b", code) for w in words)


def uses_banned_import(code: str, modules: list[str]) -> bool:
    banned = set(modules)
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return True
    for node in ast.walk(tree):
        if isinstance(node, ast.Import) and any(a.name.split(".")[0] in banned for a in node.names):
            return True
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in banned:
            return True
        if isinstance(node, ast.Name) and node.id in banned:
            return True
    return False


def cheap_filters(cfg: dict) -> list[tuple[str, Callable[[Seed], bool]]]:
    s = cfg["seeds"]
    on = s["filters"]
    filters = [
        ("returns_value", lambda x: returns_value(x.seed)),
        ("min_args", lambda x: n_args(x.seed) >= s["min_args"]),
        ("max_lines", lambda x: n_lines(x.seed) <= s["max_lines"]),
        ("banned_words", lambda x: not has_banned_word(x.seed, s["banned_words"])),
        ("banned_imports", lambda x: not uses_banned_import(x.seed, s["banned_imports"])),
    ]
    return [(name, f) for name, f in filters if on[name]]


# ------------------------------------------------------------------------------------ type check
PYRIGHT_CONFIG = {"typeCheckingMode": "basic", "pythonVersion": "3.11", "reportMissingModuleSource": False}


def _pyright_batch(sources: list[str], timeout_s: int) -> list[int] | None:
    """Error count per source, or None when pyright crashed or timed out on the batch."""
    with tempfile.TemporaryDirectory(prefix="selfalign-pyright-") as d:
        root = Path(d)
        (root / "pyrightconfig.json").write_text(json.dumps(PYRIGHT_CONFIG))
        for i, src in enumerate(sources):
            (root / f"f{i}.py").write_text(src)
        cmd = [sys.executable, "-m", "pyright", "--outputjson", "-p", str(root / "pyrightconfig.json")]
        try:
            proc = subprocess.run(cmd, cwd=root, capture_output=True, text=True, timeout=timeout_s)
        except subprocess.TimeoutExpired:
            return None
        if proc.returncode not in (0, 1):
            log.warning("pyright exited %s: %s", proc.returncode, (proc.stderr or proc.stdout)[-300:])
            return None
        try:
            report = json.loads(proc.stdout)
        except ValueError:
            return None
        counts = [0] * len(sources)
        for diag in report.get("generalDiagnostics", []):
            if diag.get("severity") != "error":
                continue
            name = Path(diag.get("file", "")).name
            if name.startswith("f") and name.endswith(".py") and name[1:-3].isdigit():
                counts[int(name[1:-3])] += 1
        return counts


def pyright_errors(sources: list[str], batch_size: int = 200, timeout_s: int = 300,
                   progress: Callable[[int], None] | None = None) -> list[int | None]:
    """Pyright error count per source. A batch that crashes is bisected, so one bad input costs
    only itself (None) rather than its whole batch."""
    out: list[int | None] = [None] * len(sources)

    def run(lo: int, hi: int) -> None:
        res = _pyright_batch(sources[lo:hi], timeout_s)
        if res is not None:
            out[lo:hi] = res
            if progress:
                progress(hi - lo)
            return
        if hi - lo == 1:
            log.warning("pyright failed on one function; dropping it")
            if progress:
                progress(1)
            return
        mid = (lo + hi) // 2
        run(lo, mid)
        run(mid, hi)

    for lo in range(0, len(sources), batch_size):
        run(lo, min(lo + batch_size, len(sources)))
    return out


# ------------------------------------------------------------------------------------ LLM judge
def load_judge_data() -> dict:
    import yaml
    with open(Path(__file__).parent / "data" / "judge.yaml") as f:
        return yaml.safe_load(f)


def judge_prompt(code: str, shots: int, data: dict | None = None) -> str:
    data = data or load_judge_data()
    parts = [data["instruction"].strip(), ""]
    for ex in data["examples"][:shots]:
        parts += ["### Function", "```python", ex["code"].rstrip(), "```", f"### Good seed (yes/no): {ex['answer']}", ""]
    parts += ["### Function", "```python", code.rstrip(), "```", "### Good seed (yes/no):"]
    return "\n".join(parts)


def parse_judgement(text: str) -> str | None:
    m = re.match(r"\s*(yes|no)\b", text.strip().lower())
    return m.group(1) if m else None


def judge_seeds(backend, seeds: list[Seed], shots: int, votes: int, max_tokens: int, seed: int,
                progress: Callable[[int], None] | None = None) -> tuple[list[bool], int]:
    """(keep flags, unparseable answers) by majority of yes/no votes; ties and garbage count as no."""
    data = load_judge_data()
    prompts = [judge_prompt(s.seed, shots, data) for s in seeds]
    temperature = 0.0 if votes == 1 else 0.7
    outs = backend.generate(prompts, n=votes, temperature=temperature, max_tokens=max_tokens,
                            stop=["\n"], seed=seed, progress=(lambda i, c: progress(1)) if progress else None)
    keep, garbage = [], 0
    for comps in outs:
        answers = [parse_judgement(c.text) for c in comps]
        garbage += sum(a is None for a in answers)
        keep.append(answers.count("yes") > answers.count("no"))
    return keep, garbage


# ---------------------------------------------------------------------------------------- stage
def copy_seeds(src: str | Path, out: str | Path, funnel_out: str | Path) -> int:
    """``seeds.file``: another run's seeds (validated records) and its funnel, with a step saying so."""
    import json

    from .records import read_records, write_json_atomic, write_jsonl_atomic

    src = Path(src)
    if not src.exists():
        raise FileNotFoundError(f"seeds.file {src} does not exist (run the config that makes it first, "
                                f"e.g. `make run` for results/selfalign/gemma3-270m/seeds.jsonl)")
    seeds = read_records(src, Seed)
    write_jsonl_atomic(out, seeds)
    funnel_src = src.with_name("seeds.funnel.json")
    steps = json.loads(funnel_src.read_text())["steps"] if funnel_src.exists() else []
    steps.append({"stage": "seeds", "step": "from_file", "kept": len(seeds), "dropped": 0, "file": str(src)})
    write_json_atomic(funnel_out, {"stage": "seeds", "steps": steps})
    return len(seeds)


def run_seed_stage(cfg: dict, backend_factory: Callable[[], object] | None = None,
                   corpus: Iterable[tuple[str, str]] | None = None) -> tuple[list[Seed], Funnel]:
    from tqdm import tqdm

    from .benchdata import benchmark_texts
    from .textsim import Decontaminator, near_duplicates

    s, c = cfg["seeds"], cfg["corpus"]
    on = s["filters"]
    funnel = Funnel("seeds")
    stats = CorpusStats()
    if corpus is None:
        if c["source"] == "local":
            corpus = iter_local_corpus(c["path"], c["max_files"], c["max_file_bytes"], stats)
        else:
            corpus = iter_hf_corpus(c["hf_dataset"], c["hf_data_dir"], c["hf_column"], c["max_files"], stats)

    seeds: list[Seed] = []
    broken = 0
    for path, text in tqdm(corpus, desc="extract", unit="file", mininterval=2):
        try:
            found, nb = extract_functions(text, path)
        except Exception as e:  # a file tree-sitter cannot handle is skipped, never fatal
            log.warning("%s: extraction failed (%s)", path, e)
            broken += 1
            continue
        seeds += found
        broken += nb
    # exact duplicates (the same function in two files) are one seed
    seen, uniq = set(), []
    for x in seeds:
        if x.seed not in seen:
            seen.add(x.seed)
            uniq.append(x)
    funnel.step("extracted", len(uniq), len(seeds) - len(uniq), files=stats.files or None,
                skipped_binary=stats.skipped_binary, skipped_encoding=stats.skipped_encoding,
                skipped_size=stats.skipped_size, syntax_errors=broken)
    seeds = uniq
    if not seeds:
        raise SeedError("no function with a docstring found in the corpus")

    def apply(name: str, keep: list[bool], **extra) -> None:
        nonlocal seeds
        before = len(seeds)
        seeds = [x for x, k in zip(seeds, keep) if k]
        funnel.step(name, len(seeds), before - len(seeds), **extra)
        if not seeds:
            raise SeedError(f"no seeds left: filter '{name}' removed the last {before} "
                            f"(disable it with seeds.filters.{name}: false, or widen the corpus)")

    for name, f in cheap_filters(cfg):
        apply(name, [f(x) for x in seeds])

    if on["decontaminate"]:
        d = s["decontamination"]
        texts, report = benchmark_texts(d["benchmarks"], cfg["evaluate"]["data"], d["files"])
        dec = Decontaminator(texts, n=d["ngram"], min_shared=d["min_shared"])
        apply("decontaminate", [not dec.contaminated(x.seed) for x in seeds], benchmarks=report)

    if on["dedup"]:
        dd = s["dedup"]
        dup = near_duplicates([x.seed for x in seeds], dd["threshold"], dd["num_perm"], dd["shingle"], seed=cfg["seed"])
        apply("dedup", [not d for d in dup])

    rng = random.Random(cfg["seed"])
    if s["pool"] and len(seeds) > s["pool"]:
        picked = set(rng.sample(range(len(seeds)), s["pool"]))
        apply("pool", [i in picked for i in range(len(seeds))])

    if on["typecheck"]:
        with tqdm(total=len(seeds), desc="pyright", unit="fn") as bar:
            errs = pyright_errors([x.seed for x in seeds], s["typecheck_batch"], s["typecheck_timeout_s"], bar.update)
        crashed = sum(e is None for e in errs)
        apply("typecheck", [e == 0 for e in errs], pyright_crashed=crashed)

    if on["judge"]:
        if backend_factory is None:
            raise SeedError("the judge filter needs a model backend")
        backend = backend_factory()
        j = s["judge"]
        with tqdm(total=len(seeds), desc="judge", unit="seed") as bar:
            keep, garbage = judge_seeds(backend, seeds, j["shots"], j["votes"], j["max_tokens"], cfg["seed"], bar.update)
        apply("judge", keep, unparseable_answers=garbage)

    if s["count"] and len(seeds) > s["count"]:
        picked = set(rng.sample(range(len(seeds)), s["count"]))
        apply("sample", [i in picked for i in range(len(seeds))])
    return seeds, funnel
