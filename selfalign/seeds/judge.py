"""The docstring judge: the base model says whether a seed's docstring alone is enough to
re-implement it (the official issue-thread prompt, filter_dataset.py)."""
from __future__ import annotations

import random
from pathlib import Path
from typing import Callable

from ..backends.base import PROMPT_TOO_LONG
from ..records import Seed
from . import SeedError


# The official judge (seed_gathering/filter_dataset.py:29-53, 182-206, 350-364): a GitHub-issue
# thread in which a user shows the code with the docstring cut out and the docstring apart, asks
# whether the description alone is enough to re-implement the function, and the reply says "My
# answer is: Yes/No". Seven such threads (shuffled for every prompt) precede the seed's thread;
# greedy, stop at the line end, 5 tokens, "yes" counted against "no" (a tie is no).
def load_judge_data() -> dict:
    import yaml
    with open(Path(__file__).parent.parent / "data" / "judge.yaml") as f:
        data = yaml.safe_load(f)
    for i, shot in enumerate(data["shots"]):
        if shot.get("answer") not in ("Yes", "No") or not shot.get("rationale") or '"""' not in shot.get("code", ""):
            raise SeedError(f"judge.yaml: shot {i + 1} needs answer Yes/No, a rationale and a \"\"\"docstring")
    return data


def split_docstring(code: str) -> tuple[str, str]:
    """(docstring, code without it) at the first triple-quoted string, as filter_dataset.py:319-329."""
    import textwrap
    start = code.find('"""')
    end = code.find('"""', start + 4) if start >= 0 else -1
    if start < 0 or end < 0:
        raise SeedError("no triple-quoted docstring in the seed")
    return textwrap.dedent(code[start + 3:end]).strip(), code[:start] + code[end + 3:]


def _thread(data: dict, code: str, query: bool) -> str:
    """One issue: the code without its docstring, the docstring apart, the question; the open
    query carries "Upvotes: 100" before the reply, a few-shot thread "Upvotes: 200" after it."""
    doc, body = split_docstring(code)
    return (f"<issue_start>username_0: {data['opening'].strip()}\n\nHere is the code for the function:\n"
            f"```py\n{body}\n```\n\nHere is my description of this program:\n```\n{doc}\n```\n\n"
            f"{data['question'].strip()}" + ("\nUpvotes: 100" if query else "") +
            f"<issue_comment>username_1: {data['reply'].strip()}")


def judge_prompt(code: str, shots: int, rng: random.Random, data: dict | None = None) -> str:
    data = data or load_judge_data()
    pool = list(data["shots"])
    picked = rng.sample(pool, min(shots, len(pool)))       # all 7 by default, in a fresh order
    parts = [_thread(data, ex["code"], False) + f" {ex['answer']}\n\n{ex['rationale'].strip()}\n\nUpvotes: 200"
             for ex in picked]
    return "".join(parts) + _thread(data, code, True)


def parse_judgement(text: str) -> str | None:
    """"yes", "no" (more "no"s than "yes"es, or a tie with some), or None when neither word occurs."""
    low = text.lower()
    yes, no = low.count("yes"), low.count("no")
    if yes == no == 0:
        return None
    return "yes" if yes > no else "no"


def judge_seeds(backend, seeds: list[Seed], shots: int, votes: int, max_tokens: int, seed: int,
                progress: Callable[[int], None] | None = None, shuffle: bool = True) -> tuple[list[bool], dict]:
    """(keep flags, counts) by majority of yes/no votes; ties and garbage count as no. Counts:
    unparseable answers, and prompts longer than the context (no answer, so no: the official
    skips prompts over 16380 tokens, filter_dataset.py:339-346). ``shuffle`` False: one order of
    the shots for every prompt, so the shared few-shot prefix is computed once (CPU)."""
    data = load_judge_data()
    rng = (lambda s: random.Random(f"{seed}:judge:{s.id}")) if shuffle else (lambda s: random.Random(f"{seed}:judge"))
    prompts = [judge_prompt(s.seed, shots, rng(s), data) for s in seeds]
    temperature = 0.0 if votes == 1 else 0.7
    outs = backend.generate(prompts, n=votes, temperature=temperature, max_tokens=max_tokens,
                            stop=["\n"], seed=seed, progress=(lambda i, c: progress(1)) if progress else None)
    keep, counts = [], {"unparseable_answers": 0, "prompt_too_long": 0}
    for comps in outs:
        # over the context: vLLM does not send it (PROMPT_TOO_LONG), llama.cpp answers no token
        if all(c.finish_reason == PROMPT_TOO_LONG or (c.finish_reason == "length" and not c.text
                                                     and not c.completion_tokens) for c in comps):
            counts["prompt_too_long"] += 1
            keep.append(False)
            continue
        answers = [parse_judgement(c.text) for c in comps]
        counts["unparseable_answers"] += sum(a is None for a in answers)
        keep.append(answers.count("yes") > answers.count("no"))
    return keep, counts
