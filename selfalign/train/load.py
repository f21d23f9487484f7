"""The base model for training: built from its config with every dropout set to 0 first; a GGUF
model dequantised once and cached as an HF checkpoint."""
from __future__ import annotations

import re
from pathlib import Path

from ..model import hf_checkpoint  # noqa: F401  (it lived here; vLLM reads the same checkpoint)

# The model sheet's families and the transformers model_type their checkpoints carry (the dropout
# test builds each of these from a tiny config).
FAMILY_MODEL_TYPE = {"gemma3": "gemma3_text", "qwen2": "qwen2", "starcoder2": "starcoder2",
                     "deepseek-coder": "llama", "codeqwen": "qwen2", "llama3": "llama"}
_DROPOUT = re.compile(r"dropout|pdrop", re.I)


def dropout_settings(config, prefix: str = "") -> dict[str, float]:
    """Every dropout probability of ``config`` and of its sub-configs (text_config, …), by name."""
    out = {}
    for key, value in vars(config).items():
        if hasattr(value, "to_dict") and hasattr(value, "model_type"):
            out.update(dropout_settings(value, f"{prefix}{key}."))
        elif _DROPOUT.search(key) and isinstance(value, (int, float)) and not isinstance(value, bool):
            out[prefix + key] = float(value)
    return out


def zero_dropout(config) -> None:
    """Set every dropout probability of ``config`` to 0. Must run before the model is built:
    StarCoder2 copies residual_dropout, embedding_dropout and attention_dropout into its modules
    at construction (the official code passes them to from_pretrained for the same reason:
    src/star_align/llm_wrapper.py:444-455)."""
    for name in dropout_settings(config):
        *parents, key = name.split(".")
        node = config
        for p in parents:
            node = getattr(node, p)
        setattr(node, key, 0.0)


def load_causal_lm(path, dtype=None):
    """The model at ``path``, built from its config with every dropout set to 0 first."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    config = AutoConfig.from_pretrained(path)
    zero_dropout(config)
    return AutoModelForCausalLM.from_pretrained(path, config=config, dtype=dtype or torch.float32)


def load_base(spec, weights: Path, cache_root: Path, dtype=None):
    """(model, tokenizer) for training, dropout 0 (:func:`load_causal_lm`), from
    :func:`hf_checkpoint`."""
    from transformers import AutoTokenizer

    path = hf_checkpoint(spec, weights, cache_root)
    return load_causal_lm(path, dtype), AutoTokenizer.from_pretrained(path)
