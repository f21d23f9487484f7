"""Instruction tuning of the base model on its own data (paper step 5).

One code path: Hugging Face ``Trainer`` with our own collator. We use the plain Trainer rather
than TRL's SFTTrainer because the only thing SFT needs beyond it is response-only loss masking,
which a 20-line collator states explicitly (and tests can check), without TRL's moving API.

GPU default = the paper's recipe (full fine-tuning, Adafactor, lr 1e-5, batch 64, bf16, dropout 0,
no gradient clipping, truncation to 1280 tokens), launched by the rule through ``accelerate launch``
(selfalign/launch.py): the same code runs as one process or as N (DDP or FSDP); rank 0 alone writes
the final model, the manifest and the export.
CPU default = LoRA on Gemma-3-270M loaded from its GGUF (dequantised to fp32 once, then cached as
an HF checkpoint), dynamic padding, exported as a GGUF LoRA adapter that llama.cpp loads.
"""
from __future__ import annotations

import json
import logging
import os
import re
import resource
import time
from dataclasses import dataclass
from pathlib import Path

from .prompts import sft_prompt
from .records import SFTExample, write_json_atomic

log = logging.getLogger(__name__)


class TrainError(RuntimeError):
    pass


# ------------------------------------------------------------------------------ data & masking
@dataclass
class Encoded:
    input_ids: list[int]
    labels: list[int]


