"""llama.cpp in-process (llama-cpp-python): the CPU backend for smoke runs and CI.

Decoding goes through :class:`~selfalign.backends.llamacpp_engine.BatchEngine`: ``parallel``
sequences are stepped together over one KV cache, and a new prompt starts from the longest prefix
already in the cache, so a shared few-shot block and the ``n`` samples of one prompt pay for their
prompt once. Prompts are visited in sorted order so neighbours share the longest prefixes. Each
(prompt, sample) gets its own sampler seed derived from the run seed and the prompt text.
"""
from __future__ import annotations

import os

from .base import Backend, Completion, sample_seed


# llama.cpp's LLAMA_FTYPE values of the sheet's GGUFs (general.file_type), for describe()
_FILE_TYPES = {"0": "f32", "1": "f16", "7": "q8_0", "15": "q4_k_m", "17": "q5_k_m", "18": "q6_k"}


class LlamaCppBackend(Backend):
    name = "llamacpp"

    def __init__(self, model_path: str, n_ctx: int = 4096, n_threads: int = 0, n_batch: int = 512,
                 seed: int = 0, lora_path: str | None = None, top_p: float = 0.95, top_k: int = 64,
                 parallel: int = 8):
        super().__init__()
        try:
            from llama_cpp import Llama
        except ImportError as e:  # pragma: no cover - environment problem
            raise RuntimeError("llama-cpp-python is not installed: pip install 'selfalign[cpu]' "
                               "(or run scripts/setup.sh)") from e
        from .llamacpp_engine import BatchEngine

        if not os.path.exists(model_path):
            raise FileNotFoundError(f"model file not found: {model_path}")
        if lora_path and not os.path.exists(lora_path):
            raise FileNotFoundError(f"LoRA adapter not found: {lora_path}")
        self.model_path = model_path
        self.lora_path = lora_path
        self.n_ctx = n_ctx
        self.parallel = parallel
        # a few batches' worth: continuous batching keeps the slots full inside a group
        self.resume_group = 4 * parallel if parallel > 1 else None
        threads = n_threads or os.cpu_count() or 1
        # The Llama object owns the weights, the tokenizer and the LoRA adapter; its own context is
        # kept minimal, decoding happens in the engine's context.
        self.llm = Llama(model_path=model_path, n_ctx=256, n_batch=256, n_threads=threads, n_threads_batch=threads,
                         seed=seed, lora_path=lora_path, verbose=False)
        self.engine = BatchEngine(self.llm._model.model, n_ctx=n_ctx, parallel=parallel,
                                  n_batch=n_batch, n_threads=threads, lora_adapter=self.llm._lora_adapter,
                                  top_k=top_k, top_p=top_p)

    @classmethod
    def from_config(cls, path: str, cfg: dict, spec=None, lora_path: str | None = None, n_threads: int | None = None):
        b = cfg["backend"]
        n_ctx = min(b["n_ctx"], spec.context) if spec else b["n_ctx"]
        return cls(path, n_ctx=n_ctx, n_threads=n_threads if n_threads is not None else b["n_threads"],
                   n_batch=b["n_batch"], seed=cfg["seed"], lora_path=lora_path, parallel=b["parallel"])

    def describe(self) -> dict:
        import llama_cpp

        meta = getattr(self.llm, "metadata", {}) or {}
        ftype = meta.get("general.file_type")
        return {"device": "cpu", "dtype": _FILE_TYPES.get(str(ftype), f"gguf file_type {ftype}"),
                "n_ctx": self.n_ctx, "parallel": self.parallel,
                # the ISA the library was built for (AVX2, AVX512, AMX …): what a crash report needs
                "system_info": llama_cpp.llama_print_system_info().decode(errors="replace").strip()}

    def tokenize(self, text: str) -> list[int]:
        """The vocabulary's own BOS rule; a prompt that starts with the BOS token's text (the SFT
        template's, selfalign/bos.py) gets that token, as a transformers tokenizer parses it."""
        bos_text, _ = self.bos_info()
        if bos_text and text.startswith(bos_text):
            head = self.llm.tokenize(b"", add_bos=True, special=False)
            return head + [self.llm.token_bos()] + self.llm.tokenize(text[len(bos_text):].encode("utf-8"),
                                                                      add_bos=False, special=False)
        return self.llm.tokenize(text.encode("utf-8"), add_bos=True, special=False)

    def bos_info(self):
        if getattr(self, "_bos_info", None) is None:
            bos = self.llm.token_bos()
            text = self.llm.detokenize([bos], special=True).decode("utf-8", errors="replace") if bos >= 0 else None
            self._bos_info = (text or None, bool(self.llm.tokenize(b"", add_bos=True, special=False)))
        return self._bos_info

    def count_tokens(self, text: str) -> int:
        return len(self.tokenize(text))

    def generate(self, prompts, n=1, temperature=0.0, max_tokens=256, stop=None, seed=None, progress=None,
                 keys=None, top_p=None, loop_guard=0):  # seeds derive from the prompt text here; keys are not needed
        from .llamacpp_engine import EngineJob

        jobs = []
        for i in sorted(range(len(prompts)), key=lambda i: prompts[i]):
            tokens = self.tokenize(prompts[i])
            for k in range(n):
                jobs.append(EngineJob((i, k), tokens, temperature, max_tokens,
                                      sample_seed(seed, prompts[i], k), list(stop or []), top_p, loop_guard))
        with self.collect(len(prompts), n, progress) as out:
            self.engine.run(jobs, lambda r: out.add(*r.key, Completion(
                text=r.text, finish_reason=r.finish_reason, prompt_tokens=r.prompt_tokens,
                completion_tokens=r.completion_tokens, cached_tokens=r.cached_tokens)))
        return out.results  # type: ignore[return-value]

    def close(self) -> None:
        engine = getattr(self, "engine", None)
        if engine is not None:
            engine.close()
            self.engine = None
        llm = getattr(self, "llm", None)
        if llm is not None:
            llm.close() if hasattr(llm, "close") else None
            self.llm = None
