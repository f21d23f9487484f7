"""Few-shot prompts of Self-OSS-Instruct, and parsers of what the base model writes back.

The base model is not a chat model: every step is a plain completion of a document made of
few-shot examples in a fixed layout, ending where the model's part begins. System lines,
separators and stop strings are defined here once.
"""
from __future__ import annotations

import random
import re

from . import codeblocks as C
from .fewshot import CATEGORIES, DIFFICULTIES, FewShot, FewShotSet, load_fewshot  # noqa: F401 (re-exported)

LANGUAGE = "Python"

# System lines: our own wording of the four official ones (prompts/self-ossinstruct-fewshot.txt:1-19).
SYSTEM_SC = ("Extract the key programming concepts from each Python snippet: the principles and techniques a "
             "developer must master to write it. List them in a comma-separated format.")
SYSTEM_CI = (
    "Create a series of independent coding tasks that are original, distinct, diverse and of high quality, "
    "fostering logical thinking. Each task must follow its properties:\n\n"
    "- category: the type of task (function, class or program implementation)\n"
    "- language: the programming language to be used\n"
    "- difficulty: the complexity level of the task (easy, medium or hard)\n"
    "- concepts: fundamental principles and techniques the task is designed to incorporate\n\n"
    "Design each task so that the concepts emerge naturally as the most appropriate solution, "
    "without saying which concept to use.")
SYSTEM_SI = ("Take inspiration from each code snippet and create an independent coding task that is original, "
             "distinct, diverse and of high quality, fostering logical thinking.")
SYSTEM_IR = (
    "You are an extremely intelligent AI coding assistant. Provide an accurate and reliable response to each "
    "user instruction. After your response, verify its consistency and correctness by writing a series of "
    "executable tests.")

# The official layout (src/star_align/self_ossinstruct.py:185-241, 296-310): the system line, then
# "## Example N" blocks, each the mode's prefix followed by its answer; the prompt ends with the
# next example's prefix, right-stripped (self_ossinstruct.py:553).
EXAMPLE = "## Example"
H_SNIPPET, H_CONCEPTS, H_PROPS, H_TASK = "### Snippet", "### Concepts", "### Properties", "### Task"
H_INSTR, H_RESP = "### Instruction", "### Response"      # the SFT template (prompt_template.py)
T_INSTR, T_RESP, T_TESTS = "instruction", "response", "tests"   # I->R tags: <instruction>…</instruction>

# self_ossinstruct.py:564-566: every mode stops at the next example; I->R also at the end of its tests.
STOP_SC = [EXAMPLE]
STOP_CI = [EXAMPLE]
STOP_SI = [EXAMPLE]
STOP_IR = [EXAMPLE, f"</{T_TESTS}>"]

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


def properties(category: str, difficulty: str, concepts: list[str], language: str = LANGUAGE) -> str:
    """The C->I property block (self_ossinstruct.py:147-152): four "key: value" lines."""
    return "\n".join([f"category: {CATEGORIES[category]}", f"language: {language}", f"difficulty: {difficulty}",
                      f"concepts: {', '.join(concepts)}"])


def _tag(name: str, body: str) -> str:
    return f"<{name}>\n{body}\n</{name}>"


def _document(system: str, shots: list[str], prefix: str) -> str:
    """System line, numbered examples, and the open example the model completes."""
    blocks = [f"{EXAMPLE} {i + 1}\n{body}" for i, body in enumerate(shots)]
    blocks.append(f"{EXAMPLE} {len(shots) + 1}\n{prefix}")
    return f"{system}\n\n" + "\n\n".join(blocks).rstrip()


# ------------------------------------------------------------------------------------- prompts
# ``system``: the few-shot set's own system line (the official file carries its four); None: ours.
def prompt_sc(seed_code: str, shots: list[FewShot], system: str | None = None) -> str:
    pre = lambda code: f"{H_SNIPPET}\n{code}\n\n{H_CONCEPTS}\n"
    return _document(system or SYSTEM_SC, [pre(ex.seed) + ", ".join(ex.concepts) for ex in shots], pre(seed_code))


