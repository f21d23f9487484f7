"""Seed stage: Python functions with docstrings from a corpus, filtered into seeds.jsonl.

Order: extraction → cheap syntactic filters → benchmark decontamination → MinHash near-dedup →
seeded pool → autoimport → pyright type check → docstring judge (the base model) → seeded sample.
Every filter is switchable and counted. The official scripts (seed_gathering/) run the same
filters: generate_from_the_stack.py (extraction), high_quality_subset.py (return, autoimport,
pyright), filter_dataset.py (words, imports, benchmarks, length, arguments, judge); see
docs/FIDELITY.md for where the order differs. ``seeds.kind: random_snippets`` instead draws
random code fragments (src/star_align/collect_snippets.py), the paper's seed ablation.
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
    # any return with an argument, `return None` included (high_quality_subset.py:18-29)
    return any(isinstance(node, ast.Return) and node.value is not None for node in ast.walk(fn))


def n_args(code: str) -> int:
    fn = _fn_node(code)
    if fn is None:
        return 0
    a = fn.args
    return len(a.posonlyargs) + len(a.args) + len(a.kwonlyargs) + bool(a.vararg) + bool(a.kwarg)


def n_lines(code: str) -> int:
    return code.count("\n") + 1


def has_banned_word(code: str, words: list[str]) -> bool:
    """Lower-cased substring match, as filter_dataset.py:229, 248-251 ("debug" contains "bug")."""
    low = code.lower()
    return any(w.lower() in low for w in words)


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


# ------------------------------------------------------------------------------------ autoimport
def infer_imports(code: str, timeout_s: int = 10) -> tuple[str, str]:
    """(code with the imports its names need, "fixed" | "unchanged" | "failed"), by the autoimport
    package as high_quality_subset.py:99-113 (10 s alarm; on any error the code stays as it was)."""
    import signal
    import threading

    import autoimport

    main = threading.current_thread() is threading.main_thread()

    def expire(signum, frame):
        raise TimeoutError("autoimport took too long")

    old = signal.signal(signal.SIGALRM, expire) if main else None
    try:
        if main:
            signal.alarm(timeout_s)
        fixed = autoimport.fix_code(code)
    except Exception as e:  # autoimport raises whatever its parsers raise on odd code
        log.debug("autoimport failed: %s", e)
        return code, "failed"
    finally:
        if main:
            signal.alarm(0)
            signal.signal(signal.SIGALRM, old)
    return fixed, ("unchanged" if fixed == code else "fixed")


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
# The official judge (seed_gathering/filter_dataset.py:29-53, 182-206, 350-364): a GitHub-issue
# thread in which a user shows the code with the docstring cut out and the docstring apart, asks
# whether the description alone is enough to re-implement the function, and the reply says "My
# answer is: Yes/No". Seven such threads (shuffled for every prompt) precede the seed's thread;
# greedy, stop at the line end, 5 tokens, "yes" counted against "no" (a tie is no).
def load_judge_data() -> dict:
    import yaml
    with open(Path(__file__).parent / "data" / "judge.yaml") as f:
        data = yaml.safe_load(f)
    for i, shot in enumerate(data["shots"]):
        if shot.get("answer") not in ("Yes", "No") or not shot.get("rationale") or '"""' not in shot.get("code", ""):
            raise SeedError(f"judge.yaml: shot {i + 1} needs answer Yes/No, a rationale and a \"\"\"docstring")
    return data


def split_docstring(code: str) -> tuple[str, str]:
    """(docstring, code without it) at the first triple-quoted string, as filter_dataset.py:319-329."""
    import textwrap
    start = code.find('"""')
    end = code.find('"""', start + 4) if start >= 0 else -1
    if start < 0 or end < 0:
        raise SeedError("no triple-quoted docstring in the seed")
    return textwrap.dedent(code[start + 3:end]).strip(), code[:start] + code[end + 3:]


def _thread(data: dict, code: str, query: bool) -> str:
    """One issue: the code without its docstring, the docstring apart, the question; the open
    query carries "Upvotes: 100" before the reply, a few-shot thread "Upvotes: 200" after it."""
    doc, body = split_docstring(code)
    return (f"<issue_start>username_0: {data['opening'].strip()}\n\nHere is the code for the function:\n"
            f"```py\n{body}\n```\n\nHere is my description of this program:\n```\n{doc}\n```\n\n"
            f"{data['question'].strip()}" + ("\nUpvotes: 100" if query else "") +
            f"<issue_comment>username_1: {data['reply'].strip()}")


def judge_prompt(code: str, shots: int, rng: random.Random, data: dict | None = None) -> str:
    data = data or load_judge_data()
    pool = list(data["shots"])
    picked = rng.sample(pool, min(shots, len(pool)))       # all 7 by default, in a fresh order
    parts = [_thread(data, ex["code"], False) + f" {ex['answer']}\n\n{ex['rationale'].strip()}\n\nUpvotes: 200"
             for ex in picked]
    return "".join(parts) + _thread(data, code, True)


def parse_judgement(text: str) -> str | None:
    """"yes", "no" (more "no"s than "yes"es, or a tie with some), or None when neither word occurs."""
    low = text.lower()
    yes, no = low.count("yes"), low.count("no")
    if yes == no == 0:
        return None
    return "yes" if yes > no else "no"


