"""Batched decoding on llama.cpp: several sequences per ``llama_decode`` over one KV cache.

On a 2-core CPU, Gemma-3-270M decodes ~40 tok/s as one sequence and ~93 tok/s as 8 and ~125 tok/s
as 16 sequences stepped together (bench/generation.py): one pass over the weights serves every
sequence of the step. This engine keeps ``parallel`` slots busy (continuous batching: a finished
slot takes the next job at once). Each slot has its own KV stream of ``n_ctx`` cells: in one
*unified* pool every token would attend over every cell in use, which made long few-shot prompts
~5x slower here. A new job starts from the longest prefix any slot holds: its own stream is cut
back to it, or another stream is copied (``llama_memory_seq_cp`` copies whole streams) and cut,
so a shared few-shot block or the ``n`` samples of one prompt cost their prompt once.

Determinism: everything the engine does is a function of the job list alone (slot assignment,
batch layout, KV placement after a clear, per-job sampler seeds), so the same jobs give the same
text. llama.cpp's numerics do depend on which sequences share a step, so a *different* job list can
change a prompt's output slightly; callers that resume (``generate.run_jobs``) therefore cut their
work into fixed groups and re-run a whole group.
"""
from __future__ import annotations

import ctypes
from collections import deque
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ..prompts import loop_cut


@dataclass
class EngineJob:
    key: object                 # returned with the result
    tokens: list[int]
    temperature: float
    max_tokens: int
    seed: int
    stop: list[str]
    top_p: float | None = None  # None: the engine's
    loop_guard: int = 0         # k > 0: end the sequence once its last lines repeat k times ("loop")


@dataclass
class EngineResult:
    key: object
    text: str
    finish_reason: str
    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int


@dataclass
class _Slot:
    index: int
    kv: list[int] = field(default_factory=list)        # tokens whose KV cells this sequence holds
    job: EngineJob | None = None
    pending: list[int] = field(default_factory=list)   # prompt tokens still to decode
    next_token: int | None = None                      # sampled, to be decoded next step
    out: bytearray = field(default_factory=bytearray)
    n_gen: int = 0
    limit: int = 0
    cached: int = 0
    sampler: object = None


def _common_prefix(a: list[int], b: list[int]) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


# Copying a stream costs a pass over its whole buffer: worth it only for a real shared prefix.
MIN_SHARED = 32


