"""llama.cpp in-process (llama-cpp-python): the CPU backend for smoke runs and CI.

Prompts are visited in sorted order so consecutive prompts share the longest prefixes;
llama-cpp-python keeps the KV cache of the previous call and evaluates only the tokens after the
longest common prefix, so a shared few-shot block is processed once, not once per prompt. The
``n`` samples of one prompt are consecutive, so samples after the first cost no prompt work.
Each (prompt, sample) gets its own seed derived from the run seed and the prompt text, so the
output of a prompt does not depend on which other prompts share its batch (resume-safe).
"""
from __future__ import annotations

import hashlib
import os
import time

from .base import Backend, Completion


def sample_seed(seed: int | None, prompt: str, k: int) -> int:
    h = hashlib.blake2b(f"{seed}|{k}|".encode() + prompt.encode(), digest_size=4).digest()
    return int.from_bytes(h, "little") & 0x7FFFFFFF


class LlamaCppBackend(Backend):
    name = "llamacpp"

    def __init__(self, model_path: str, n_ctx: int = 4096, n_threads: int = 0, n_batch: int = 512,
                 seed: int = 0, lora_path: str | None = None, top_p: float = 0.95, top_k: int = 64):
        super().__init__()
        try:
            from llama_cpp import Llama
        except ImportError as e:  # pragma: no cover - environment problem
            raise RuntimeError("llama-cpp-python is not installed: pip install 'selfalign[cpu]' "
                               "(or run scripts/setup.sh)") from e
        if not os.path.exists(model_path):
            raise FileNotFoundError(f"model file not found: {model_path}")
        if lora_path and not os.path.exists(lora_path):
            raise FileNotFoundError(f"LoRA adapter not found: {lora_path}")
        self.model_path = model_path
        self.lora_path = lora_path
        self.top_p = top_p
        # top-k bounds the candidates top-p must sort: with a 262k-token vocabulary (Gemma 3) an
        # unbounded top-p sort costs ~25% of generation speed on CPU.
        self.top_k = top_k
        threads = n_threads or os.cpu_count() or 1
        self.llm = Llama(model_path=model_path, n_ctx=n_ctx, n_threads=threads, n_threads_batch=threads,
                         n_batch=n_batch, seed=seed, lora_path=lora_path, verbose=False)
        self.n_ctx = n_ctx

    @classmethod
    def from_config(cls, path: str, cfg: dict, spec=None, lora_path: str | None = None, n_threads: int | None = None):
        b = cfg["backend"]
        n_ctx = min(b["n_ctx"], spec.context) if spec else b["n_ctx"]
        return cls(path, n_ctx=n_ctx, n_threads=n_threads if n_threads is not None else b["n_threads"],
                   n_batch=b["n_batch"], seed=cfg["seed"], lora_path=lora_path)

    def tokenize(self, text: str) -> list[int]:
        return self.llm.tokenize(text.encode("utf-8"), add_bos=True, special=False)

    def count_tokens(self, text: str) -> int:
        return len(self.tokenize(text))

    def _cached_prefix(self, tokens: list[int]) -> int:
        cur = self.llm._input_ids[: self.llm.n_tokens]
        n = 0
        for a, b in zip(cur, tokens):
            if a != b:
                break
            n += 1
        return min(n, max(len(tokens) - 1, 0))

    def complete_one(self, prompt: str, temperature: float, max_tokens: int, stop: list[str] | None,
                     seed: int, tokens: list[int] | None = None) -> Completion:
        tokens = tokens if tokens is not None else self.tokenize(prompt)
        budget = self.n_ctx - len(tokens)
        if budget <= 0:
            return Completion(text="", finish_reason="length", prompt_tokens=len(tokens))
        cached = self._cached_prefix(tokens)
        out = self.llm.create_completion(
            tokens, max_tokens=min(max_tokens, budget), temperature=temperature, top_p=self.top_p if temperature > 0 else 1.0,
            top_k=self.top_k if temperature > 0 else 0, min_p=0.0, repeat_penalty=1.0, stop=stop or [], seed=seed)
        ch = out["choices"][0]
        usage = out.get("usage", {})
        return Completion(text=ch["text"], finish_reason=ch.get("finish_reason") or "stop",
                          prompt_tokens=usage.get("prompt_tokens", len(tokens)),
                          completion_tokens=usage.get("completion_tokens", 0), cached_tokens=cached)

    def generate(self, prompts, n=1, temperature=0.0, max_tokens=256, stop=None, seed=None, progress=None):
        t0 = time.perf_counter()
        results: list[list[Completion] | None] = [None] * len(prompts)
        order = sorted(range(len(prompts)), key=lambda i: prompts[i])
        for i in order:
            tokens = self.tokenize(prompts[i])
            outs = []
            for k in range(n):
                c = self.complete_one(prompts[i], temperature, max_tokens, stop, sample_seed(seed, prompts[i], k), tokens)
                self.stats.add(c)
                outs.append(c)
            results[i] = outs
            self.stats.prompts += 1
            if progress:
                progress(i, outs)
        self.stats.seconds += time.perf_counter() - t0
        return results  # type: ignore[return-value]

    def close(self) -> None:
        llm = getattr(self, "llm", None)
        if llm is not None:
            llm.close() if hasattr(llm, "close") else None
            self.llm = None
