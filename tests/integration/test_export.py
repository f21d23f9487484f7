"""The GGUF LoRA export reproduces transformers in llama.cpp: a LoRA with random non-zero weights
(so the adapter really changes the output) is written as a llama.cpp adapter; greedy continuations
of llama.cpp (base GGUF + adapter) and transformers (merged) agree, and differ from the base model."""
import pytest

pytestmark = pytest.mark.integration


def test_random_lora_roundtrips_through_gguf(tmp_path, cfg, model_path):
    torch = pytest.importorskip("torch")
    from peft import LoraConfig, get_peft_model

    from selfalign.backends.llamacpp import LlamaCppBackend
    from selfalign.model import cache_dir, get_spec
    from selfalign.prompts import sft_prompt
    from selfalign.train import load_base, verify_export, write_gguf_lora

    spec = get_spec(cfg)
    model, tok = load_base(spec, model_path, cache_dir(cfg))
    torch.manual_seed(0)                                   # PEFT initialises lora_A from the global RNG
    model = get_peft_model(model, LoraConfig(r=8, lora_alpha=16, target_modules=["q_proj", "v_proj", "down_proj"],
                                             task_type="CAUSAL_LM"))
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_B" in name:
                p.copy_(torch.randn(p.shape, generator=g) * 0.04)
    adapter = tmp_path / "adapter.gguf"
    n = write_gguf_lora(model, spec.family, 16, adapter)
    assert n == 2 * 3 * model.config.num_hidden_layers
    report = verify_export(cfg, model_path, adapter, model, tok, 3)
    assert report["first_token_agree"] == 3
    # Q4_K_M llama.cpp vs fp32 transformers drift apart after a while on near-tied tokens; a wrong
    # export (names, transposes, alpha) disagrees from the first token on
    assert sum(report["prefix_agreement"]) / 3 >= 0.5
    base = LlamaCppBackend(str(model_path), n_ctx=1024, seed=1)
    prompts = [sft_prompt(p) + "```python\n" for p in (
        "Write a function that returns the sum of the squares of a list of integers.",
        "Write a function `is_prime(n)` that tells whether n is a prime number.",
        "Write a function that reverses the words of a sentence.")]
    base_out = [c[0].text for c in base.generate(prompts, n=1, temperature=0.0, max_tokens=16)]
    base.close()
    assert base_out != report["llamacpp"], "the adapter did not change the output: the test would prove nothing"
