"""The LoRA export on a tiny Gemma-3 built here from a config (no downloaded weights): the random
model is written as a GGUF base (f32, a byte-level vocabulary), llama.cpp must reproduce
transformers' logits on it, and then — the point — reproduce the PEFT LoRA model's logits when it
loads our GGUF adapter (``train.write_gguf_lora``), through llama-cpp-python and through our own
batched engine."""
import numpy as np
import pytest

pytestmark = pytest.mark.integration

VOCAB = ["<pad>", "<eos>", "<bos>", "<unk>"] + [f"<0x{b:02X}>" for b in range(256)]


def tiny_gemma3():
    torch = pytest.importorskip("torch")
    from transformers import Gemma3ForCausalLM, Gemma3TextConfig

    cfg = Gemma3TextConfig(vocab_size=len(VOCAB), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                           num_attention_heads=2, num_key_value_heads=1, head_dim=32, query_pre_attn_scalar=32,
                           sliding_window=512, max_position_embeddings=1024, pad_token_id=0, eos_token_id=1,
                           bos_token_id=2, tie_word_embeddings=True, attn_implementation="eager")
    torch.manual_seed(0)
    model = Gemma3ForCausalLM(cfg).float().eval()
    with torch.no_grad():   # random norms too (they start at 0 = identity): a dropped +1 must show
        for name, p in model.named_parameters():
            if "norm" in name:
                p.copy_(torch.randn(p.shape) * 0.3)
    return model


def write_gguf_base(model, path):
    """An f32 GGUF of a transformers Gemma-3, as llama.cpp's converter lays it out (Gemma norms
    are stored as 1 + w; tied embeddings: no output tensor)."""
    import gguf

    c = model.config
    w = gguf.GGUFWriter(str(path), "gemma3")
    w.add_context_length(c.max_position_embeddings)
    w.add_embedding_length(c.hidden_size)
    w.add_block_count(c.num_hidden_layers)
    w.add_feed_forward_length(c.intermediate_size)
    w.add_head_count(c.num_attention_heads)
    w.add_head_count_kv(c.num_key_value_heads)
    w.add_key_length(c.head_dim)
    w.add_value_length(c.head_dim)
    w.add_layer_norm_rms_eps(c.rms_norm_eps)
    w.add_rope_freq_base(1_000_000.0)
    w.add_sliding_window(c.sliding_window)
    w.add_file_type(gguf.LlamaFileType.ALL_F32)
    w.add_tokenizer_model("llama")
    w.add_token_list(VOCAB)
    w.add_token_scores([0.0] * len(VOCAB))
    w.add_token_types([3, 3, 3, 2] + [6] * 256)
    w.add_pad_token_id(0)
    w.add_eos_token_id(1)
    w.add_bos_token_id(2)
    w.add_unk_token_id(3)
    tmap = gguf.get_tensor_name_map(gguf.MODEL_ARCH.GEMMA3, c.num_hidden_layers)
    for name, t in model.state_dict().items():
        if name == "lm_head.weight":
            continue
        arr = t.detach().float().numpy()
        if "norm" in name:
            arr = arr + 1.0
        w.add_tensor(tmap.get_name(name, try_suffixes=(".weight",)), np.ascontiguousarray(arr, dtype=np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def llama_logits(path, tokens, lora=None):
    from llama_cpp import Llama

    llm = Llama(model_path=str(path), n_ctx=256, n_threads=2, logits_all=True, lora_path=lora and str(lora),
                verbose=False)
    llm.eval(tokens)
    out = np.array(llm.scores[: len(tokens)])
    llm.close()
    return out


def hf_logits(model, tokens):
    import torch
    with torch.no_grad():
        return model(torch.tensor([tokens])).logits[0].float().numpy()


def test_tiny_model_lora_export_matches_transformers(tmp_path):
    torch = pytest.importorskip("torch")
    from peft import LoraConfig, get_peft_model

    from selfalign.backends.llamacpp import LlamaCppBackend
    from selfalign.train import write_gguf_lora

    model = tiny_gemma3()
    base_path = tmp_path / "tiny.gguf"
    write_gguf_base(model, base_path)
    tokens = [2] + [4 + b for b in b"def add(a, b):\n    return a + b\n"]
    ref = hf_logits(model, tokens)
    got = llama_logits(base_path, tokens)
    scale = np.abs(ref).max()
    assert np.abs(got - ref).max() < 1e-3 * max(scale, 1.0), "the tiny base itself does not match"

    peft = get_peft_model(model, LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj", "o_proj", "up_proj", "down_proj"],
                                            task_type="CAUSAL_LM"))
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for name, p in peft.named_parameters():
            if "lora_B" in name:
                p.copy_(torch.randn(p.shape, generator=g) * 0.5)
    lora_ref = hf_logits(peft, tokens)
    assert np.abs(lora_ref - ref).max() > 0.05 * scale, "the LoRA does not change the model: the test proves nothing"
    adapter = tmp_path / "adapter.gguf"
    assert write_gguf_lora(peft, "gemma3", 8, adapter) == 2 * 5 * 2
    lora_got = llama_logits(base_path, tokens, adapter)
    assert np.abs(lora_got - lora_ref).max() < 1e-3 * max(np.abs(lora_ref).max(), 1.0)

    # our batched engine applies the adapter in its own context: greedy ids follow transformers
    be = LlamaCppBackend(str(base_path), n_ctx=256, seed=0, lora_path=str(adapter), parallel=2)
    try:
        prompt = "def add(a, b):\n"
        ids = be.tokenize(prompt)
        out = be.generate([prompt, "x = 1\n"], n=1, temperature=0.0, max_tokens=8)[0][0]
        cur = list(ids)
        for _ in range(out.completion_tokens):
            cur.append(int(hf_logits(peft, cur)[-1].argmax()))
        expect = be.llm.detokenize(cur[len(ids):]).decode("utf-8", "ignore")
    finally:
        be.close()
    assert out.completion_tokens > 0 and out.text == expect
