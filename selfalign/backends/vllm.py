"""vLLM in-process: the GPU backend for the paper's scales (3B-33B).

The whole prompt list goes to ``LLM.generate`` at once (vLLM schedules and batches it), with
automatic prefix caching on so the shared few-shot block is computed once per GPU.
"""
from __future__ import annotations

import time

from .base import Backend, Completion


class VLLMBackend(Backend):
    name = "vllm"

    def __init__(self, model_path: str, tensor_parallel_size: int = 1, seed: int = 0, max_model_len: int | None = None,
                 gpu_memory_utilization: float = 0.9, lora_path: str | None = None, top_p: float = 0.95):
        super().__init__()
        try:
            from vllm import LLM
        except ImportError as e:
            raise RuntimeError("vllm is not importable: it needs a CUDA machine and pip install 'selfalign[gpu]'") from e
        self.top_p = top_p
        self.lora_path = lora_path
        self.llm = LLM(model=model_path, tensor_parallel_size=tensor_parallel_size, seed=seed,
                       max_model_len=max_model_len, enable_prefix_caching=True,
                       gpu_memory_utilization=gpu_memory_utilization, enable_lora=bool(lora_path))

    @classmethod
    def from_config(cls, path, cfg, spec=None, lora_path=None):
        return cls(path, tensor_parallel_size=max(1, spec.gpus if spec else 1), seed=cfg["seed"],
                   max_model_len=min(cfg["backend"]["n_ctx"], spec.context) if spec else None,
                   gpu_memory_utilization=cfg["backend"]["gpu_memory_utilization"], lora_path=lora_path)

    def generate(self, prompts, n=1, temperature=0.0, max_tokens=256, stop=None, seed=None, progress=None, top_p=None):
        from vllm import SamplingParams

        t0 = time.perf_counter()
        params = SamplingParams(n=n, temperature=temperature, top_p=(self.top_p if top_p is None else top_p) if temperature > 0 else 1.0,
                                max_tokens=max_tokens, stop=stop or [], seed=seed)
        lora = None
        if self.lora_path:
            from vllm.lora.request import LoRARequest
            lora = LoRARequest("sft", 1, self.lora_path)
        outs = self.llm.generate(prompts, params, lora_request=lora)
        results = []
        for i, o in enumerate(outs):
            cached = getattr(o, "num_cached_tokens", 0) or 0
            row = [Completion(text=c.text, finish_reason=c.finish_reason or "stop",
                              prompt_tokens=len(o.prompt_token_ids or []),
                              completion_tokens=len(c.token_ids), cached_tokens=cached) for c in o.outputs]
            for c in row:
                self.stats.add(c)
            self.stats.prompts += 1
            if progress:
                progress(i, row)
            results.append(row)
        self.stats.seconds += time.perf_counter() - t0
        return results