def prompt_ci(concepts: list[str], category: str, difficulty: str, shots: list[FewShot], system: str | None = None) -> str:
    pre = lambda props: f"{H_PROPS}\n{props}\n\n{H_TASK}\n"
    return _document(system or SYSTEM_CI, [pre(properties(ex.category, ex.difficulty, ex.concepts, ex.language))
                                           + ex.instruction for ex in shots],
                     pre(properties(category, difficulty, concepts)))


def prompt_si(seed_code: str, shots: list[FewShot], system: str | None = None) -> str:
    """S->I ablation: snippet -> task, no properties (self_ossinstruct.py:200-201, 231-233)."""
    pre = lambda code: f"{H_SNIPPET}\n{code}\n\n{H_TASK}\n"
    return _document(system or SYSTEM_SI, [pre(ex.seed) + ex.instruction for ex in shots], pre(seed_code))


def prompt_ir(instruction: str, shots: list[FewShot], system: str | None = None, llama3: bool = False) -> str:
    """<instruction>…</instruction> <response>…</response> <tests>…</tests> (self_ossinstruct.py:192-220);
    ``llama3``: the official Llama-3 variant (below)."""
    if llama3:
        return _prompt_ir_llama3(instruction, shots, system or SYSTEM_IR)
    pre = lambda text: f"{_tag(T_INSTR, text)}\n\n<{T_RESP}>\n"
    return _document(system or SYSTEM_IR, [pre(ex.instruction) + f"{ex.response}\n</{T_RESP}>\n\n{_tag(T_TESTS, ex.tests)}"
                                           for ex in shots], pre(instruction))


# The official Llama-3 I->R variant (the LLAMA3 switch, self_ossinstruct.py:28-31, 186-190, 215-217,
# 297, 302-303, 335-336): numbered "### Instruction N " / "### Response N" / "### Tests N" sections
# instead of tags, and one more sentence in the system line. The stops stay the same (:564-566).
LLAMA3_SYSTEM_SUFFIX = "\n\nFor each '## Example' below, make sure you provide a '### Response' and a '### Tests' section."


def _prompt_ir_llama3(instruction: str, shots: list[FewShot], system: str) -> str:
    pre = lambda k, text: f"{H_INSTR} {k} \n{text}\n\n{H_RESP} {k}\n"
    return _document(system + LLAMA3_SYSTEM_SUFFIX,
                     [pre(k, ex.instruction) + f"{ex.response}\n\n### Tests {k}\n{ex.tests}" for k, ex in enumerate(shots, 1)],
                     pre(len(shots) + 1, instruction))


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


def code_blocks(text: str, tag: str | None = None) -> list[str]:
    """Every closed code block, paired whatever its tag (the official parser, selfalign/codeblocks.py)."""
    return C.code_blocks(text, tag)


# sanitize_data.py:92: the response and its tests are split at exactly this text, once.
RESPONSE_TESTS = f"</{T_RESP}>\n\n<{T_TESTS}>"


# sanitize_data.py:93-122: Llama-3 often does not follow the format, so besides "### Tests <digit>\n"
# the tests may start at the first of these phrases (searched in this order)
LLAMA3_TEST_SPLIT = re.compile(r"### Tests \d\n")
LLAMA3_TEST_PHRASES = ("We can verify the functionality", "We can verify the correctness", "You can verify the correctness",
                       "You can verify the functionality", "To ensure the correctness", "To verify the correctness",
                       "To test the", "To test this", "You can test the", "We can test the", "We can test this",
                       "Now, we'll test")


def _split_llama3(text: str) -> tuple[str, str, int]:
    """(response, tests, offset where the tests start) as split_llama3_response_tests splits."""
    marks = list(LLAMA3_TEST_SPLIT.finditer(text))
    if len(marks) > 1:
        raise ParseError("several tests sections")
    if marks:
        return text[:marks[0].start()], text[marks[0].end():], marks[0].end()
    for phrase in LLAMA3_TEST_PHRASES:
        if (i := text.find(phrase)) != -1:
            return text[:i], text[i:], i
    raise ParseError("no tests section")


