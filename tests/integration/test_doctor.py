"""`selfalign doctor`'s greedy agreement (selfalign/doctor.py): one teacher-forced transformers pass
must say exactly what comparing with transformers' own greedy decoding says: agreement for its
own greedy tokens, and the first differing position when one token is changed or the text stops
early. On the CPU model's fp32 HF conversion (the checkpoint vLLM serves)."""
import pytest

from selfalign.backends.base import Completion
from selfalign.doctor import PROMPTS, greedy_agreement

pytestmark = [pytest.mark.integration]


def test_teacher_forced_agreement_equals_greedy_decoding(cfg):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from selfalign.model import cache_dir, get_spec, hf_checkpoint, provision

    spec = get_spec(cfg)
    path = hf_checkpoint(spec, provision(spec, cfg), cache_dir(cfg))
    tok = AutoTokenizer.from_pretrained(path)
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32).eval()
    prompts, n = PROMPTS[:3], 12
    greedy = []
    for p in prompts:
        ids = tok(p, return_tensors="pt").input_ids
        assert ids[0, 0].item() == tok.bos_token_id           # the conversion prepends BOS, as llama.cpp
        out = model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=n, do_sample=False)
        greedy.append(out[0, ids.shape[1]:].tolist())
    comps = [Completion(text=tok.decode(g), finish_reason="length", token_ids=g) for g in greedy]
    r = greedy_agreement(cfg, spec, prompts, comps, n)
    assert r["greedy_agreement"] == 1.0 and r["agreement_first_diff"] == [None] * 3
    changed = [greedy[0], greedy[1][:5] + [(greedy[1][5] + 1) % len(tok)] + greedy[1][6:], greedy[2][:7]]
    comps = [Completion(text="", finish_reason="length", token_ids=g) for g in changed]
    r = greedy_agreement(cfg, spec, prompts, comps, n)
    assert r["greedy_agreement"] == round(1 / 3, 4) and r["agreement_first_diff"] == [None, 5, 7]
    # without token ids (llama.cpp): the text after the prompt, re-tokenised
    r = greedy_agreement(cfg, spec, prompts[:1], [Completion(text=tok.decode(greedy[0]), finish_reason="length")], n)
    assert r["greedy_agreement"] == 1.0
