"""The seed stage, in the official order: extraction → MinHash near-dedup → value-returning
`return` → seeded pool (CPU budget) → autoimport → pyright type check → banned words and imports,
benchmark decontamination, length, argument check (on the autoimported code) → docstring judge
(the base model) → seeded sample, every step counted in the funnel."""
from __future__ import annotations

import logging
import random
from typing import Callable, Iterable

from ..records import Seed
from ..report.funnel import Funnel
from . import SeedError
from .corpus import CorpusStats, iter_hf_corpus, iter_local_corpus
from .extract import extract_functions, extract_snippets
from .filters import early_filters, text_filters
from .judge import judge_seeds
from .typecheck import infer_imports, pyright_errors

log = logging.getLogger(__name__)


def run_seed_stage(cfg: dict, backend_factory: Callable[[], object] | None = None,
                   corpus: Iterable[tuple[str, str]] | None = None) -> tuple[list[Seed], Funnel]:
    from tqdm import tqdm

    from ..decontam import build
    from ..textsim import near_duplicates

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

    # The official order (seed_gathering/README.md): near-dedup right after extraction; the return
    # filter, autoimport and pyright (high_quality_subset.py); then filter_dataset.py's text checks
    # on the autoimported code; the judge last. Our CPU pool is drawn before the expensive steps.
    if on["dedup"]:
        dd = s["dedup"]
        dup = near_duplicates([x.seed for x in seeds], dd["threshold"], dd["num_perm"], dd["shingle"], seed=cfg["seed"])
        apply("dedup", [not d for d in dup])

    for name, f in early_filters(cfg):
        apply(name, [f(x) for x in seeds])

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

    dec, report = build(cfg, "seeds") if on["decontaminate"] else (None, None)
    for name, f in text_filters(cfg, (lambda code: not dec.contaminated(code)) if dec else None):
        extra = {"benchmarks": report, "method": s["decontamination"]["method"]} if name == "decontaminate" else {}
        apply(name, [f(x) for x in seeds], **extra)

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
