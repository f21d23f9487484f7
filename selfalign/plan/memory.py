"""Peak memory of one training process and of one vLLM worker, by what holds it, from the
architecture (arch.py). Every term is named so the plan can print its sum and a reader can check it.

Training, as the train stage runs it (selfalign/train/trainer.py; HF Trainer, accelerate 1.15):
- full fine-tuning loads the model in bf16 (the official llm_wrapper.py:427); one process (or DDP)
  holds bf16 parameters and gradients, DDP a second gradient copy in its buckets;
- FSDP1 with mixed precision: accelerate upcasts every flat parameter to fp32
  (accelerate/accelerator.py ~1987-2031, "we follow DeepSpeed's strategy"), so the sharded
  parameters and gradients are fp32; with ``use_orig_params`` the optimizer sees 1-D shards, which
  Adafactor cannot factor: its second moment is a full fp32 copy (transformers Adafactor:
  ``factored = len(shape) >= 2``). A unit's bf16 parameters are all-gathered for its forward and
  backward (the current and the prefetched layer, the layer's unsharded gradient); the root unit
  (embeddings, LM head) stays gathered with its gradient;
- Adafactor's step makes fp32 temporaries of one tensor at a time (bf16: fp32 copies of the
  gradient and the parameter, the update and one temporary; fp32: the last two): the largest
  tensor sets that peak, which comes after the activations are freed;
- activations: activation_bytes() per layer and token (checkpointed: each layer's input, plus one
  layer recomputed); logits: the logits, the loss's fp32 log-softmax and its gradient (LOGIT_BYTES).
"""
from __future__ import annotations

from dataclasses import dataclass, field

GIB = float(1 << 30)
# per vocabulary entry and token: the loss's fp32 log-softmax and its fp32 gradient, plus the
# logits themselves (bf16: 2 bytes; fp32: 4); 9.8 bytes came out of the bf16 CPU run at 1024 tokens
LOGIT_BYTES = {"bf16": 10, "fp32": 12}
GPU_RUNTIME = 1.5 * GIB        # CUDA context, cuBLAS workspace, NCCL buffers per process (assumed; scripts/gpu_check.sh measures)
CPU_RUNTIME = 1.1 * GIB        # Python, torch, transformers, a 262k-token tokenizer, the data: what the CPU runs had beyond the terms (README "The plan")
HOST_PER_PROCESS = 3.0 * GIB   # a GPU process's host side: Python, CUDA libraries, tokenizer, data
VLLM_WORKSPACE_TOKENS = 8192   # vLLM's profiling batch (max_num_batched_tokens)
VLLM_HOST_PER_WORKER = 6.0 * GIB
VLLM_CUDA_GRAPHS = 1.0 * GIB


@dataclass(frozen=True)
class Estimate:
    """Resident terms plus the larger of two phases: forward/backward (activations, logits) and
    the optimizer step (its temporaries)."""
    resident: dict[str, float]
    forward_backward: dict[str, float] = field(default_factory=dict)
    optimizer_step: dict[str, float] = field(default_factory=dict)

    @property
    def peak(self) -> float:
        return sum(self.resident.values()) + max(sum(self.forward_backward.values()), sum(self.optimizer_step.values()))

    def gib(self) -> float:
        return self.peak / GIB

    def describe(self) -> str:
        def terms(d):
            return " + ".join(f"{k} {v / GIB:.1f}" for k, v in d.items() if v >= GIB / 20)
        out, fb, step = terms(self.resident), terms(self.forward_backward), terms(self.optimizer_step)
        if fb and step:
            return f"{out} + max({fb}; {step})"
        return f"{out} + {fb or step}" if fb or step else out


def _activations(arch, seq: int, batch: int, dtype_bytes: int, checkpointing: bool) -> float:
    tokens = seq * batch
    if checkpointing:     # each layer's input kept; one layer's activations while it is recomputed
        return tokens * (arch.layers * arch.hidden * dtype_bytes + arch.activation_bytes(dtype_bytes))
    return tokens * arch.layers * arch.activation_bytes(dtype_bytes)


def _factored_state(arch) -> float:
    """Adafactor's factored second moment: a row and a column vector per matrix (fp32)."""
    h, i, a = arch.hidden, arch.intermediate, arch
    per_layer = 4 * h + 2 * a.heads * a.head_dim + 2 * a.kv_heads * a.head_dim + 3 * (h + i)
    return 4.0 * (a.layers * per_layer + 2 * (a.vocab + h))


