"""Text similarity tools shared by seed filtering and data selection: tokenising, n-gram
decontamination and MinHash-LSH near-dedup (datasketch)."""
from __future__ import annotations

import re
from typing import Iterable, Sequence

_TOKEN = re.compile(r"\w+|[^\w\s]")
_WORD = re.compile(r"\w+")


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text.lower())


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def ngrams(toks: Sequence[str], n: int) -> set[tuple[str, ...]]:
    if len(toks) < n:
        return {tuple(toks)} if toks else set()
    return {tuple(toks[i:i + n]) for i in range(len(toks) - n + 1)}


class Decontaminator:
    """Flags texts sharing at least ``min_shared`` token n-grams with any benchmark text."""

    def __init__(self, benchmark_texts: Iterable[str], n: int = 10, min_shared: int = 1):
        self.n = n
        self.min_shared = min_shared
        self.grams: set[tuple[str, ...]] = set()
        self.sources = 0
        for t in benchmark_texts:
            toks = tokens(t)
            if len(toks) >= n:          # too-short texts would match everything trivially
                self.grams |= ngrams(toks, n)
                self.sources += 1

    def contaminated(self, text: str) -> bool:
        if not self.grams:
            return False
        toks = tokens(text)
        hits = 0
        for i in range(len(toks) - self.n + 1):
            if tuple(toks[i:i + self.n]) in self.grams:
                hits += 1
                if hits >= self.min_shared:
                    return True
        return False


def shingles(text: str, k: int) -> list[bytes]:
    toks = tokens(text)
    if len(toks) < k:
        return [" ".join(toks).encode()] if toks else [b""]
    return [" ".join(toks[i:i + k]).encode() for i in range(len(toks) - k + 1)]


def near_duplicates(texts: Sequence[str], threshold: float, num_perm: int = 250, shingle: int = 5,
                    seed: int = 1) -> list[bool]:
    """For each text, whether it near-duplicates an EARLIER text (MinHash-LSH, Jaccard ≥ threshold).

    Insert-then-query in order, so the first of a group is kept. Near-linear: each text is hashed
    once (vectorised ``update_batch``) and queried against LSH buckets.
    """
    from datasketch import MinHash, MinHashLSH

    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    proto = MinHash(num_perm=num_perm, seed=seed)
    perms, scheme = proto.permutations, proto.scheme  # share permutations: big speed-up
    dup = []
    for i, t in enumerate(texts):
        m = MinHash(num_perm=num_perm, seed=seed, permutations=perms, scheme=scheme)
        m.update_batch(shingles(t, shingle))
        hit = bool(lsh.query(m))
        dup.append(hit)
        if not hit:
            lsh.insert(str(i), m)
    return dup


def jaccard(a: set, b: set) -> float:
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)


def seq_ratio(a: Sequence, b: Sequence) -> float:
    import difflib
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()


__all__ = ["tokens", "words", "ngrams", "Decontaminator", "near_duplicates", "jaccard", "seq_ratio"]
