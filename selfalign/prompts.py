"""Few-shot prompts of Self-OSS-Instruct, and parsers of what the base model writes back.

The base model is not a chat model: every step is a plain completion of a document made of
few-shot examples in a fixed layout, ending where the model's part begins. System lines,
separators and stop strings are defined here once.
"""
from __future__ import annotations

import random
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

CATEGORIES = {"function": "function implementation", "class": "class implementation", "program": "program implementation"}
DIFFICULTIES = ("easy", "medium", "hard")
LANGUAGE = "Python"

SYSTEM_SC = ("Extract the key programming concepts from each Python snippet. "
             "List them as a comma-separated line of short noun phrases.")
SYSTEM_CI = (
    "Create a series of independent coding tasks that are original, distinct, diverse and of high quality, "
    "fostering logical thinking. Each task must follow its properties:\n"
    "- category: the type of task (function, class or program implementation)\n"
    "- language: the programming language to be used\n"
    "- difficulty: the complexity level of the task (easy, medium or hard)\n"
    "- concepts: fundamental principles and techniques the task is designed to incorporate\n"
    "Design each task so that the concepts emerge naturally as the most appropriate solution, "
    "without saying which concept to use.")
SYSTEM_SI = (
    "Create an independent, original coding task inspired by each Python snippet, following its properties "
    "(category, language, difficulty). The task must be self-contained and must not mention the snippet.")
SYSTEM_IR = (
    "You are an extremely intelligent AI coding assistant. Provide an accurate and reliable response to each "
    "instruction: explain the idea briefly, then give the code in a Python code block. After the response, "
    "verify its correctness by writing executable tests: a Python code block of assert statements.")

H_SNIPPET, H_CONCEPTS, H_PROPS, H_TASK = "### Snippet", "### Concepts", "### Properties", "### Task"
H_INSTR, H_RESP, H_TESTS = "### Instruction", "### Response", "### Tests"

STOP_SC = ["\n"]
STOP_CI = ["\n### ", "\n##"]
STOP_IR = ["\n" + H_INSTR, "\n" + H_SNIPPET, "\n" + H_PROPS]

_FENCE = re.compile(r"```(?:python|py|Python)?[ \t]*\n(.*?)```", re.S)


@dataclass(frozen=True)
class FewShot:
    id: str
    category: str
    difficulty: str
    seed: str
    concepts: list[str]
    instruction: str
    response: str
    tests: str


def load_fewshot(path: str | Path | None = None) -> list[FewShot]:
    path = Path(path) if path else Path(__file__).parent / "data" / "fewshot.yaml"
    with open(path) as f:
        rows = yaml.safe_load(f)
    out = []
    for i, r in enumerate(rows):
        try:
            ex = FewShot(id=r["id"], category=r["category"], difficulty=r["difficulty"], seed=r["seed"].rstrip(),
                         concepts=list(r["concepts"]), instruction=r["instruction"].strip(),
                         response=r["response"].strip(), tests=r["tests"].strip())
        except (KeyError, AttributeError, TypeError) as e:
            raise ValueError(f"{path}: example {i + 1}: missing or bad field {e}") from None
        if ex.category not in CATEGORIES or ex.difficulty not in DIFFICULTIES:
            raise ValueError(f"{path}: example {ex.id}: bad category/difficulty")
        out.append(ex)
    return out


def item_rng(run_seed: int, stage: str, index: int) -> random.Random:
    """Per-item RNG: the run seed and the item's index decide every draw, so re-runs and shards agree."""
    return random.Random(f"{run_seed}:{stage}:{index}")


def pick_shots(rng: random.Random, examples: list[FewShot], k: int) -> list[FewShot]:
    return rng.sample(examples, min(k, len(examples)))


def draw_properties(rng: random.Random, category_weights: dict, difficulty_weights: dict) -> tuple[str, str]:
    cats = [c for c in CATEGORIES if category_weights.get(c, 0) > 0]
    diffs = [d for d in DIFFICULTIES if difficulty_weights.get(d, 0) > 0]
    if not cats or not diffs:
        raise ValueError("category_weights and difficulty_weights need at least one positive weight each")
    cat = rng.choices(cats, weights=[category_weights[c] for c in cats])[0]
    diff = rng.choices(diffs, weights=[difficulty_weights[d] for d in diffs])[0]
    return cat, diff


def _code_block(code: str) -> str:
    return f"```python\n{code.rstrip()}\n```"


def _props(category: str, difficulty: str, concepts: list[str] | None) -> str:
    lines = [f"- category: {CATEGORIES[category]}", f"- language: {LANGUAGE}", f"- difficulty: {difficulty}"]
    if concepts is not None:
        lines.append(f"- concepts: {', '.join(concepts)}")
    return "\n".join(lines)


