"""The base model for training: built from its config with every dropout set to 0 first; a GGUF
model dequantised once and cached as an HF checkpoint."""
from __future__ import annotations

import logging
import os
import re
import shutil
from pathlib import Path

log = logging.getLogger(__name__)

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


def hf_checkpoint(spec, weights: Path, cache_root: Path) -> Path:
    """An HF checkpoint of the model at ``weights``: the directory itself, or a GGUF dequantised by
    transformers to fp32 once and cached under ``cache_root/hf`` (loading the GGUF takes ~90 s; the
    cache ~3 s). Training and the vLLM backend on CPU read the same checkpoint."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if weights.is_dir():
        return weights
    stamp = (weights.parent / (weights.name + ".sha256"))
    sha = stamp.read_text().strip()[:12] if stamp.exists() else "nohash"
    cache = cache_root / "hf" / f"{spec.name}-{sha}"
    if not (cache / "config.json").exists():
        log.info("converting %s to an HF checkpoint in %s (once)", weights, cache)
        tok = AutoTokenizer.from_pretrained(weights.parent, gguf_file=weights.name)
        model = AutoModelForCausalLM.from_pretrained(weights.parent, gguf_file=weights.name, dtype=torch.float32)
        # The GGUF quantizer marks the model non-serialisable and non-trainable; the weights are
        # already dequantised to fp32, so dropping it is safe.
        model.hf_quantizer = None
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        tmp = cache.with_name(f"{cache.name}.{os.getpid()}.tmp")    # concurrent train jobs may convert at once
        model.save_pretrained(tmp)
        tok.save_pretrained(tmp)
        try:
            tmp.replace(cache)
        except OSError:                 # another job published it first: theirs is the same checkpoint
            if not (cache / "config.json").exists():
                raise
            shutil.rmtree(tmp, ignore_errors=True)
        del model
    return cache


def load_base(spec, weights: Path, cache_root: Path, dtype=None):
    """(model, tokenizer) for training, dropout 0 (:func:`load_causal_lm`), from
    :func:`hf_checkpoint`."""
    from transformers import AutoTokenizer

    path = hf_checkpoint(spec, weights, cache_root)
    return load_causal_lm(path, dtype), AutoTokenizer.from_pretrained(path)
