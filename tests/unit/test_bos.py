"""BOS in the SFT template as the official places it, for every tokenizer family of
config/models.tsv, on tiny tokenizers built here that behave as each family's does (the real ones
are not downloadable offline): training prepends ``bos_token_id`` to the prompt whenever the
tokenizer has one (src/star_align/llm_wrapper.py:137-150, train.py:50-52); the evaluation
template starts with one BOS (prompt_template.py CHAT_TEMPLATE)."""
import pytest

pytest.importorskip("transformers")
pytest.importorskip("tokenizers")

from selfalign.bos import NO_BOS_FAMILIES, hf_bos_info, template_bos, train_bos_id  # noqa: E402

# each family's hub tokenizer: its BOS token, and whether encoding adds it by itself
# (tokenizer_config.json / tokenizer.json of each family; Gemma-3's checked on the GGUF below)
BEHAVIOURS = [
    ("starcoder2", "<|endoftext|>", False),        # GPT2TokenizerFast: has a BOS, adds none
    ("llama3", "<|begin_of_text|>", True),          # a TemplateProcessing post-processor adds it
    ("deepseek-coder", "<｜begin▁of▁sentence｜>", True),   # LlamaTokenizerFast, add_bos_token
    ("gemma3", "<bos>", True),
    ("qwen2", None, False),                         # "bos_token": null
    # CodeQwen1.5's tokenizer was not readable offline: both behaviours give one BOS (vLLM reads
    # the hub tokenizer itself, so the rule applies to whichever it is)
    ("codeqwen", "<s>", True), ("codeqwen", "<|endoftext|>", False),
]
FAMILIES = {f for f, _, _ in BEHAVIOURS}
WORDS = ["below", "is", "an", "instruction", "write", "add", "two", "numbers", "def", "return", "a", "b", "x"]


def tiny_tokenizer(bos: str | None, adds: bool):
    """A word-level tokenizer with the family's BOS behaviour."""
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    specials = ["<unk>", "<eos>"] + ([bos] if bos else [])
    vocab = {t: i for i, t in enumerate(specials + WORDS)}
    raw = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    raw.pre_tokenizer = pre_tokenizers.Whitespace()
    if bos and adds:
        raw.post_processor = processors.TemplateProcessing(single=f"{bos} $A", special_tokens=[(bos, vocab[bos])])
    return PreTrainedTokenizerFast(tokenizer_object=raw, bos_token=bos, eos_token="<eos>", unk_token="<unk>")


def test_every_family_of_the_sheet_is_covered():
    from selfalign.config import resolve
    from selfalign.model import read_sheet
    families = {s.family for s in read_sheet(resolve({})["models_sheet"]).values()}
    assert families <= FAMILIES, families - FAMILIES


@pytest.mark.parametrize("family,bos,adds", BEHAVIOURS)
def test_training_prompt_starts_with_one_bos_whenever_the_tokenizer_has_one(family, bos, adds):
    from selfalign.train.data import encode_example
    tok = tiny_tokenizer(bos, adds)
    assert hf_bos_info(tok) == ((bos, adds) if bos else (None, False))
    enc = encode_example(tok, "add two numbers", "def add a b return a", 512, "drop", family)
    n_bos = sum(i == tok.bos_token_id for i in enc.input_ids) if bos else 0
    if bos:       # StarCoder2's included: the official prepends it though its tokenizer does not
        assert enc.input_ids[0] == tok.bos_token_id and n_bos == 1
    else:
        assert tok.bos_token_id is None
    assert enc.input_ids[-1] == tok.eos_token_id and enc.labels[0] == -100


def test_a_gguf_bos_the_hub_tokenizer_lacks_is_not_used():
    """llama.cpp's converter names <|endoftext|> BOS for Qwen2; its hub tokenizer has none."""
    from selfalign.train.data import encode_example
    tok = tiny_tokenizer("<|endoftext|>", False)
    assert "qwen2" in NO_BOS_FAMILIES and train_bos_id("qwen2", tok) is None
    enc = encode_example(tok, "add two numbers", "return a", 512, "drop", "qwen2")
    assert tok.bos_token_id not in enc.input_ids
    assert train_bos_id("starcoder2", tok) == tok.bos_token_id


@pytest.mark.parametrize("family,bos,adds", BEHAVIOURS)
def test_evaluation_prompt_encodes_with_exactly_one_bos(family, bos, adds):
    """The instruct prompt as vLLM would encode it (the tokenizer's own specials, a BOS text parsed
    as the token): one BOS at the start wherever the family has one."""
    from selfalign.evaluate.base import Problem, instruct_prompt
    tok = tiny_tokenizer(bos, adds)
    prefix = template_bos(family, *hf_bos_info(tok))
    prompt = instruct_prompt(Problem(task_id="t/0", prompt="def add(a, b):\n", units=lambda s: []), prefix)
    ids = tok(prompt)["input_ids"]
    if bos:
        assert ids[0] == tok.bos_token_id and ids.count(tok.bos_token_id) == 1
        assert prefix == ("" if adds else bos)
    else:
        assert prefix == ""
    assert prompt.endswith("### Response\n```python")       # text2code_vllm.py: no newline after the fence


def test_llamacpp_reads_the_gguf_bos_and_parses_a_leading_bos_text(model_path):
    """Gemma-3's GGUF: BOS <bos>, added by the vocabulary itself (so the template needs no text)."""
    from selfalign.backends.llamacpp import LlamaCppBackend
    be = LlamaCppBackend(str(model_path), n_ctx=256, parallel=1)
    try:
        text, adds = be.bos_info()
        assert (text, adds) == ("<bos>", True) and template_bos("gemma3", text, adds) == ""
        plain = be.tokenize("def f")
        assert plain[0] == be.llm.token_bos() and plain.count(be.llm.token_bos()) == 1
        assert be.tokenize("<bos>def f") == [be.llm.token_bos()] + plain   # parsed, as transformers does
    finally:
        be.close()
