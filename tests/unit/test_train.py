"""Loss masking, dynamic padding and the template, on a tokenizer the test builds."""
import pytest

pytest.importorskip("transformers")
pytest.importorskip("tokenizers")


@pytest.fixture(scope="module")
def tok(tmp_path_factory):
    import sys
    from pathlib import Path
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
    from gpu_train_check import build_tokenizer

    from selfalign.prompts import load_fewshot
    texts = [s.instruction + s.response for s in load_fewshot()] * 2
    return build_tokenizer(texts, tmp_path_factory.mktemp("tok"))


def test_prompt_tokens_are_masked_and_response_learned(tok):
    from selfalign.prompts import sft_prompt
    from selfalign.train import encode_example
    from selfalign.train.data import prompt_ids
    enc = encode_example(tok, "Add two numbers.", "```python\ndef add(a, b):\n    return a + b\n```", 512, "drop")
    n_prompt = len(prompt_ids(tok, "Add two numbers."))
    assert n_prompt == len(tok(sft_prompt("Add two numbers."), add_special_tokens=False)["input_ids"]) + \
        (tok.bos_token_id is not None)
    assert enc.labels[:n_prompt] == [-100] * n_prompt
    assert enc.labels[n_prompt:] == enc.input_ids[n_prompt:]
    assert enc.input_ids[-1] == tok.eos_token_id and enc.labels[-1] == tok.eos_token_id
    decoded = tok.decode(enc.input_ids[n_prompt:-1])
    assert decoded.strip().startswith("```python") and "return a + b" in decoded


def test_overlong_examples_dropped_or_truncated(tok):
    from selfalign.train import encode_example
    from selfalign.prompts import sft_prompt
    long = "word " * 400
    limit = len(tok(sft_prompt("Task."))["input_ids"]) + 20
    assert encode_example(tok, "Task.", long, limit, "drop") is None
    enc = encode_example(tok, "Task.", long, limit, "truncate")
    assert len(enc.input_ids) == limit == len(enc.labels) and enc.labels[-1] != -100
    assert encode_example(tok, "Task. " * 100, "ok", limit, "truncate") is None   # the prompt alone is too long


def test_collator_pads_to_longest_not_max(tok):
    from selfalign.train import Collator
    batch = [{"input_ids": [5, 6, 7], "labels": [-100, 6, 7]}, {"input_ids": [8], "labels": [8]}]
    out = Collator(pad_id=0)(batch)
    assert out["input_ids"].shape == (2, 3)
    assert out["labels"][1].tolist() == [8, -100, -100]
    assert out["attention_mask"].tolist() == [[1, 1, 1], [1, 0, 0]]


def test_no_sft_data_fails_unless_allowed_then_sft_eval_is_skipped(tmp_path, cfg):
    pytest.importorskip("torch")
    import json

    from selfalign.evaluate.generate import generate_samples
    from selfalign.evaluate.score import score_file
    from selfalign.train import TrainError, train

    sft = tmp_path / "sft.jsonl"
    sft.write_text("")
    with pytest.raises(TrainError, match="holds 0 SFT examples; train.min_examples is 1"):
        train(cfg, sft, tmp_path / "sft_model")
    cfg["train"]["min_examples"] = 0
    m = train(cfg, sft, tmp_path / "sft_model")
    assert "0 SFT examples" in m["skipped"]
    assert json.loads((tmp_path / "sft_model" / "train_manifest.json").read_text())["skipped"] == m["skipped"]
    samples = tmp_path / "humaneval.samples.jsonl"
    res = generate_samples(cfg, "humaneval", "sft", samples, train_dir=str(tmp_path / "sft_model"))
    assert res["skipped"].startswith("skipped: no SFT model") and samples.read_text() == ""
    assert score_file(cfg, "humaneval", samples, tmp_path / "eval.json")["skipped"] == res["skipped"]
    assert json.loads((tmp_path / "eval.json").read_text())["skipped"] == res["skipped"]
