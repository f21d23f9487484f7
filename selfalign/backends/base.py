from __future__ import annotations

import abc
import hashlib
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable, Iterator


# finish_reason of a prompt the backend did not send: its tokens + max new tokens exceed the context
PROMPT_TOO_LONG = "prompt_too_long"


@dataclass
class Completion:
    text: str
    finish_reason: str          # "stop" | "length" | "loop" (the live loop guard) | PROMPT_TOO_LONG
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0      # prompt tokens served from the KV/prefix cache, where known
    token_ids: list[int] | None = None   # the generated ids, where the backend gives them (vLLM): doctor compares them


@dataclass
class GenerationStats:
    prompts: int = 0
    completions: int = 0
    prompt_tokens: int = 0
    cached_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    extra: dict = field(default_factory=dict)

    def add(self, c: Completion) -> None:
        self.completions += 1
        self.prompt_tokens += c.prompt_tokens
        self.cached_tokens += c.cached_tokens
        self.completion_tokens += c.completion_tokens

    def as_dict(self) -> dict:
        d = dict(self.__dict__)
        d["completion_tokens_per_s"] = round(self.completion_tokens / self.seconds, 2) if self.seconds else None
        d["cache_share"] = round(self.cached_tokens / self.prompt_tokens, 4) if self.prompt_tokens else None
        return d


class Collector:
    """One ``generate`` call's results, in prompt order: each completion is counted in the
    backend's stats as it arrives, and a prompt is handed to ``progress`` once its ``n`` are in."""

    def __init__(self, stats: GenerationStats, n_prompts: int, n: int,
                 progress: Callable[[int, list[Completion]], None] | None):
        self.stats, self.progress = stats, progress
        self.results: list[list[Completion | None]] = [[None] * n for _ in range(n_prompts)]
        self.left = [n] * n_prompts

    def add(self, i: int, k: int, c: Completion) -> None:
        """Sample ``k`` of prompt ``i``; the prompt is done with its ``n``-th."""
        self.results[i][k] = c
        self.stats.add(c)
        self.left[i] -= 1
        if self.left[i] == 0:
            self._done(i)

    def add_row(self, i: int, row: list[Completion]) -> None:
        """Every sample of prompt ``i`` at once (a backend that returns them together)."""
        self.results[i] = list(row)
        for c in row:
            self.stats.add(c)
        self.left[i] = 0
        self._done(i)

    def _done(self, i: int) -> None:
        self.stats.prompts += 1
        if self.progress:
            self.progress(i, self.results[i])


class Backend(abc.ABC):
    """One model, many prompts. Implementations must honour ``stop`` and return the finish reason."""

    name: str = "base"
    # Prompts per generate() call when resuming must reproduce a run exactly (see
    # generate.job_groups); None: the backend's output for a prompt does not depend on the
    # other prompts of the call, or exactness is not promised (servers, vLLM).
    resume_group: int | None = None

    def __init__(self) -> None:
        self.stats = GenerationStats()

    @abc.abstractmethod
    def generate(self, prompts: list[str], n: int = 1, temperature: float = 0.0, max_tokens: int = 256,
                 stop: list[str] | None = None, seed: int | None = None,
                 progress=None, keys: list[str] | None = None, top_p: float | None = None,
                 loop_guard: int = 0) -> list[list[Completion]]:
        """``progress`` (optional) is called with each finished prompt's completions. ``keys``
        (optional) are the prompts' record ids, for backends that seed each request by them;
        ``top_p`` None keeps the backend's own (sampling only: greedy decoding ignores it);
        ``loop_guard`` k > 0: a backend that can stops a sequence whose last lines repeat k times,
        with finish reason "loop" (llama.cpp; the others run to their limit)."""

    @contextmanager
    def collect(self, n_prompts: int, n: int, progress=None) -> Iterator[Collector]:
        """What every ``generate`` does around its decoding: results in prompt order, stats and
        progress per finished prompt (:class:`Collector`), and the call's wall time in ``stats``."""
        t0 = time.perf_counter()
        yield Collector(self.stats, n_prompts, n, progress)
        self.stats.seconds += time.perf_counter() - t0

    def describe(self) -> dict:
        """What the engine runs on, for provenance and ``selfalign doctor``: device, dtype, …"""
        return {}

    def count_tokens(self, text: str) -> int:  # pragma: no cover - overridden where cheap
        return len(text.split())

    def bos_info(self) -> tuple[str | None, bool]:
        """(the tokenizer's BOS token as text or None, whether encoding a prompt adds it): what
        selfalign/bos.py needs to start the SFT template with one BOS. Unknown here: (None, False)."""
        return None, False

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def sample_seed(seed: int | None, prompt: str, k: int) -> int:
    """The sampler seed of sample ``k`` of ``prompt``: from the run seed and the prompt's text, so a
    prompt gets the same samples whichever call or batch it is sent in (llama.cpp, openai)."""
    h = hashlib.blake2b(f"{seed}|{k}|".encode() + prompt.encode(), digest_size=4).digest()
    return int.from_bytes(h, "little") & 0x7FFFFFFF


def truncate_at_stop(text: str, stop: list[str] | None) -> tuple[str, bool]:
    """Cut ``text`` at the earliest stop string (for servers that may overshoot)."""
    if not stop:
        return text, False
    cut = min((i for i in (text.find(s) for s in stop) if i >= 0), default=-1)
    return (text[:cut], True) if cut >= 0 else (text, False)
