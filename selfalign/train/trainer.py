"""The training run (paper step 5): Hugging Face ``Trainer`` with our collator, resumed from its
last checkpoint, the same code as one process or as one per GPU; rank 0 writes the manifest."""
from __future__ import annotations

import logging
import os
import resource
import shutil
import time
from pathlib import Path

from ..records import SFTExample, write_json_atomic
from . import TrainError
from .data import Collator, ListDataset, encode_example, prompt_ids, response_ids
from .export import export
from .load import dropout_settings, load_base

log = logging.getLogger(__name__)


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


def launch_info(world: int) -> dict:
    """What the launch gave this run: processes and the GPUs they could see (CUDA_VISIBLE_DEVICES,
    as SLURM or the user set it)."""
    return {"world_size": world, "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES")}


def ran_checkpointed(trainer) -> bool:
    """Whether the model ran with activation checkpointing (the Trainer turns it on from
    gradient_checkpointing): what happened, not the flag. transformers 5.23 renamed the property."""
    model = trainer.accelerator.unwrap_model(trainer.model)
    on = getattr(model, "is_activation_checkpointing", None)      # (a PEFT model forwards it to its base)
    return bool(on if on is not None else getattr(model, "is_gradient_checkpointing", False))


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def train(cfg: dict, sft_path: str | Path, out_dir: str | Path, work_dir: str | Path | None = None,
          activation_checkpointing: bool = False) -> dict:
    """Train on ``sft_path`` into ``out_dir``. Every process of a launch calls this; rank 0 returns
    the manifest it wrote, the others ``{"rank": r}``. ``activation_checkpointing``: the plan's
    choice (the train rule passes it), recomputing each layer's activations in the backward pass."""
    import torch
    import transformers
    from transformers import Trainer, TrainerCallback, TrainingArguments
    from transformers.trainer_utils import get_last_checkpoint

    from ..model import cache_dir, get_spec, provision, sha256_file
    from ..records import read_records

    t = cfg["train"]
    rank, world = dist_env()
    main = rank == 0
    # every process says so: the log shows how many the launch started and which GPUs they saw
    log.info("training process %d of %d started (CUDA_VISIBLE_DEVICES=%s)", rank, world,
             os.environ.get("CUDA_VISIBLE_DEVICES"))
    out_dir = Path(out_dir)
    work_dir = Path(work_dir) if work_dir else out_dir.parent / ".work" / out_dir.name
    work_dir.mkdir(parents=True, exist_ok=True)
    transformers.set_seed(cfg["seed"])
    # One line per record, in the CLI's timestamped format: transformers' own handler prints
    # "[transformers] ..." and, where CI=1, also propagates, so every Trainer line came out twice.
    transformers.utils.logging.disable_default_handler()
    transformers.utils.logging.enable_propagation()

    examples = read_records(sft_path, SFTExample)
    if not examples and t["min_examples"] == 0:
        # a small model may verify no pair at all: the run goes on and says so (tables show it)
        reason = f"{sft_path} holds 0 SFT examples (no response passed its own tests and the filters)"
        manifest = {"skipped": reason, "examples": 0, "sft_sha256": sha256_file(sft_path), **launch_info(world)}
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
        enc = encode_example(tok, ex.instruction, ex.response, t["max_length"], t["overlong"], spec.family)
        if enc is None:
            dropped += 1
            continue
        full = len(prompt_ids(tok, ex.instruction, spec.family)) + len(response_ids(tok, ex.response))
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
        gradient_checkpointing=activation_checkpointing,
        gradient_checkpointing_kwargs={"use_reentrant": False} if activation_checkpointing else None,
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
    trainer.accelerator.wait_for_everyone()
    if not main:
        return {"rank": rank}
    checkpoints = work_dir / "checkpoints"
    if not t["keep_checkpoints"] and checkpoints.exists():
        # each holds the weights and the optimizer state (FSDP: 8 bytes a parameter); the final
        # model is saved, so they are only a resume point for a run that has ended
        shutil.rmtree(checkpoints)
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
        "peak_gpu_mb": round(torch.cuda.max_memory_allocated() / 2**20, 1) if gpu else None,
        "peak_gpu_reserved_mb": round(torch.cuda.max_memory_reserved() / 2**20, 1) if gpu else None,
        "activation_checkpointing": ran_checkpointed(trainer), **launch_info(world),
        "checkpoints": str(checkpoints) if checkpoints.exists() else "deleted after the final save",
        "precision": "bf16" if use_bf16 else "fp32", "final_loss": result.training_loss,
        "loss_curve": [h for h in trainer.state.log_history if "loss" in h],
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__},
        "export": export_info,
    }
    write_json_atomic(out_dir / "train_manifest.json", manifest)
    return manifest
