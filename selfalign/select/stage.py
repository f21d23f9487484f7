"""Selection of the SFT data (paper step 4): the official sanitize script (sanitize.sh →
sanitize_data.py, decontamination/find_substrings.py, minhash_dedup.py) plus our own few-shot-copy
and test-sanity filters for small models. Every step is counted in the select funnel.

Order (official): incomplete-code markers → passing only → seeded shuffle → one pass that skips
long instructions, repeated instructions/responses (whitespace-free exact match: this is also what
keeps one response per instruction) and repeated sets of defined names → code representation →
[assert augmentation] → decontamination → MinHash on instruction, response, code representation.
"""
from __future__ import annotations

import random
from collections import defaultdict

from ..prompts import FewShot, code_blocks
from ..records import Execution, Instruction, Response, SFTExample
from ..report.funnel import Funnel
from . import sanitize as S
from .quality import copy_reason, exercises_response_code


def _rng(seed: int, key: str) -> random.Random:
    return random.Random(f"{seed}:select:{key}")


def select_sft(cfg: dict, instructions: list[Instruction], responses: list[Response], executions: list[Execution],
               examples: list[FewShot], decontaminator=None) -> tuple[list[SFTExample], Funnel]:
    """``decontaminator``: anything with ``contaminated(text) -> bool`` (selfalign.decontam.build)."""
    from ..textsim import near_duplicates

    s = cfg["select"]
    seed = cfg["seed"]
    funnel = Funnel("select")
    by_id = {e.id: e for e in examples}
    ins_by_id = {i.id: i for i in instructions}
    verdict = {e.id: e.verdict for e in executions}

    cands = sorted((r for r in responses if r.ok and r.id in verdict and r.instruction_id in ins_by_id),
                   key=lambda r: r.id)
    funnel.step("executed", len(cands), 0, instructions=len({r.instruction_id for r in cands}),
                passing=sum(verdict[r.id] == "pass" for r in cands))

    def keep(name: str, pred, **extra):
        """Drop the candidates for which ``pred`` gives a reason (its first word is counted)."""
        nonlocal cands
        before = len(cands)
        reasons: dict[str, int] = defaultdict(int)
        kept = []
        for r in cands:
            why = pred(r)
            if why:
                reasons[why.split(" ")[0]] += 1
            else:
                kept.append(r)
        cands = kept
        funnel.step(name, len(cands), before - len(cands), passing=sum(verdict[r.id] == "pass" for r in cands),
                    reasons=dict(reasons) or None, **extra)

    if s["incomplete_markers"]:
        keep("incomplete_code", lambda r: S.incomplete_marker(r.response + "\n" + r.tests, s["incomplete_markers"]) or "")

    fc = s["fewshot_copy"]
    if fc["enabled"]:
        def copied(r: Response) -> str:
            ins = ins_by_id[r.instruction_id]
            return copy_reason(r.instruction, r.code, r.test_code,
                               [by_id[i] for i in ins.fewshot_ids if i in by_id],
                               [by_id[i] for i in r.fewshot_ids if i in by_id],
                               fc["code_threshold"], fc["text_threshold"])
        keep("fewshot_copy", copied)
    if s["test_sanity"]:
        keep("test_sanity", lambda r: "" if exercises_response_code(r.code, r.test_code) else "tests_do_not_call_code")

    mode = s["mode"]
    if mode == "pass":
        keep("passing", lambda r: "" if verdict[r.id] == "pass" else verdict[r.id])
    elif mode == "fail":
        keep("failing", lambda r: "" if verdict[r.id] != "pass" else "pass")

    # the official single pass over the shuffled candidates (sanitize_data.py:346-398)
    _rng(seed, "shuffle").shuffle(cands)
    max_words = s["max_instruction_words"]
    if max_words:
        keep("long_instruction", lambda r: "too_long" if S.instruction_words(r.instruction) > max_words else "")
    seen_keys: set[str] = set()
    names = S.NameSetDedup() if s["name_dedup"] else None
    out_of: dict[str, str] = {}
    for r in cands:
        key_i, key_r = S.whitespace_key(r.instruction), S.whitespace_key(r.response)
        if key_i in seen_keys:
            out_of[r.id] = "one_per_instruction"
        elif key_r in seen_keys:
            out_of[r.id] = "exact_dedup"
        elif names is not None and (why := names.check((code_blocks(r.response) or [""])[0])):
            out_of[r.id] = "name_set_dedup " + why
        else:
            seen_keys |= {key_i, key_r}
    keep("one_per_instruction", lambda r: "same_instruction" if out_of.get(r.id) == "one_per_instruction" else "",
         mode=mode)
    keep("exact_dedup", lambda r: "same_response" if out_of.get(r.id) == "exact_dedup" else "")
    if names is not None:
        keep("name_set_dedup", lambda r: out_of.get(r.id, "").removeprefix("name_set_dedup "))

    rep = {r.id: S.code_representation("\n".join(code_blocks(r.response))) for r in cands}
    keep("code_representation", lambda r: "syntax_error" if rep[r.id] is None else "")

    p_aug = s["augment_asserts_prob"]
    # sanitize_data.py:167: the tests' blocks joined by one newline (not the runnable test code)
    texts = {r.id: S.augment_with_asserts(r.instruction, "\n".join(code_blocks(r.tests)), _rng(seed, "aug:" + r.id), p_aug)
             if p_aug > 0 else r.instruction for r in cands}

    if s["decontaminate"] and decontaminator is not None:
        keep("decontaminate", lambda r: "benchmark" if decontaminator.contaminated(texts[r.id] + "\n\n" + r.response) else "")

    th, perms = s["dedup_threshold"], s["dedup_num_perm"]
    fields = {"instruction": lambda r: texts[r.id], "response": lambda r: r.response, "code": lambda r: rep[r.id]}
    for field, get in fields.items():
        # minhash_dedup.py:329-336: texts of under 5 pieces are dropped first; on the code
        # representation (--ignore_empty True) an empty one is kept and not compared
        empty_ok = field == "code"
        short = {r.id for r in cands if S.minhash_pieces(get(r)) < 5 and not (empty_ok and not get(r).strip())}
        indexed = [r for r in cands if r.id not in short and (get(r).strip() or not empty_ok)]
        dup = dict(zip((r.id for r in indexed),
                       near_duplicates([get(r) for r in indexed], th, perms, 5, seed=seed) if indexed else []))
        keep(f"minhash_{field}", lambda r: "under_5_pieces" if r.id in short else "near_duplicate" if dup.get(r.id) else "")

    out, n_aug = [], 0
    for r in sorted(cands, key=lambda r: r.instruction_id):
        ins = ins_by_id[r.instruction_id]
        aug = texts[r.id] != r.instruction
        n_aug += aug
        out.append(SFTExample(id=ins.id, instruction=texts[r.id], response=r.response, response_id=r.id,
                              seed_id=ins.seed_id, concepts=ins.concepts, category=ins.category,
                              difficulty=ins.difficulty, verdict=verdict[r.id], augmented=aug))
    funnel.step("sft", len(out), 0, augmented=n_aug)
    return out, funnel

