"""A model's architecture numbers (config/model_configs.json, copied from each model's config.json)
and what follows from them: parameters, the largest tensor, one decoder layer, activations per
token, KV cache per token. tests/unit/test_plan.py checks the counts against transformers."""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from ..config import REPO_ROOT, ConfigError

CONFIGS = REPO_ROOT / "config" / "model_configs.json"
DTYPE_BYTES = {"float32": 4, "bfloat16": 2, "float16": 2}

# What differs between the sheet's families, by transformers model_type: a gated MLP (gate, up,
# down) or two matrices; biases on q/k/v, on o and the MLP; norms per layer (LayerNorm has a bias)
# and per-head q/k norms (Gemma 3).
FAMILY = {
    "llama": dict(gated=True, qkv_bias=False, out_bias=False, layer_norms=2, layernorm=False, qk_norm=False),
    "qwen2": dict(gated=True, qkv_bias=True, out_bias=False, layer_norms=2, layernorm=False, qk_norm=False),
    "starcoder2": dict(gated=False, qkv_bias=True, out_bias=True, layer_norms=2, layernorm=True, qk_norm=False),
    "gemma3_text": dict(gated=True, qkv_bias=False, out_bias=False, layer_norms=4, layernorm=False, qk_norm=True),
}


class ArchError(ConfigError):
    pass


@dataclass(frozen=True)
class Arch:
    name: str
    model_type: str
    hidden: int
    intermediate: int
    layers: int
    heads: int
    kv_heads: int
    head_dim: int
    vocab: int
    tied: bool
    hub_dtype: str = "bfloat16"
    bias: bool = True                  # StarCoder2's use_bias
    source: str = ""
    published_params_b: float | None = None

    @property
    def family(self) -> dict:
        return FAMILY[self.model_type]

    def layer_params(self) -> int:
        f, h, i, d = self.family, self.hidden, self.intermediate, self.head_dim
        q, kv = self.heads * d, self.kv_heads * d
        bias = self.bias if self.model_type == "starcoder2" else True
        n = h * q + 2 * h * kv + q * h                                   # q, k, v, o
        n += (q + 2 * kv) * (f["qkv_bias"] and bias) + h * (f["out_bias"] and bias)
        n += (3 * h * i) if f["gated"] else (2 * h * i + (i + h) * bias)  # MLP (+ its biases)
        n += f["layer_norms"] * h * (2 if f["layernorm"] else 1) + (2 * d if f["qk_norm"] else 0)
        return n

    def embedding_params(self) -> int:
        """The token embedding, the LM head unless tied, the final norm: FSDP's root unit."""
        head = 0 if self.tied else self.vocab * self.hidden
        return self.vocab * self.hidden + head + self.hidden * (2 if self.family["layernorm"] else 1)

    def params(self) -> int:
        return self.layers * self.layer_params() + self.embedding_params()

    def largest_tensor(self) -> int:
        return max(self.vocab * self.hidden, self.hidden * self.intermediate)

    def activation_bytes(self, dtype_bytes: int) -> float:
        """Bytes one decoder layer keeps for the backward pass, per token, without activation
        checkpointing: per norm its input (RMSNorm: upcast to fp32) and output, q/k/v as SDPA saves
        them (k and v repeated to every head), the attention output, the MLP's intermediates (gated:
        gate, its activation, up, their product; else c_fc and its activation). Flash/SDPA kernels
        keep no seq x seq matrix, so there is no quadratic term."""
        f, b, h = self.family, dtype_bytes, self.hidden
        norm = (2 * b * h) if f["layernorm"] else (4 * h + b * h)
        qd = self.heads * self.head_dim
        attn = norm + b * 3 * qd + b * qd + ((4 + b) * 2 * qd if f["qk_norm"] else 0)
        mlp = norm + b * self.intermediate * (4 if f["gated"] else 2)
        return attn + mlp + (f["layer_norms"] - 2) * norm

    def kv_bytes_per_token(self, dtype_bytes: int = 2) -> int:
        return 2 * self.layers * self.kv_heads * self.head_dim * dtype_bytes

    @property
    def hub_bytes(self) -> int:
        """Size of the weight files as the hub stores them (StarCoder2: fp32)."""
        return self.params() * DTYPE_BYTES.get(self.hub_dtype, 2)


@lru_cache(maxsize=4)
def _read(path: str) -> dict:
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError) as e:
        raise ArchError(f"{path}: cannot read the models' architecture numbers ({e})") from None


def from_config(name: str, config: dict, **extra) -> Arch:
    """An :class:`Arch` from config.json's fields (a hub or local checkpoint's, or our copy)."""
    mt = config.get("model_type")
    if mt not in FAMILY:
        raise ArchError(f"model {name}: model_type {mt!r} is not one the plan knows ({', '.join(FAMILY)})")
    try:
        heads = int(config["num_attention_heads"])
        hidden = int(config["hidden_size"])
        return Arch(name=name, model_type=mt, hidden=hidden, intermediate=int(config["intermediate_size"]),
                    layers=int(config["num_hidden_layers"]), heads=heads,
                    kv_heads=int(config.get("num_key_value_heads") or heads),
                    head_dim=int(config.get("head_dim") or hidden // heads), vocab=int(config["vocab_size"]),
                    tied=bool(config.get("tie_word_embeddings", False)), bias=bool(config.get("use_bias", True)),
                    **extra)
    except KeyError as e:
        raise ArchError(f"model {name}: config.json has no {e.args[0]}") from None


def arch_for(spec, path: str | Path = CONFIGS) -> Arch:
    """The architecture of a model sheet row: our copy of its config.json, else the config.json of
    a local checkpoint (``path:`` weights). A row with neither cannot be planned."""
    entry = _read(str(path)).get(spec.name)
    if entry:
        return from_config(spec.name, entry["config"], hub_dtype=entry.get("hub_dtype", "bfloat16"),
                           source=entry.get("source", ""), published_params_b=entry.get("published_params_b"))
    local = Path(spec.weights[5:]).expanduser() / "config.json" if spec.weights.startswith("path:") else None
    if local and local.is_file():
        cfg = json.loads(local.read_text())
        return from_config(spec.name, cfg, hub_dtype=str(cfg.get("torch_dtype") or cfg.get("dtype") or "bfloat16"),
                           source=str(local))
    raise ArchError(f"model {spec.name}: no architecture numbers (add its config.json fields to {CONFIGS.name})")