def encode_example(tok, instruction: str, response: str, max_length: int, overlong: str) -> Encoded | None:
    """Prompt tokens get label -100 (no loss); response tokens and EOS are learned.
    Returns None when the example is too long and ``overlong == 'drop'``."""
    prompt_ids = tok(sft_prompt(instruction), add_special_tokens=True)["input_ids"]
    resp_ids = tok(response.rstrip(), add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
    ids = prompt_ids + resp_ids
    labels = [-100] * len(prompt_ids) + resp_ids
    if len(ids) > max_length:
        if overlong == "drop" or len(prompt_ids) >= max_length:
            return None
        ids, labels = ids[:max_length], labels[:max_length]
    return Encoded(ids, labels)


class Collator:
    """Dynamic padding to the longest example of the batch (not to max_length: 8x faster on CPU)."""

    def __init__(self, pad_id: int):
        self.pad_id = pad_id

    def __call__(self, batch):
        import torch

        width = max(len(b["input_ids"]) for b in batch)
        ids = torch.full((len(batch), width), self.pad_id, dtype=torch.long)
        labels = torch.full((len(batch), width), -100, dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for i, b in enumerate(batch):
            n = len(b["input_ids"])
            ids[i, :n] = torch.tensor(b["input_ids"])
            labels[i, :n] = torch.tensor(b["labels"])
            mask[i, :n] = 1
        return {"input_ids": ids, "labels": labels, "attention_mask": mask}


class ListDataset:
    def __init__(self, rows: list[Encoded]):
        self.rows = rows

    def __len__(self):
        return len(self.rows)

    def __getitem__(self, i):
        r = self.rows[i]
        return {"input_ids": r.input_ids, "labels": r.labels}


# ---------------------------------------------------------------------------------- the model
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
    """(model, tokenizer) for training, dropout 0 (:func:`load_causal_lm`). A GGUF is dequantised by
    transformers once and cached as an HF checkpoint (loading the GGUF takes ~90 s; the cache ~3 s)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if weights.is_dir():
        tok = AutoTokenizer.from_pretrained(weights)
        return load_causal_lm(weights, dtype), tok
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
        tmp = cache.with_name(cache.name + ".tmp")
        model.save_pretrained(tmp)
        tok.save_pretrained(tmp)
        tmp.replace(cache)
        del model
    tok = AutoTokenizer.from_pretrained(cache)
    return load_causal_lm(cache, dtype), tok


def dist_env() -> tuple[int, int]:
    """(rank, world size) as torchrun and accelerate launch set them; (0, 1) for a plain process."""
    return int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1"))


def grad_accumulation(effective: int, per_device: int, world: int) -> int:
    """Steps to accumulate so that per_device × world × steps == effective, exactly."""
    step = per_device * world
    if effective % step:
        raise TrainError(f"train.effective_batch_size={effective} is not a multiple of train.batch_size={per_device} "
                         f"× {world} process(es) = {step}: change one of them (or train.gpus)")
    return effective // step


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ------------------------------------------------------------------------------------ training
def train(cfg: dict, sft_path: str | Path, out_dir: str | Path, work_dir: str | Path | None = None) -> dict:
    """Train on ``sft_path`` into ``out_dir``. Every process of a launch calls this; rank 0 returns
    the manifest it wrote, the others ``{"rank": r}``."""
    import torch
    import transformers
    from transformers import Trainer, TrainerCallback, TrainingArguments
    from transformers.trainer_utils import get_last_checkpoint

    from .models import cache_dir, get_spec, provision, sha256_file
    from .records import read_records

    t = cfg["train"]
    rank, world = dist_env()
    main = rank == 0
    out_dir = Path(out_dir)
    work_dir = Path(work_dir) if work_dir else out_dir.parent / ".work" / out_dir.name
    work_dir.mkdir(parents=True, exist_ok=True)
    transformers.set_seed(cfg["seed"])

    examples = read_records(sft_path, SFTExample)
    if not examples and t["min_examples"] == 0:
        # a small model may verify no pair at all: the run goes on and says so (tables show it)
        reason = f"{sft_path} holds 0 SFT examples (no response passed its own tests and the filters)"
        manifest = {"skipped": reason, "examples": 0, "sft_sha256": sha256_file(sft_path)}
        if main:
            out_dir.mkdir(parents=True, exist_ok=True)
            write_json_atomic(out_dir / "train_manifest.json", manifest)
        return manifest if main else {"rank": rank}
    if len(examples) < t["min_examples"]:
        raise TrainError(f"{sft_path} holds {len(examples)} SFT examples; train.min_examples is {t['min_examples']} "
                         f"(generate more data: more seeds or samples, or lower train.min_examples)")

    gpu = torch.cuda.is_available()
    if gpu and world == 1 and torch.cuda.device_count() > 1:
        # the Trainer would wrap the model in nn.DataParallel and silently multiply the batch
        raise TrainError(f"{torch.cuda.device_count()} GPUs are visible to one training process: launch one process "
                         f"per GPU (train.gpus: {torch.cuda.device_count()}; the train rule starts accelerate) or "
                         f"make one visible (CUDA_VISIBLE_DEVICES=0)")
    accum = grad_accumulation(t["effective_batch_size"], t["batch_size"], world)
    spec = get_spec(cfg)
    weights = provision(spec, cfg)
    use_bf16 = t["precision"] == "bf16" or (t["precision"] == "auto" and gpu and torch.cuda.is_bf16_supported())
    t0 = time.perf_counter()
    model, tok = load_base(spec, weights, cache_dir(cfg), dtype=torch.bfloat16 if use_bf16 and t["method"] == "full" else None)
    dropout = dropout_settings(model.config)
    load_s = time.perf_counter() - t0
    if tok.pad_token_id is None:
        tok.pad_token = tok.eos_token
    if hasattr(model.config, "use_cache"):
        model.config.use_cache = False

    rows, dropped, truncated = [], 0, 0
    for ex in examples:
        enc = encode_example(tok, ex.instruction, ex.response, t["max_length"], t["overlong"])
        if enc is None:
            dropped += 1
            continue
        full = len(tok(sft_prompt(ex.instruction))["input_ids"]) + len(tok(ex.response.rstrip(), add_special_tokens=False)["input_ids"]) + 1
        truncated += full > len(enc.input_ids)
        rows.append(enc)
    if len(rows) < t["min_examples"]:
        raise TrainError(f"only {len(rows)} of {len(examples)} SFT examples fit train.max_length={t['max_length']} "
                         f"({dropped} dropped as overlong)")

    if t["method"] == "lora":
        from peft import LoraConfig, get_peft_model
        if os.environ.get("ACCELERATE_USE_FSDP", "false").lower() == "true":
            raise TrainError("LoRA under FSDP is not supported here (the export merges the full weights): "
                             "set train.distributed: ddp")
        targets = [m for m in t["lora_targets"] if any(n.endswith(m) for n, _ in model.named_modules())]
        if not targets:
            raise TrainError(f"none of train.lora_targets {t['lora_targets']} is a module of {spec.name}")
        model = get_peft_model(model, LoraConfig(r=t["lora_r"], lora_alpha=t["lora_alpha"], lora_dropout=t["lora_dropout"],
                                                 target_modules=targets, task_type="CAUSAL_LM"))
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)

    if main:
        log.info("effective batch %d = %d per device x %d process(es) x %d accumulation steps; dropout %s",
                 t["effective_batch_size"], t["batch_size"], world, accum, dropout or "(none in the config)")
    args = TrainingArguments(
        output_dir=str(work_dir / "checkpoints"), per_device_train_batch_size=t["batch_size"],
        gradient_accumulation_steps=accum, learning_rate=t["learning_rate"], num_train_epochs=t["epochs"],
        max_steps=t["max_steps"], warmup_steps=t["warmup_ratio"], lr_scheduler_type=t["scheduler"],
        optim="adafactor" if t["optimizer"] == "adafactor" else "adamw_torch", bf16=use_bf16,
        max_grad_norm=t["max_grad_norm"], ddp_find_unused_parameters=False,
        save_steps=t["save_steps"], save_total_limit=2, logging_steps=1, report_to="none", seed=cfg["seed"],
        data_seed=cfg["seed"], remove_unused_columns=False, dataloader_num_workers=0, use_cpu=not gpu,
        log_level="info", log_level_replica="warning", disable_tqdm=not main)

    class Progress(TrainerCallback):
        def __init__(self):
            self.t_last = time.perf_counter()

        def on_log(self, args_, state, control, logs=None, **kw):
            if logs and "loss" in logs and state.is_world_process_zero:
                now = time.perf_counter()
                left = (state.max_steps - state.global_step) * (now - self.t_last)
                log.info("step %d/%d loss %.4f  %.1fs/step  ETA %.0fs  rss %.0f MB", state.global_step, state.max_steps,
                         logs["loss"], now - self.t_last, left, peak_rss_mb())
                self.t_last = now

    trainer = Trainer(model=model, args=args, train_dataset=ListDataset(rows), data_collator=Collator(tok.pad_token_id),
                      callbacks=[Progress()])
    last = get_last_checkpoint(str(work_dir / "checkpoints")) if (work_dir / "checkpoints").exists() else None
    if last and main:
        log.info("resuming training from %s", last)
    t1 = time.perf_counter()
    result = trainer.train(resume_from_checkpoint=last)
    train_s = time.perf_counter() - t1
    n_tokens = sum(len(r.input_ids) for r in rows)

    export_info = export(cfg, spec, weights, model, tok, out_dir, trainer)   # every rank: FSDP gathers
    if not main:
        return {"rank": rank}
    manifest = {
        "model": spec.name, "method": t["method"], "base_weights": str(weights), "examples": len(examples),
        "used": len(rows), "dropped_overlong": dropped, "truncated": truncated, "data_sha256": sha256_file(sft_path),
        "train_config": t, "seed": cfg["seed"], "trainable_params": trainable, "steps": trainer.state.global_step,
        "world_size": world, "gradient_accumulation": accum,
        "effective_batch_size": t["batch_size"] * world * accum,
        "distributed": "fsdp" if trainer.is_fsdp_enabled else ("ddp" if world > 1 else "none"),
        "dropout": dropout, "max_grad_norm": t["max_grad_norm"],
        "resumed_from": last, "load_s": round(load_s, 1), "train_s": round(train_s, 1),
        "s_per_step": round(train_s / max(1, trainer.state.global_step), 3),
        "tokens_per_epoch": n_tokens, "peak_rss_mb": round(peak_rss_mb(), 1), "device": "cuda" if gpu else "cpu",
        "precision": "bf16" if use_bf16 else "fp32", "final_loss": result.training_loss,
        "loss_curve": [h for h in trainer.state.log_history if "loss" in h],
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__},
        "export": export_info,
    }
    write_json_atomic(out_dir / "train_manifest.json", manifest)
    return manifest


# -------------------------------------------------------------------------------------- export
def export(cfg: dict, spec, weights: Path, model, tok, out_dir: Path, trainer) -> dict:
    """CPU/GGUF models: a GGUF LoRA adapter for llama.cpp (verified against transformers).
    Hub/local HF models: an HF checkpoint (merged) that vLLM loads. Written once, by rank 0; a
    full fine-tune is saved through the Trainer, which gathers FSDP shards to rank 0 first."""
    info: dict = {}
    main = trainer.is_world_process_zero()
    if main:
        out_dir.mkdir(parents=True, exist_ok=True)
    hf_dir = out_dir / "hf"
    if not t_is_lora(cfg):
        if trainer.is_fsdp_enabled:   # checkpoints stay sharded; the final model is one file set
            trainer.accelerator.state.fsdp_plugin.set_state_dict_type("FULL_STATE_DICT")
        trainer.save_model(str(hf_dir))          # collective under FSDP; rank 0 writes
        if main:
            tok.save_pretrained(hf_dir)
        info["hf"] = str(hf_dir)
        return info
    if not main:
        return info
    if spec.is_gguf:
        adapter = out_dir / "adapter.gguf"
        write_gguf_lora(model, spec.family, cfg["train"]["lora_alpha"], adapter)
        info["adapter"] = str(adapter)
        info["verify"] = verify_export(cfg, weights, adapter, model, tok, cfg["train"]["verify_prompts"])
        write_json_atomic(out_dir / "verify.json", info["verify"])
    else:
        m = model.merge_and_unload()
        m.save_pretrained(hf_dir)
        tok.save_pretrained(hf_dir)
        info["hf"] = str(hf_dir)
    return info


def t_is_lora(cfg: dict) -> bool:
    return cfg["train"]["method"] == "lora"


def lora_tensors(model) -> dict[str, tuple]:
    """{hf module name: (A [r, in], B [out, r])} from a PEFT model."""
    state = {k: v for k, v in model.state_dict().items() if ".lora_" in k}
    out: dict[str, list] = {}
    for k, v in state.items():
        # base_model.model.model.layers.0.self_attn.q_proj.lora_A.default.weight
        mod, rest = k.split(".lora_", 1)
        mod = mod.removeprefix("base_model.model.")
        which = rest[0]  # "A" or "B"
        out.setdefault(mod, [None, None])["AB".index(which)] = v.detach().float().cpu().numpy()
    return {k: (a, b) for k, (a, b) in out.items()}


def write_gguf_lora(model, family: str, alpha: float, path: Path) -> int:
    """Write a llama.cpp LoRA adapter. Needs general.type=adapter, adapter.type=lora and
    adapter.lora.alpha (without it llama.cpp silently uses scale 1.0); tensor names follow
    gguf's name map + .weight.lora_a/.lora_b; PEFT's A [r,in] and B [out,r] go in as they are."""
    import gguf

    arch = next((a for a, n in gguf.MODEL_ARCH_NAMES.items() if n == family), None)
    if arch is None:
        raise TrainError(f"gguf has no architecture named {family!r}")
    tensors = lora_tensors(model)
    n_blocks = 1 + max(int(k.split("layers.")[1].split(".")[0]) for k in tensors if "layers." in k)
    tmap = gguf.get_tensor_name_map(arch, n_blocks)
    tmp = path.with_name(path.name + ".tmp")
    w = gguf.GGUFWriter(str(tmp), family)
    w.add_string("general.type", "adapter")
    w.add_string("adapter.type", "lora")
    w.add_float32("adapter.lora.alpha", float(alpha))
    n = 0
    for hf_name, (a, b) in sorted(tensors.items()):
        base = tmap.get_name(hf_name)
        if base is None:
            raise TrainError(f"no GGUF name for module {hf_name}")
        w.add_tensor(f"{base}.weight.lora_a", a.astype("float32"))
        w.add_tensor(f"{base}.weight.lora_b", b.astype("float32"))
        n += 2
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    tmp.replace(path)
    return n


def verify_export(cfg: dict, weights: Path, adapter: Path, model, tok, n_prompts: int) -> dict:
    """Greedy continuations of a few prompts by transformers (merged LoRA, fp32) and by llama.cpp
    (Q4_K_M base + GGUF adapter) must agree on the first token; the share of agreeing tokens is
    recorded. A wrong export (names, alpha, transposes) disagrees from the first token on."""
    import torch

    from .backends.llamacpp import LlamaCppBackend

    if n_prompts == 0:
        return {"skipped": True}
    prompts = [sft_prompt(p) + "```python\n" for p in (
        "Write a function that returns the sum of the squares of a list of integers.",
        "Write a function `is_prime(n)` that tells whether n is a prime number.",
        "Write a function that reverses the words of a sentence.",
        "Write a function that counts the vowels of a string.",
        "Write a function that merges two sorted lists into one sorted list.")][:n_prompts]
    n_new = 16
    model.eval()
    hf_out = []
    with torch.no_grad():
        for p in prompts:
            ids = tok(p, return_tensors="pt")
            gen = model.generate(**ids, max_new_tokens=n_new, do_sample=False)
            hf_out.append(tok.decode(gen[0, ids["input_ids"].shape[1]:], skip_special_tokens=True))
    be = LlamaCppBackend(str(weights), n_ctx=1024, seed=cfg["seed"], lora_path=str(adapter))
    lc_out = [c[0].text for c in be.generate(prompts, n=1, temperature=0.0, max_tokens=n_new)]
    be.close()
    first_ok, char_agree = [], []
    for h, l in zip(hf_out, lc_out):
        th, tl = tok(h, add_special_tokens=False)["input_ids"], tok(l, add_special_tokens=False)["input_ids"]
        first_ok.append(bool(th and tl and th[0] == tl[0]))
        same = 0
        for x, y in zip(th, tl):
            if x != y:
                break
            same += 1
        char_agree.append(same / max(1, min(len(th), len(tl))))
    report = {"prompts": len(prompts), "first_token_agree": sum(first_ok), "prefix_agreement": char_agree,
              "transformers": hf_out, "llamacpp": lc_out}
    if sum(first_ok) * 2 < len(prompts):
        raise TrainError(f"exported adapter disagrees with transformers on {len(prompts) - sum(first_ok)} of "
                         f"{len(prompts)} prompts from the first token: the GGUF export is wrong ({report})")
    return report


def base_lora_path(train_dir: str | Path) -> str | None:
    p = Path(train_dir) / "adapter.gguf"
    return str(p) if p.exists() else None


def sft_model_paths(train_dir: str | Path) -> dict:
    with open(Path(train_dir) / "train_manifest.json") as f:
        return json.load(f)["export"]


__all__ = ["train", "encode_example", "Collator", "write_gguf_lora", "TrainError"]
