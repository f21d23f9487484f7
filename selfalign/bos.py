"""The BOS token of the SFT template, for every tokenizer family of config/models.tsv.

Training (src/star_align/train.py:50-52, llm_wrapper.py:126-150): the prompt is tokenised without
the tokenizer's own special tokens and ``bos_token_id`` is prepended whenever the tokenizer has
one, so a tokenizer that adds no BOS by itself (StarCoder2's) still gets one. Evaluation
(prompt_template.py CHAT_TEMPLATE, saved with the trained model, train.py:224-225; rendered by
evaluation/text2code_vllm.py): the template starts with the BOS token. We give the evaluation
prompt exactly that one BOS: its text before the template when the tokenizer does not add BOS
itself, nothing when it does (vLLM's encode would add a second one there: docs/FIDELITY.md).

The official rule reads the hub tokenizer. A GGUF may name a BOS its hub tokenizer does not have
(llama.cpp's converter sets ``<|endoftext|>`` for Qwen2, whose tokenizer_config.json says
``"bos_token": null``): those families, named here, get none.
"""
from __future__ import annotations

# config/models.tsv families whose hub tokenizer has no BOS token
NO_BOS_FAMILIES = frozenset({"qwen2"})


def train_bos_id(family: str, tok) -> int | None:
    """The id prepended to every training prompt (None: no BOS)."""
    return None if family in NO_BOS_FAMILIES else tok.bos_token_id


def template_bos(family: str, bos_text: str | None, adds_bos: bool) -> str:
    """The text to put before the evaluation template so that the prompt starts with one BOS:
    ``bos_text`` when the tokenizer has a BOS but does not add it itself, else ""."""
    if family in NO_BOS_FAMILIES or not bos_text or adds_bos:
        return ""
    return bos_text


def hf_bos_info(tok) -> tuple[str | None, bool]:
    """(BOS text, whether encoding adds it) of a transformers tokenizer."""
    if tok.bos_token_id is None:
        return None, False
    return tok.bos_token, tok("x")["input_ids"][:1] == [tok.bos_token_id]
