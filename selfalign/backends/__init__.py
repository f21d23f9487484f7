"""Generation backends behind one interface, resolved lazily by name.

``generate(prompts, n, temperature, max_tokens, stop, seed) -> list[list[Completion]]``: one list of
``n`` completions per prompt, in the order of ``prompts``. Importing this package imports no heavy
library: a backend's module is imported only when it is asked for.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from .base import Backend, Completion, GenerationStats

if TYPE_CHECKING:  # pragma: no cover
    from ..model import ModelSpec

# name -> "module:Class"; the only place a backend is registered.
REGISTRY: dict[str, str] = {
    "llamacpp": "selfalign.backends.llamacpp:LlamaCppBackend",
    "vllm": "selfalign.backends.vllm:VLLMBackend",
    "openai": "selfalign.backends.openai:OpenAIBackend",
}


def backend_class(name: str) -> type[Backend]:
    if name not in REGISTRY:
        raise KeyError(f"unknown backend {name!r}; known: {', '.join(sorted(REGISTRY))}")
    module, cls = REGISTRY[name].split(":")
    return getattr(importlib.import_module(module), cls)


def backend_name(cfg: dict, spec: "ModelSpec") -> str:
    """The backend that serves ``spec`` under ``cfg``: ``backend.name`` if set, else its sheet
    row's; the openai client when ``backend.base_url`` points at a server (vLLM runs in-process
    all the same)."""
    name = cfg["backend"].get("name") or spec.backend
    if name == "openai" or (cfg["backend"].get("base_url") and name != "vllm"):
        return "openai"
    return name


def load_backend(cfg: dict, spec: "ModelSpec | None" = None, lora_path: str | None = None,
                 model_path: str | None = None, n_threads: int | None = None,
                 overrides: dict | None = None) -> Backend:
    """The backend for the config's model (or ``spec``), weights provisioned: the one way a model
    is built. ``model_path``: a trained HF checkpoint (full fine-tuning, or a LoRA merged for
    vLLM), used by every backend but llama.cpp, which loads the GGUF base with ``lora_path``
    instead; ``n_threads``: llama.cpp's CPU threads; ``overrides``: ``backend`` settings for this
    one model (e.g. the export check's)."""
    from ..model import cache_dir, get_spec, hf_checkpoint, provision

    if overrides:
        cfg = {**cfg, "backend": {**cfg["backend"], **overrides}}
    spec = spec or get_spec(cfg)
    name = backend_name(cfg, spec)
    if name == "openai":
        return backend_class(name).from_config(None, cfg, spec=spec)
    if name == "llamacpp":
        return backend_class(name).from_config(str(provision(spec, cfg)), cfg, spec=spec, lora_path=lora_path,
                                               n_threads=n_threads)
    path = model_path
    if path is None:
        weights = provision(spec, cfg)
        # a GGUF row served by vLLM: its HF conversion (fp32, made once; the checkpoint training reads)
        path = str(hf_checkpoint(spec, weights, cache_dir(cfg)) if spec.is_gguf else weights)
    return backend_class(name).from_config(path, cfg, spec=spec, lora_path=lora_path)


__all__ = ["Backend", "Completion", "GenerationStats", "REGISTRY", "backend_class", "backend_name", "load_backend"]
