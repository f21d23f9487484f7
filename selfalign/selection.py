"""Selection of the SFT data: one response per instruction, filtered, deduplicated and
decontaminated (paper step 4, plus the few-shot-copy and test-sanity filters)."""
from __future__ import annotations

import random
import re
from collections import defaultdict

from .funnel import Funnel
from .prompts import FewShot, code_blocks
from .quality import copy_reason, exercises_response_code
from .records import Execution, Instruction, Response, SFTExample


def _rng(seed: int, key: str) -> random.Random:
    return random.Random(f"{seed}:select:{key}")


def augment_with_asserts(instruction: str, test_code: str, max_asserts: int = 3) -> str:
    asserts = [ln for ln in test_code.splitlines() if re.match(r"\s*assert\b", ln)][:max_asserts]
    if not asserts:
        return instruction
    block = "\n".join(a.strip() for a in asserts)
    return f"{instruction.rstrip()}\n\nYour code should pass the following assertions:\n```python\n{block}\n```"


def select_sft(cfg: dict, instructions: list[Instruction], responses: list[Response], executions: list[Execution],
               examples: list[FewShot], benchmark_texts: list[str] | None = None) -> tuple[list[SFTExample], Funnel]:
    from .textsim import Decontaminator, near_duplicates

    s = cfg["select"]
    seed = cfg["seed"]
    funnel = Funnel("select")
    by_id = {e.id: e for e in examples}
    ins_by_id = {i.id: i for i in instructions}
    verdict = {e.id: e.verdict for e in executions}

    cands = [r for r in responses if r.ok and r.id in verdict and r.instruction_id in ins_by_id]
    funnel.step("executed", len(cands), 0, instructions=len({r.instruction_id for r in cands}),
                passing=sum(verdict[r.id] == "pass" for r in cands))

    def keep(name: str, pred, **extra):
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

    groups: dict[str, list[Response]] = defaultdict(list)
    for r in cands:
        groups[r.instruction_id].append(r)
    chosen = [_rng(seed, iid).choice(sorted(rs, key=lambda r: r.id)) for iid, rs in sorted(groups.items())]
    funnel.step("one_per_instruction", len(chosen), len(cands) - len(chosen), mode=mode)

    def drop(name: str, flags: list[bool], **extra):
        nonlocal chosen
        before = len(chosen)
        chosen = [r for r, f in zip(chosen, flags) if not f]
        funnel.step(name, len(chosen), before - len(chosen), **extra)

    seen_i, seen_r, flags = set(), set(), []
    for r in chosen:
        key_i, key_r = r.instruction.strip(), r.response.strip()
        flags.append(key_i in seen_i or key_r in seen_r)
        seen_i.add(key_i)
        seen_r.add(key_r)
    drop("exact_dedup", flags)

    th, perms = s["dedup_threshold"], s["dedup_num_perm"]
    for field in ("instruction", "response", "code"):
        if chosen:
            drop(f"minhash_{field}", near_duplicates([getattr(r, field) for r in chosen], th, perms, 5, seed=seed))

    if s["decontaminate"] and benchmark_texts:
        dec = Decontaminator(benchmark_texts, n=cfg["seeds"]["decontamination"]["ngram"],
                             min_shared=cfg["seeds"]["decontamination"]["min_shared"])
        drop("decontaminate", [dec.contaminated(r.instruction + "\n" + r.response) for r in chosen])

    out = []
    n_aug = 0
    for r in chosen:
        ins = ins_by_id[r.instruction_id]
        text = r.instruction
        aug = s["augment_asserts_prob"] > 0 and _rng(seed, "aug:" + r.id).random() < s["augment_asserts_prob"]
        if aug:
            new = augment_with_asserts(text, r.test_code)
            aug = new != text
            text = new
        n_aug += aug
        out.append(SFTExample(id=ins.id, instruction=text, response=r.response, response_id=r.id, seed_id=ins.seed_id,
                              concepts=ins.concepts, category=ins.category, difficulty=ins.difficulty,
                              verdict=verdict[r.id], augmented=aug))
    funnel.step("sft", len(out), 0, augmented=n_aug)
    return out, funnel


def first_code(text: str) -> str:
    blocks = code_blocks(text)
    return blocks[0] if blocks else ""
