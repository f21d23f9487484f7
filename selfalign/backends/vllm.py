"""vLLM in-process: the GPU backend for the paper's scales (3B-33B). UNTESTED on a GPU: the tests
replace the engine by a fake to check what is ours (length guard, chunks, seeds, order).

- Prompts are tokenised first with the engine's tokenizer and sent as token ids, so the length
  checked is the length vLLM sees. A prompt whose tokens + max new tokens exceed the context is
  not sent (one long seed from The Stack would make vLLM reject the whole call): it is answered
  with ``finish_reason="prompt_too_long"``, counted in ``stats.extra``, and its records are
  dropped with that reason, so the funnel shows it (the official seed filter skips such files
  too: seed_gathering/filter_dataset.py:340-346).
- Requests go to ``LLM.generate`` in chunks of ``backend.chunk_prompts``; each prompt's
  completions are handed to ``progress`` when its chunk returns, so the stage writes them then
  and a kill loses at most one chunk. Resume is exact on record ids; the text of a re-run chunk
  may differ, since vLLM's batches are not bitwise reproducible.
- Each request has its own sampling seed, derived from the run seed and the record id (the
  official code seeds by run seed + index: src/star_align/self_ossinstruct.py:544).
- Automatic prefix caching is on, so the shared few-shot block is computed once per GPU.
"""
from __future__ import annotations

import hashlib

from .base import PROMPT_TOO_LONG, Backend, Completion


def request_seed(seed: int | None, key: str) -> int:
    """A 63-bit sampling seed for one request, from the run seed and the request's record id."""
    h = hashlib.blake2b(f"{seed}|{key}".encode(), digest_size=8).digest()
    return int.from_bytes(h, "little") & 0x7FFF_FFFF_FFFF_FFFF


class VLLMBackend(Backend):
    name = "vllm"

    def __init__(self, model_path: str, tensor_parallel_size: int = 1, seed: int = 0, max_model_len: int | None = None,
                 gpu_memory_utilization: float = 0.9, lora_path: str | None = None, top_p: float = 1.0,
                 chunk_prompts: int = 512, llm=None, sampling_params=None):
        """``llm`` and ``sampling_params`` (the engine and its SamplingParams class) are vLLM's
        unless a test passes stand-ins."""
        super().__init__()
        if llm is None or sampling_params is None:
            try:
                from vllm import LLM, SamplingParams
            except ImportError as e:
                raise RuntimeError("vllm is not importable: it needs a CUDA machine and pip install "
                                   "'selfalign[gpu,train,eval]'") from e
            llm = llm or LLM(model=model_path, tensor_parallel_size=tensor_parallel_size, seed=seed,
                             max_model_len=max_model_len, enable_prefix_caching=True,
                             gpu_memory_utilization=gpu_memory_utilization, enable_lora=bool(lora_path))
            sampling_params = sampling_params or SamplingParams
        self.llm, self.sampling_params = llm, sampling_params
        self.top_p, self.chunk_prompts, self.lora_path = top_p, chunk_prompts, lora_path
        self.tokenizer = llm.get_tokenizer()
        engine_config = getattr(getattr(llm, "llm_engine", None), "model_config", None)
        self.context = getattr(engine_config, "max_model_len", None) or max_model_len
        if not self.context:
            raise RuntimeError("vLLM reported no max_model_len: set backend.n_ctx")
        self.stats.extra.update(skipped_prompt_too_long=0, chunks=0)

    @classmethod
    def from_config(cls, path, cfg, spec=None, lora_path=None):
        b = cfg["backend"]
        return cls(path, tensor_parallel_size=max(1, spec.gpus if spec else 1), seed=cfg["seed"],
                   max_model_len=min(b["n_ctx"], spec.context) if spec else b["n_ctx"],
                   gpu_memory_utilization=b["gpu_memory_utilization"], lora_path=lora_path, top_p=b["top_p"],
                   chunk_prompts=b["chunk_prompts"])

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer.encode(text))

    def bos_info(self):
        from ..bos import hf_bos_info
        return hf_bos_info(self.tokenizer)     # encode() parses a leading BOS text as the token

    def generate(self, prompts, n=1, temperature=0.0, max_tokens=256, stop=None, seed=None, progress=None, keys=None,
                 top_p=None, loop_guard=0):
        top_p = self.top_p if top_p is None else top_p   # a benchmark's protocol may set its own
        keys = keys if keys is not None else prompts        # without record ids: the prompt text
        if len(keys) != len(prompts):
            raise ValueError(f"{len(keys)} keys for {len(prompts)} prompts")
        with self.collect(len(prompts), n, progress) as out:
            token_ids = [self.tokenizer.encode(p) for p in prompts]
            fits = []
            for i, ids in enumerate(token_ids):
                if len(ids) + max_tokens > self.context:
                    self.stats.extra["skipped_prompt_too_long"] += 1
                    out.add_row(i, [Completion(text="", finish_reason=PROMPT_TOO_LONG, prompt_tokens=len(ids))
                                    for _ in range(n)])
                else:
                    fits.append(i)
            lora = None
            if self.lora_path:
                from vllm.lora.request import LoRARequest
                lora = LoRARequest("sft", 1, self.lora_path)
            for start in range(0, len(fits), self.chunk_prompts):
                chunk = fits[start:start + self.chunk_prompts]
                params = [self.sampling_params(n=n, temperature=temperature, top_p=top_p if temperature > 0 else 1.0,
                                               max_tokens=max_tokens, stop=list(stop or []),
                                               seed=request_seed(seed, keys[i])) for i in chunk]
                outs = self.llm.generate([{"prompt_token_ids": token_ids[i]} for i in chunk], params,
                                         lora_request=lora, use_tqdm=False)
                if len(outs) != len(chunk):
                    raise RuntimeError(f"vLLM returned {len(outs)} outputs for {len(chunk)} requests")
                self.stats.extra["chunks"] += 1
                for i, o in zip(chunk, outs):
                    cached = getattr(o, "num_cached_tokens", 0) or 0
                    out.add_row(i, [Completion(text=c.text, finish_reason=c.finish_reason or "stop",
                                               prompt_tokens=len(token_ids[i]), completion_tokens=len(c.token_ids),
                                               cached_tokens=cached) for c in o.outputs])
        return out.results  # type: ignore[return-value]