def train_memory(arch, *, strategy: str, processes: int, precision: str, method: str, seq: int, batch: int,
                 checkpointing: bool, offload: bool = False, optimizer: str = "adafactor", lora_params: int = 0,
                 device: str = "cuda") -> Estimate:
    """Peak memory of one training process (its GPU; ``device="cpu"``: its RSS)."""
    P, n = arch.params(), max(1, processes)
    bf16 = precision == "bf16"
    c = 2 if bf16 else 4                                   # compute dtype bytes
    runtime = GPU_RUNTIME if device == "cuda" else CPU_RUNTIME
    fb = {"activations": _activations(arch, seq, batch, c, checkpointing),
          "logits": float(batch * seq * arch.vocab * LOGIT_BYTES["bf16" if bf16 else "fp32"])}
    if method == "lora":                                   # base weights frozen, loaded in fp32 (trainer.py)
        return Estimate({"params": 4.0 * P, "lora+optimizer": 16.0 * lora_params, "runtime": runtime}, fb,
                        {"optimizer step": 8.0 * lora_params})
    if strategy == "fsdp":
        shard = 4.0 * P / n                                # fp32 after accelerate's upcast
        state = shard if optimizer == "adafactor" else 2 * shard
        step = 8.0 * arch.largest_tensor() / n             # fp32 already: the update and one temporary
        gathered = c * (2.0 * arch.embedding_params() + 3.0 * arch.layer_params())
        if offload:                                        # shards, gradients and optimizer on the host
            return Estimate({"gathered units": gathered, "runtime": runtime}, fb)
        return Estimate({"params (fp32 shard)": shard, "grads (fp32 shard)": shard, "optimizer": state,
                         "gathered units": gathered, "runtime": runtime}, fb, {"optimizer step": step})
    b = 2 if bf16 else 4                                   # the model is loaded in bf16 for bf16 training
    grads = b * P * (2 if strategy == "ddp" and n > 1 else 1)
    if optimizer == "adafactor":
        # bf16: fp32 copies of the gradient and the parameter, the update, one temporary; fp32: the last two
        state, step = _factored_state(arch), (16.0 if b == 2 else 8.0) * arch.largest_tensor()
    else:
        state, step = 2.0 * b * P, 2.0 * b * P
    return Estimate({"params": b * P, "grads": grads, "optimizer": state, "runtime": runtime}, fb,
                    {"optimizer step": step})


def train_host_memory(arch, *, strategy: str, processes: int, offload: bool, device: str = "cuda") -> Estimate:
    """Host RAM of a GPU training job (all its processes on one node): each process's host side,
    plus the largest of loading (DDP: every process reads the bf16 model; FSDP with
    cpu_ram_efficient_loading: rank 0 only) and the final save (FSDP gathers the full fp32 state
    dict on rank 0's CPU), plus, offloaded, the fp32 shards, gradients and optimizer state."""
    P, n = arch.params(), max(1, processes)
    base = {"processes": n * HOST_PER_PROCESS}
    if strategy == "fsdp":
        phase = {"final gather (rank 0, fp32)": 4.0 * P}    # > the bf16 load on rank 0 (2 bytes a parameter)
        if offload:
            base["offloaded params+grads+optimizer"] = 12.0 * P
        return Estimate(base, phase)
    return Estimate(base, {f"load ({n} x bf16 model)": n * 2.0 * P})


def vllm_memory(arch, *, tp: int, context: int, gpu_mem: float, utilization: float) -> dict:
    """One vLLM worker's GPU: 16-bit weights split over ``tp``, the profiling batch's activations,
    CUDA graphs and context, and a KV cache that must hold at least one ``context``-token sequence
    (vLLM refuses to start otherwise). Returns the terms and the KV capacity left."""
    weights = 2.0 * arch.params() / tp
    workspace = VLLM_WORKSPACE_TOKENS * (2 * arch.hidden + 3 * arch.intermediate / tp) * 2 + 256 * arch.vocab * 4
    static = weights + workspace + VLLM_CUDA_GRAPHS + GPU_RUNTIME
    kv_token = arch.kv_bytes_per_token(2) / min(tp, arch.kv_heads)   # past kv_heads, vLLM replicates them
    budget = utilization * gpu_mem
    kv_min = context * kv_token
    return {"weights": weights, "workspace": workspace, "cuda graphs": VLLM_CUDA_GRAPHS, "runtime": GPU_RUNTIME,
            "kv (one sequence)": kv_min, "peak": static + kv_min, "budget": budget,
            "kv_tokens": max(0.0, (budget - static) / kv_token), "kv_per_token": kv_token}
