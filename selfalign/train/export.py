"""What a trained model is exported as: a GGUF LoRA adapter for llama.cpp, checked against
transformers on a few prompts (GGUF models), or an HF checkpoint that vLLM loads."""
from __future__ import annotations

import dataclasses
from pathlib import Path

from ..backends import backend_name
from ..prompts import sft_prompt
from ..records import write_json_atomic
from . import TrainError


def export(cfg: dict, spec, weights: Path, model, tok, out_dir: Path, trainer) -> dict:
    """CPU/GGUF models: a GGUF LoRA adapter for llama.cpp (verified against transformers).
    Hub/local HF models, and GGUF models served by vLLM (``backend.name``): an HF checkpoint
    (merged) that vLLM loads. Written once, by rank 0; a
    full fine-tune is saved through the Trainer, which gathers FSDP shards to rank 0 first."""
    info: dict = {}
    main = trainer.is_world_process_zero()
    if main:
        out_dir.mkdir(parents=True, exist_ok=True)
    hf_dir = out_dir / "hf"
    if cfg["train"]["method"] != "lora":
        if trainer.is_fsdp_enabled:   # checkpoints stay sharded; the final model is one file set
            trainer.accelerator.state.fsdp_plugin.set_state_dict_type("FULL_STATE_DICT")
        trainer.save_model(str(hf_dir))          # collective under FSDP; rank 0 writes
        if main:
            tok.save_pretrained(hf_dir)
        info["hf"] = str(hf_dir)
        return info
    if not main:
        return info
    if spec.is_gguf and backend_name(cfg, spec) != "vllm":
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


# llama.cpp as the check runs it, whatever the run's backend settings: a small context, all cores
VERIFY_BACKEND = {"n_ctx": 1024, "n_batch": 512, "parallel": 8, "base_url": None, "name": None}


def verify_export(cfg: dict, weights: Path, adapter: Path, model, tok, n_prompts: int) -> dict:
    """Greedy continuations of a few prompts by transformers (merged LoRA, fp32) and by llama.cpp
    (Q4_K_M base + GGUF adapter) must agree on the first token; the share of agreeing tokens is
    recorded. A wrong export (names, alpha, transposes) disagrees from the first token on."""
    import torch

    from ..backends import load_backend
    from ..model import get_spec

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
    # the GGUF base at `weights` and the adapter as llama.cpp loads them, whatever serves the run
    spec = dataclasses.replace(get_spec(cfg), backend="llamacpp", weights=f"path:{weights}")
    be = load_backend(cfg, spec, lora_path=str(adapter), n_threads=0, overrides=VERIFY_BACKEND)
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
