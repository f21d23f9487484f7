"""Instruction tuning of the base model on its own data (paper step 5).

One code path: Hugging Face ``Trainer`` with our own collator. We use the plain Trainer rather
than TRL's SFTTrainer because the only thing SFT needs beyond it is response-only loss masking,
which a 20-line collator states explicitly (and tests can check), without TRL's moving API.

GPU default = the paper's recipe (full fine-tuning, Adafactor, lr 1e-5, batch 64, bf16, dropout 0,
no gradient clipping, truncation to 1280 tokens), launched by the rule through ``accelerate launch``
(launch.py): the same code runs as one process or as N (DDP or FSDP); rank 0 alone writes the
final model, the manifest and the export.
CPU default = LoRA on Gemma-3-270M loaded from its GGUF (dequantised to fp32 once, then cached as
an HF checkpoint), dynamic padding, exported as a GGUF LoRA adapter that llama.cpp loads.

data.py (masking, padding), load.py (the base model, dropout 0), trainer.py (the run),
export.py (GGUF adapter + its check, or an HF checkpoint), launch.py (how the rule starts it).
"""


class TrainError(RuntimeError):
    pass


# defined after TrainError, which the modules raise
from .data import Collator, encode_example  # noqa: E402
from .export import verify_export, write_gguf_lora  # noqa: E402
from .load import FAMILY_MODEL_TYPE, dropout_settings, load_base, load_causal_lm  # noqa: E402
from .trainer import grad_accumulation, train  # noqa: E402

__all__ = ["Collator", "FAMILY_MODEL_TYPE", "TrainError", "dropout_settings", "encode_example", "grad_accumulation",
           "load_base", "load_causal_lm", "train", "verify_export", "write_gguf_lora"]