def parse_response(text: str, llama3: bool = False) -> tuple[str, str, str, str]:
    """(response text, tests text, solution code, test code) from an I->R completion.

    The format check of sanitize_data.py:125-162: exactly one ``</response>\n\n<tests>``, at least
    one ```` ```python ```` block on each side, "assert" somewhere in the tests, and tests that are
    not definitions only. The code is what execution_filter.py:134-152 runs: *every* block of the
    completion, whatever its tag, each made runnable (selfalign/codeblocks.py); the blocks that
    start before the tests section are the solution, the others the tests (the pairing is the whole
    completion's, as the official runs it in one piece). ``llama3``: the tests section is found as
    the official's Llama-3 path finds it (``_split_llama3``); the other checks are the same."""
    text = text.split(f"</{T_TESTS}>", 1)[0]   # a backend that overshot its stop string
    if llama3:
        response, tests, tests_at = _split_llama3(text)
    else:
        parts = text.split(RESPONSE_TESTS)
        if len(parts) == 1:
            raise ParseError("no tests section")
        if len(parts) > 2:
            raise ParseError("several tests sections")
        response, tests, tests_at = parts[0], parts[1], len(parts[0]) + len(RESPONSE_TESTS)
    response, tests = response.strip(), tests.strip()
    if not C.code_blocks(response, "python"):
        raise ParseError("response has no python block")
    test_py = C.code_blocks(tests, "python")
    if not test_py:
        raise ParseError("tests have no python block")
    if "assert" not in tests:
        raise ParseError("tests have no assert")
    statements = [ln for ln in "\n".join(test_py).splitlines() if ln[:1].isalpha()]
    if all(ln.startswith(("def", "class", "import", "from")) for ln in statements):
        raise ParseError("tests only define")
    blocks = C.find_blocks(text)
    code = C.runnable_code(text, [b for b in blocks if b.start < tests_at])
    test_code = C.runnable_code(text, [b for b in blocks if b.start >= tests_at])
    return response, tests, code, test_code


# ------------------------------------------------------------------------------------ loop guard
_DIGITS = re.compile(r"\d+")


def loop_cut(text: str, min_repeats: int, max_unit: int = 4) -> int | None:
    """Where a completion that ran into its token limit started repeating itself: the offset just
    after the first copy of a block of 1..``max_unit`` lines that then repeats at least
    ``min_repeats`` times in a row up to the end (whitespace aside). Failing an exact repeat,
    numbers count as equal: a small model also loops by counting ("f(13) == 13", "f(14) == 14",
    ...). None when its tail does not loop."""
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines = lines[:-1]                    # the cut-off last line cannot be compared
    for normalise in (lambda ln: ln.strip(), lambda ln: _DIGITS.sub("0", ln.strip())):
        start = _repeat_start([normalise(ln) for ln in lines], min_repeats, max_unit)
        if start is not None:
            return sum(len(ln) for ln in lines[:start])
    return None


def _repeat_start(keys: list[str], min_repeats: int, max_unit: int) -> int | None:
    """End index of the first copy of the earliest-starting block that repeats to the end."""
    best = None
    for unit in range(1, max_unit + 1):
        if len(keys) < unit * min_repeats:
            break
        tail = keys[len(keys) - unit:]
        if not any(tail):
            continue
        start, copies = len(keys) - unit, 1
        while start - unit >= 0 and keys[start - unit:start] == tail:
            start -= unit
            copies += 1
        if copies >= min_repeats and (best is None or start < best[0]):
            best = (start, unit)
    return None if best is None else best[0] + best[1]


def close_open_fence(text: str) -> str:
    """A text cut inside a code block, with that block closed (the loop guard's cut)."""
    return text.rstrip() + "\n```" if text.count("```") % 2 else text


# ------------------------------------------------------------------------ execution
def program(code: str, test_code: str) -> str:
    """The program the sandbox runs: the solution, then its tests."""
    return f"{code.rstrip()}\n\n\n{test_code.rstrip()}\n"


# ------------------------------------------------------------------------ SFT / evaluation template
SFT_SYSTEM = ("Below is an instruction for a programming task. Write a response that solves it correctly, "
              "with the code in a Python code block.")


def sft_prompt(instruction: str) -> str:
    """The "### Instruction … ### Response" template used for training and for instruct-style eval."""
    return f"{SFT_SYSTEM}\n\n{H_INSTR}\n{instruction.strip()}\n\n{H_RESP}\n"
