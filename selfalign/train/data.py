"""The SFT examples as the Trainer sees them: prompt tokens masked (label -100), response and EOS
learned, padded per batch."""
from __future__ import annotations

from dataclasses import dataclass

from ..bos import train_bos_id
from ..prompts import sft_prompt


@dataclass
class Encoded:
    input_ids: list[int]
    labels: list[int]


def prompt_ids(tok, instruction: str, family: str = "") -> list[int]:
    """The SFT prompt's tokens as the official encodes them (train.py:50-52, llm_wrapper.py:137-150):
    without the tokenizer's own special tokens, BOS prepended whenever the family's tokenizer has
    one (selfalign/bos.py), whether or not the tokenizer adds it by itself."""
    bos = train_bos_id(family, tok)
    return ([bos] if bos is not None else []) + tok(sft_prompt(instruction), add_special_tokens=False)["input_ids"]


def response_ids(tok, response: str) -> list[int]:
    """The response's tokens and EOS (train.py:51: no BOS, EOS added)."""
    return tok(response.rstrip(), add_special_tokens=False)["input_ids"] + [tok.eos_token_id]


def encode_example(tok, instruction: str, response: str, max_length: int, overlong: str,
                   family: str = "") -> Encoded | None:
    """Prompt tokens get label -100 (no loss); response tokens and EOS are learned.
    Returns None when the example is too long and ``overlong == 'drop'``."""
    prompt_ids_ = prompt_ids(tok, instruction, family)
    resp_ids = response_ids(tok, response)
    ids = prompt_ids_ + resp_ids
    labels = [-100] * len(prompt_ids_) + resp_ids
    if len(ids) > max_length:
        if overlong == "drop" or len(prompt_ids_) >= max_length:
            return None
        ids, labels = ids[:max_length], labels[:max_length]
    return Encoded(ids, labels)


class Collator:
    """Dynamic padding to the longest example of the batch (not to max_length: 8x faster on CPU)."""

    def __init__(self, pad_id: int):
        self.pad_id = pad_id

    def __call__(self, batch):
        import torch

        width = max(len(b["input_ids"]) for b in batch)
        ids = torch.full((len(batch), width), self.pad_id, dtype=torch.long)
        labels = torch.full((len(batch), width), -100, dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for i, b in enumerate(batch):
            n = len(b["input_ids"])
            ids[i, :n] = torch.tensor(b["input_ids"])
            labels[i, :n] = torch.tensor(b["labels"])
            mask[i, :n] = 1
        return {"input_ids": ids, "labels": labels, "attention_mask": mask}


class ListDataset:
    def __init__(self, rows: list[Encoded]):
        self.rows = rows

    def __len__(self):
        return len(self.rows)

    def __getitem__(self, i):
        r = self.rows[i]
        return {"input_ids": r.input_ids, "labels": r.labels}
