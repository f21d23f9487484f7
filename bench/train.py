"""LoRA step speed on CPU: dynamic padding (our collator) vs padding every example to max length,
same examples, same model, in one run. Prints tokens/s of each and the ratio.
    python bench/train.py [--steps 4] [--batch 4]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--max-length", type=int, default=512)
    a = ap.parse_args()
    import torch
    from peft import LoraConfig, get_peft_model

    from selfalign.config import resolve
    from selfalign.model import cache_dir, get_spec, provision
    from selfalign.prompts import load_fewshot
    from selfalign.train import Collator, encode_example, load_base

    cfg = resolve({})
    spec = get_spec(cfg)
    model, tok = load_base(spec, provision(spec, cfg), cache_dir(cfg))
    model = get_peft_model(model, LoraConfig(r=16, lora_alpha=32, target_modules=["q_proj", "k_proj", "v_proj", "o_proj"],
                                             task_type="CAUSAL_LM"))
    shots = load_fewshot()
    rows = [encode_example(tok, s.instruction, s.response, a.max_length, "truncate") for s in shots]
    rows = [{"input_ids": r.input_ids, "labels": r.labels} for r in rows if r]
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    collate = Collator(tok.pad_token_id or 0)

    def run(pad_to: int | None):
        tokens, t = 0, time.perf_counter()
        for step in range(a.steps):
            batch = [rows[(step * a.batch + i) % len(rows)] for i in range(a.batch)]
            tokens += sum(len(b["input_ids"]) for b in batch)          # real (unpadded) tokens
            if pad_to:
                batch = [{"input_ids": b["input_ids"] + [tok.pad_token_id] * (pad_to - len(b["input_ids"])),
                          "labels": b["labels"] + [-100] * (pad_to - len(b["labels"]))} for b in batch]
            x = collate(batch)
            loss = model(**x).loss
            loss.backward()
            opt.step()
            opt.zero_grad()
        return tokens, time.perf_counter() - t

    run(None)  # warm-up
    real_dyn, dt_dyn = run(None)
    real_pad, dt_pad = run(a.max_length)
    print(f"dynamic padding: {real_dyn / dt_dyn:.1f} real tok/s ({dt_dyn / a.steps:.2f} s/step); "
          f"padded to {a.max_length}: {real_pad / dt_pad:.1f} real tok/s ({dt_pad / a.steps:.2f} s/step); "
          f"speed-up {dt_pad / dt_dyn:.2f}x")


if __name__ == "__main__":
    main()
