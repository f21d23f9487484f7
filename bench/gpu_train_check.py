"""GPU check of the training path (run on a CUDA machine; no network needed).

Builds a small Gemma-3 text model from a config (random weights) and a byte-level BPE tokenizer
trained on our few-shot data, writes an SFT file from the few-shot examples, and runs
``selfalign.train.train`` with the paper's GPU recipe (full fine-tuning, Adafactor, bf16,
linear schedule, warm-up) and then LoRA (merged HF export). Prints what a reviewer needs:
device, precision, steps, s/step, tokens/s, loss first→last, peak GPU memory, and whether the saved
checkpoint reloads and generates.

    python bench/gpu_train_check.py --out /tmp/gpucheck
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def build_tokenizer(texts: list[str], out: Path):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=1024, special_tokens=["<pad>", "<bos>", "<eos>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(texts, trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<bos>", eos_token="<eos>", pad_token="<pad>")
    fast.save_pretrained(out)
    return fast


def build_model(tok, out: Path):
    import torch
    from transformers import Gemma3ForCausalLM, Gemma3TextConfig

    cfg = Gemma3TextConfig(vocab_size=len(tok), hidden_size=512, intermediate_size=1536, num_hidden_layers=6,
                           num_attention_heads=8, num_key_value_heads=2, head_dim=64, max_position_embeddings=2048,
                           sliding_window=512, pad_token_id=tok.pad_token_id, bos_token_id=tok.bos_token_id,
                           eos_token_id=tok.eos_token_id)
    torch.manual_seed(0)
    model = Gemma3ForCausalLM(cfg)
    model.save_pretrained(out)
    return sum(p.numel() for p in model.parameters())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="/tmp/gpucheck")
    ap.add_argument("--repeat", type=int, default=8, help="copies of the 21 few-shot pairs in the SFT file")
    a = ap.parse_args()
    import torch

    from selfalign.config import apply_defaults, load_schema
    from selfalign.prompts import load_fewshot
    from selfalign.records import SFTExample, write_jsonl_atomic
    from selfalign.train import train

    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    shots = load_fewshot()
    texts = [s.instruction + "\n" + s.response + "\n" + s.tests for s in shots] * 4
    model_dir = out / "tiny-gemma3"
    tok = build_tokenizer(texts, model_dir)
    n_params = build_model(tok, model_dir)
    sheet = out / "models.tsv"
    sheet.write_text("name\tfamily\tsize_b\tbackend\tweights\tsha256\tgpus\tcontext\tbase_model\tlicense\tnotes\n"
                     f"tiny-gemma3\tgemma3\t0.03\tvllm\tpath:{model_dir}\t\t1\t2048\tyes\t-\tbuilt from a config by the GPU check\n")
    sft = out / "sft.jsonl"
    rows = [SFTExample(id=f"{s.id}-{k}", instruction=s.instruction, response=s.response, response_id="-", seed_id="-",
                       concepts=s.concepts, category=s.category, difficulty=s.difficulty, verdict="pass")
            for k in range(a.repeat) for s in shots]
    write_jsonl_atomic(sft, rows)
    report = {"device": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu",
              "torch": torch.__version__, "model_params": n_params, "examples": len(rows)}
    for method, lr in (("full", 5e-4), ("lora", 2e-3)):
        cfg = apply_defaults(load_schema(), {
            "model": "tiny-gemma3", "models_sheet": str(sheet), "cache_dir": str(out / "cache"),
            "train": {"method": method, "epochs": 3, "learning_rate": lr, "batch_size": 8, "effective_batch_size": 16,
                      "precision": "auto", "optimizer": "adafactor", "max_length": 1280, "save_steps": 10,
                      "lora_targets": ["q_proj", "k_proj", "v_proj", "o_proj"]}})
        torch.cuda.reset_peak_memory_stats() if torch.cuda.is_available() else None
        t0 = time.perf_counter()
        m = train(cfg, sft, out / f"sft_{method}")
        wall = time.perf_counter() - t0
        curve = [h["loss"] for h in m["loss_curve"]]
        hf_dir = Path(m["export"]["hf"])
        from transformers import AutoModelForCausalLM, AutoTokenizer
        re_tok = AutoTokenizer.from_pretrained(hf_dir)
        re_model = AutoModelForCausalLM.from_pretrained(hf_dir, dtype=torch.bfloat16).to("cuda" if torch.cuda.is_available() else "cpu")
        ids = re_tok("### Instruction\nWrite a function", return_tensors="pt").to(re_model.device)
        gen = re_model.generate(**ids, max_new_tokens=16, do_sample=False)
        report[method] = {
            "precision": m["precision"], "device": m["device"], "steps": m["steps"], "s_per_step": m["s_per_step"],
            "tokens_per_s": round(m["tokens_per_epoch"] * float(cfg["train"]["epochs"]) / m["train_s"], 1),
            "loss_first": curve[0] if curve else None, "loss_last": curve[-1] if curve else None,
            "loss_decreased": bool(curve and curve[-1] < curve[0]), "wall_s": round(wall, 1),
            "peak_gpu_mem_mb": round(torch.cuda.max_memory_allocated() / 2 ** 20, 1) if torch.cuda.is_available() else None,
            "trainable_params": m["trainable_params"], "reloaded_generates": gen.shape[1] > ids["input_ids"].shape[1],
            "sample": re_tok.decode(gen[0, ids["input_ids"].shape[1]:])[:80]}
    print(json.dumps(report, indent=1))
    (out / "report.json").write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