def judge_seeds(backend, seeds: list[Seed], shots: int, votes: int, max_tokens: int, seed: int,
                progress: Callable[[int], None] | None = None, shuffle: bool = True) -> tuple[list[bool], dict]:
    """(keep flags, counts) by majority of yes/no votes; ties and garbage count as no. Counts:
    unparseable answers, and prompts longer than the context (no answer, so no: the official
    skips prompts over 16380 tokens, filter_dataset.py:339-346). ``shuffle`` False: one order of
    the shots for every prompt, so the shared few-shot prefix is computed once (CPU)."""
    data = load_judge_data()
    rng = (lambda s: random.Random(f"{seed}:judge:{s.id}")) if shuffle else (lambda s: random.Random(f"{seed}:judge"))
    prompts = [judge_prompt(s.seed, shots, rng(s), data) for s in seeds]
    temperature = 0.0 if votes == 1 else 0.7
    outs = backend.generate(prompts, n=votes, temperature=temperature, max_tokens=max_tokens,
                            stop=["\n"], seed=seed, progress=(lambda i, c: progress(1)) if progress else None)
    keep, counts = [], {"unparseable_answers": 0, "prompt_too_long": 0}
    for comps in outs:
        if all(c.finish_reason == "length" and not c.text and not c.completion_tokens for c in comps):
            counts["prompt_too_long"] += 1
            keep.append(False)
            continue
        answers = [parse_judgement(c.text) for c in comps]
        counts["unparseable_answers"] += sum(a is None for a in answers)
        keep.append(answers.count("yes") > answers.count("no"))
    return keep, counts


# ------------------------------------------------------------------------------ random snippets
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


# ---------------------------------------------------------------------------------------- stage
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
    from .evaluate.base import DataMissing, read_rows
    from .records import RecordError, from_dict

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
    from .records import write_json_atomic, write_jsonl_atomic

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


def run_seed_stage(cfg: dict, backend_factory: Callable[[], object] | None = None,
                   corpus: Iterable[tuple[str, str]] | None = None) -> tuple[list[Seed], Funnel]:
    from tqdm import tqdm

    from .decontam import build
    from .textsim import near_duplicates

    s, c = cfg["seeds"], cfg["corpus"]
    on = s["filters"]
    snippets = s["kind"] == "random_snippets"
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
            found, nb = (extract_snippets(text, path, cfg["seed"]), 0) if snippets else extract_functions(text, path)
        except Exception as e:  # a file tree-sitter cannot handle is skipped, never fatal
            log.warning("%s: extraction failed (%s)", path, e)
            broken += 1
            continue
        seeds += found
        broken += nb
    # exact duplicates (the same function in two files) are one seed; snippets compare without
    # whitespace (collect_snippets.py:576-593)
    key = (lambda x: "".join(x.seed.split())) if snippets else (lambda x: x.seed)
    seen, uniq = set(), []
    for x in seeds:
        if key(x) not in seen:
            seen.add(key(x))
            uniq.append(x)
    funnel.step("extracted", len(uniq), len(seeds) - len(uniq), files=stats.files or None,
                skipped_binary=stats.skipped_binary, skipped_encoding=stats.skipped_encoding,
                skipped_size=stats.skipped_size, syntax_errors=broken, kind=s["kind"])
    seeds = uniq
    if not seeds:
        raise SeedError("no function with a docstring found in the corpus" if not snippets else
                        "no snippet found in the corpus")

    def apply(name: str, keep: list[bool], **extra) -> None:
        nonlocal seeds
        before = len(seeds)
        seeds = [x for x, k in zip(seeds, keep) if k]
        funnel.step(name, len(seeds), before - len(seeds), **extra)
        if not seeds:
            raise SeedError(f"no seeds left: filter '{name}' removed the last {before} "
                            f"(disable it with seeds.filters.{name}: false, or widen the corpus)")

    rng = random.Random(cfg["seed"])
    if snippets:  # random snippets are not filtered (collect_snippets.py); only sampled
        if s["count"] and len(seeds) > s["count"]:
            picked = set(rng.sample(range(len(seeds)), s["count"]))
            apply("sample", [i in picked for i in range(len(seeds))])
        return seeds, funnel

    for name, f in cheap_filters(cfg):
        apply(name, [f(x) for x in seeds])

    if on["decontaminate"]:
        dec, report = build(cfg, "seeds")
        apply("decontaminate", [not dec.contaminated(x.seed) for x in seeds], benchmarks=report,
              method=s["decontamination"]["method"])

    if on["dedup"]:
        dd = s["dedup"]
        dup = near_duplicates([x.seed for x in seeds], dd["threshold"], dd["num_perm"], dd["shingle"], seed=cfg["seed"])
        apply("dedup", [not d for d in dup])

    if s["pool"] and len(seeds) > s["pool"]:
        picked = set(rng.sample(range(len(seeds)), s["pool"]))
        apply("pool", [i in picked for i in range(len(seeds))])

    if s["autoimport"]:
        status: dict[str, int] = {"fixed": 0, "unchanged": 0, "failed": 0}
        for x in tqdm(seeds, desc="autoimport", unit="fn", mininterval=2):
            x.seed, st = infer_imports(x.seed)
            status[st] += 1
        funnel.step("autoimport", len(seeds), 0, **status)

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
            keep, counts = judge_seeds(backend, seeds, j["shots"], j["votes"], j["max_tokens"], cfg["seed"], bar.update,
                                       shuffle=j["shuffle"])
        apply("judge", keep, **counts)

    if s["count"] and len(seeds) > s["count"]:
        picked = set(rng.sample(range(len(seeds)), s["count"]))
        apply("sample", [i in picked for i in range(len(seeds))])
    return seeds, funnel