# ------------------------------------------------------------------------------------- prompts
def prompt_sc(seed_code: str, shots: list[FewShot]) -> str:
    parts = [SYSTEM_SC, ""]
    for ex in shots:
        parts += [H_SNIPPET, _code_block(ex.seed), H_CONCEPTS, ", ".join(ex.concepts), ""]
    parts += [H_SNIPPET, _code_block(seed_code), H_CONCEPTS, ""]
    return "\n".join(parts)


def prompt_ci(concepts: list[str], category: str, difficulty: str, shots: list[FewShot]) -> str:
    parts = [SYSTEM_CI, ""]
    for ex in shots:
        parts += [H_PROPS, _props(ex.category, ex.difficulty, ex.concepts), "", H_TASK, ex.instruction, ""]
    parts += [H_PROPS, _props(category, difficulty, concepts), "", H_TASK, ""]
    return "\n".join(parts)


def prompt_si(seed_code: str, category: str, difficulty: str, shots: list[FewShot]) -> str:
    parts = [SYSTEM_SI, ""]
    for ex in shots:
        parts += [H_SNIPPET, _code_block(ex.seed), H_PROPS, _props(ex.category, ex.difficulty, None), "",
                  H_TASK, ex.instruction, ""]
    parts += [H_SNIPPET, _code_block(seed_code), H_PROPS, _props(category, difficulty, None), "", H_TASK, ""]
    return "\n".join(parts)


def prompt_ir(instruction: str, shots: list[FewShot]) -> str:
    parts = [SYSTEM_IR, ""]
    for ex in shots:
        parts += [H_INSTR, ex.instruction, "", H_RESP, ex.response, "", H_TESTS, ex.tests, ""]
    parts += [H_INSTR, instruction.strip(), "", H_RESP, ""]
    return "\n".join(parts)


# -------------------------------------------------------------------------------------- parsers
class ParseError(ValueError):
    """The model's output does not have the expected shape (counted and dropped, never fatal)."""


def parse_concepts(text: str, max_concepts: int = 10) -> list[str]:
    line = text.strip().splitlines()[0] if text.strip() else ""
    items = [c.strip(" .;-*\t") for c in line.split(",")]
    items = [c for c in items if c and len(c) <= 80]
    seen, out = set(), []
    for c in items:
        if c.lower() not in seen:
            seen.add(c.lower())
            out.append(c)
    if not out:
        raise ParseError("no concepts")
    return out[:max_concepts]


def parse_instruction(text: str, min_chars: int = 20, max_chars: int = 4000) -> str:
    instr = text.strip()
    for marker in ("\n###", "\n##"):
        instr = instr.split(marker, 1)[0].strip()
    if len(instr) < min_chars:
        raise ParseError("instruction too short")
    if len(instr) > max_chars:
        raise ParseError("instruction too long")
    return instr


def code_blocks(text: str) -> list[str]:
    return [b.strip("\n") for b in _FENCE.findall(text)]


_TESTS_HEADER = re.compile(r"^#{2,4}\s*Tests?\b.*$", re.M | re.I)


def parse_response(text: str) -> tuple[str, str, str, str]:
    """(response text, tests text, solution code, test code) from an I->R completion.
    The tests header is matched loosely ("### Test", "## Tests:"): small models vary it."""
    m = _TESTS_HEADER.search(text)
    if not m:
        raise ParseError("no tests section")
    response, tests = text[:m.start()], text[m.end():]
    response, tests = response.strip(), tests.strip()
    for stop in STOP_IR:
        tests = tests.split(stop.strip(), 1)[0].strip()
    code = code_blocks(response)
    if not code:
        raise ParseError("response has no code block")
    test_code = code_blocks(tests)
    if not test_code:
        raise ParseError("tests have no code block")
    test_src = "\n\n".join(test_code)
    if not re.search(r"\bassert\b", test_src):
        raise ParseError("tests have no assert")
    return response, tests, "\n\n".join(code), test_src


def program(code: str, test_code: str) -> str:
    """The program the sandbox runs: the solution, then its tests."""
    return f"{code.rstrip()}\n\n\n{test_code.rstrip()}\n"


# ------------------------------------------------------------------------ SFT / evaluation template
SFT_SYSTEM = ("Below is an instruction for a programming task. Write a response that solves it correctly, "
              "with the code in a Python code block.")


def sft_prompt(instruction: str) -> str:
    """The "### Instruction … ### Response" template used for training and for instruct-style eval."""
    return f"{SFT_SYSTEM}\n\n{H_INSTR}\n{instruction.strip()}\n\n{H_RESP}\n"
