"""The select stage: one response per instruction into sft.jsonl. stage.py is the order of the
steps (the official sanitize script's, with our filters for small models); sanitize.py holds the
official cleanup's pieces as pure functions, quality.py our few-shot-copy and test-sanity filters."""
from .stage import select_sft

__all__ = ["select_sft"]