class BatchEngine:
    def __init__(self, model, n_ctx: int, parallel: int, n_batch: int, n_threads: int,
                 lora_adapter=None, top_k: int = 64, top_p: float = 0.95):
        import llama_cpp as L

        self.L = L
        self.model = model
        self.vocab = L.llama_model_get_vocab(model)
        self.n_vocab = L.llama_vocab_n_tokens(self.vocab)
        self.n_ctx = n_ctx
        self.parallel = max(1, parallel)
        self.n_batch = n_batch
        self.top_k, self.top_p = top_k, top_p
        p = L.llama_context_default_params()
        p.n_ctx = n_ctx * self.parallel      # one stream of n_ctx cells per sequence
        p.n_batch = n_batch
        p.n_ubatch = min(n_batch, 512)
        p.n_seq_max = self.parallel
        p.n_threads = p.n_threads_batch = n_threads
        p.kv_unified = False
        # full-size sliding-window caches (Gemma 3): a stream cut back to a prefix keeps every
        # position the next tokens attend to
        p.swa_full = True
        p.no_perf = True
        p.flash_attn_type = 0  # as llama-cpp-python's Llama (disabled): same numbers as its create_completion
        self.ctx = L.llama_init_from_model(model, p)
        if not self.ctx:
            raise RuntimeError(f"llama.cpp could not create a context of {self.parallel} sequences × {n_ctx} "
                               f"cells (lower backend.parallel or backend.n_ctx)")
        if lora_adapter is not None:
            adapters = (L.llama_adapter_lora_p_ctypes * 1)(lora_adapter)
            scales = (ctypes.c_float * 1)(1.0)
            if L.llama_set_adapters_lora(self.ctx, adapters, 1, scales):
                raise RuntimeError("llama.cpp could not apply the LoRA adapter to the batch context")
        self.mem = L.llama_get_memory(self.ctx)
        self.batch = L.llama_batch_init(n_batch, 0, 1)
        self._piece_buf = ctypes.create_string_buffer(256)

    # -- helpers -----------------------------------------------------------------------------
    def _piece(self, tok: int) -> bytes:
        n = self.L.llama_token_to_piece(self.vocab, tok, self._piece_buf, len(self._piece_buf), 0, False)
        if n < 0:  # longer than the buffer: grow once and retry
            self._piece_buf = ctypes.create_string_buffer(-n)
            n = self.L.llama_token_to_piece(self.vocab, tok, self._piece_buf, len(self._piece_buf), 0, False)
        return self._piece_buf.raw[:n]

    def _new_sampler(self, job: EngineJob):
        if job.temperature <= 0:
            return None  # greedy: argmax of the logits, no sampler state
        L = self.L
        chain = L.llama_sampler_chain_init(L.llama_sampler_chain_default_params())
        # top-k bounds the candidates top-p must sort (a 262k vocabulary makes an unbounded sort costly)
        if self.top_k > 0:
            L.llama_sampler_chain_add(chain, L.llama_sampler_init_top_k(self.top_k))
        L.llama_sampler_chain_add(chain, L.llama_sampler_init_top_p(job.top_p if job.top_p is not None else self.top_p, 1))
        L.llama_sampler_chain_add(chain, L.llama_sampler_init_temp(job.temperature))
        L.llama_sampler_chain_add(chain, L.llama_sampler_init_dist(job.seed))
        return chain

    def _free_sampler(self, slot: _Slot) -> None:
        if slot.sampler is not None:
            self.L.llama_sampler_free(slot.sampler)
            slot.sampler = None

    def _add(self, tok: int, pos: int, seq: int, logits: bool) -> int:
        b = self.batch
        i = b.n_tokens
        b.token[i] = tok
        b.pos[i] = pos
        b.n_seq_id[i] = 1
        b.seq_id[i][0] = seq
        b.logits[i] = logits
        b.n_tokens = i + 1
        return i

    # -- scheduling ----------------------------------------------------------------------------
    def _assign(self, slot: _Slot, job: EngineJob, slots: list[_Slot]) -> None:
        L = self.L
        cap = len(job.tokens) - 1  # at least one prompt token is decoded, for its logits
        best, best_n = slot, min(_common_prefix(slot.kv, job.tokens), cap)
        for other in slots:
            if other is slot:
                continue
            n = min(_common_prefix(other.kv, job.tokens), cap)
            if n > best_n:
                best, best_n = other, n
        if best is not slot and best_n < MIN_SHARED:
            best, best_n = slot, min(_common_prefix(slot.kv, job.tokens), cap)
        if best is not slot:
            # streams are copied whole (llama.cpp), then cut back to the shared prefix
            L.llama_memory_seq_cp(self.mem, best.index, slot.index, -1, -1)
        L.llama_memory_seq_rm(self.mem, slot.index, best_n, -1)
        slot.kv = job.tokens[:best_n]
        slot.pending = job.tokens[best_n:]
        slot.cached = best_n
        slot.job, slot.next_token, slot.n_gen = job, None, 0
        slot.out = bytearray()
        slot.limit = min(job.max_tokens, self.n_ctx - len(job.tokens))
        slot.sampler = self._new_sampler(job)

    def _waits_for_prefix(self, job: EngineJob, slots: list[_Slot]) -> bool:
        """Whether a slot still decoding its prompt will soon hold more of ``job``'s prefix than
        any slot holds now: then the job waits a step and copies it instead of recomputing it."""
        cap = len(job.tokens) - 1
        now = max(min(_common_prefix(s.kv, job.tokens), cap) for s in slots)
        return any(s.job is not None and s.pending
                   and min(_common_prefix(s.kv + s.pending, job.tokens), cap) > max(now, MIN_SHARED - 1) for s in slots)

    def _finish(self, slot: _Slot, reason: str, text: str) -> EngineResult:
        job = slot.job
        assert job is not None
        self._free_sampler(slot)
        slot.job, slot.next_token, slot.pending = None, None, []
        return EngineResult(job.key, text, reason, len(job.tokens), slot.n_gen, slot.cached)

    def _accept(self, slot: _Slot, tok: int) -> EngineResult | None:
        """Take one sampled token; the result if the sequence is finished."""
        job = slot.job
        assert job is not None
        if self.L.llama_vocab_is_eog(self.vocab, tok):
            return self._finish(slot, "stop", slot.out.decode("utf-8", "ignore"))
        slot.n_gen += 1
        before = len(slot.out)
        slot.out += self._piece(tok)
        if job.stop:
            text = slot.out.decode("utf-8", "ignore")
            # only the new bytes (plus the longest stop's length) can complete a stop string
            start = max(0, len(slot.out[:before].decode("utf-8", "ignore")) - max(map(len, job.stop)))
            hits = [i for i in (text.find(s, start) for s in job.stop) if i >= 0]
            if hits:
                return self._finish(slot, "stop", text[: min(hits)])
        if job.loop_guard and b"\n" in slot.out[before:]:
            # a small model that repeats a block of lines k times has looped for good: stop spending
            # tokens on it (prompts.loop_cut, the same test the data stage's post-hoc guard applies)
            text = slot.out.decode("utf-8", "ignore")
            if loop_cut(text, job.loop_guard) is not None:
                return self._finish(slot, "loop", text)
        if slot.n_gen >= slot.limit:
            return self._finish(slot, "length", slot.out.decode("utf-8", "ignore"))
        slot.next_token = tok
        return None

    def run(self, jobs: list[EngineJob], on_result: Callable[[EngineResult], None]) -> None:
        """Complete every job; ``on_result`` is called as each one finishes."""
        L = self.L
        L.llama_memory_clear(self.mem, True)  # a fresh cache: same jobs, same cells, same numbers
        slots = [_Slot(i) for i in range(self.parallel)]
        queue = deque()
        for job in jobs:
            if len(job.tokens) >= self.n_ctx or job.max_tokens <= 0:
                on_result(EngineResult(job.key, "", "length", len(job.tokens), 0, 0))
            else:
                queue.append(job)
        try:
            while queue or any(s.job is not None for s in slots):
                for slot in slots:
                    if slot.job is None and queue:
                        if self._waits_for_prefix(queue[0], slots):
                            break
                        self._assign(slot, queue.popleft(), slots)
                self._step(slots, on_result)
        finally:
            for s in slots:
                self._free_sampler(s)

    def _step(self, slots: list[_Slot], on_result) -> None:
        L = self.L
        self.batch.n_tokens = 0
        budget = self.n_batch
        logits_at: list[tuple[_Slot, int]] = []
        fed: list[tuple[_Slot, list[int], bool]] = []   # (slot, tokens, from its prompt)
        # running sequences first (one token each), then prompt chunks in what is left
        for s in slots:
            if s.job is not None and s.next_token is not None and budget > 0:
                logits_at.append((s, self._add(s.next_token, len(s.kv), s.index, True)))
                fed.append((s, [s.next_token], False))
                budget -= 1
        for s in slots:
            if s.job is not None and s.pending and budget > 0:
                chunk = s.pending[:budget]
                last = len(chunk) == len(s.pending)
                for j, tok in enumerate(chunk):
                    i = self._add(tok, len(s.kv) + j, s.index, last and j == len(chunk) - 1)
                if last:
                    logits_at.append((s, i))
                fed.append((s, chunk, True))
                budget -= len(chunk)
        if not fed:
            return
        rc = L.llama_decode(self.ctx, self.batch)
        if rc != 0:
            raise RuntimeError(f"llama_decode failed (code {rc}) with {self.batch.n_tokens} tokens in the batch")
        for s, toks, prompt in fed:
            s.kv.extend(toks)
            if prompt:
                s.pending = s.pending[len(toks):]
            else:
                s.next_token = None
        for s, i in logits_at:
            job = s.job
            assert job is not None
            if s.sampler is None:
                logits = np.ctypeslib.as_array(L.llama_get_logits_ith(self.ctx, i), shape=(self.n_vocab,))
                tok = int(logits.argmax())
            else:
                tok = int(L.llama_sampler_sample(s.sampler, self.ctx, i))
            res = self._accept(s, tok)
            if res is not None:
                on_result(res)

    def close(self) -> None:
        if getattr(self, "ctx", None):
            self.L.llama_batch_free(self.batch)
            self.L.llama_free(self.ctx)
            self.ctx = None
