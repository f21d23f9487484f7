"""CanItEdit: instructional code editing, each problem with a descriptive and a lazy instruction.

Rows: ``full_name`` (e.g. ``1_cipher``; the key of its result files), ``before``, ``after``,
``tests``, ``instruction_descriptive``, ``instruction_lazy``, ``taxonomy.change_kind``. Following
nuprl/CanItEdit benchmark/generate_completions.py: one problem per row and instruction kind,
``<full_name>/<kind>`` (its ``{full_name}_{instr_kind}`` result file, 310); the base model's
prompt is ``direct_edit_prompt`` (67-86, no code fences) with ``DirectEditModel``'s stops (185-218),
post-processed by ``maybe_extract_markdown_codeblock`` (131-172); an SFT model gets
``chat_edit_prompt_zeroshot`` (89-110: its system sentence, then the user message, in our SFT
template) and the code of its first fenced block (``python_markdown_codeblock_extract``, 113-127).
Scoring follows the MultiPL-E evaluator of the benchmark's image: the edited program, a newline,
then the tests, written to a file and run as ``python3 file`` (``__main__``; 15 s; a pass is exit
status 0 with the nonce printed after the last test). The programs import numpy / pandas / torch
/ z3 / sklearn / scipy / flask / autograd, so the sandbox mounts the ``canitedit`` library
environment. Reported: pass@1 over all problems, per instruction kind and per change kind
(corrective / adaptive / perfective; separate_results_on_change_kind.sh), and per both. The
ExcessCode metric (line coverage of the tests) is not computed.
"""
from __future__ import annotations

from ..sandbox import proof
from .base import Benchmark, Problem, Unit, pass_at_1_by, read_rows

OFFICIAL = "CanItEdit (benchmark/generate_completions.py; MultiPL-E eval_python.py: program + tests, 15 s)"
TIMEOUT_S = 15.0
KINDS = ("descriptive", "lazy")
# generate_completions.py::DirectEditModel stop tokens
STOP = ["## Code After:", "## Instruction:", "## Code Before:", "## Test Case:", "## Explanation:",
        "\n# Code Before", "\n# Code After", "\n# Instruction"]


def direct_edit_prompt(before: str, instruction: str) -> str:
    return f"## Code Before:\n{before}\n## Instruction:\n{instruction}\n## Code After:\n"


def extract_code(text: str) -> str:
    """generate_completions.py::maybe_extract_markdown_codeblock: the first fenced block (without
    its language tag, cut at "# Example usage:"), else the text as it is."""
    start = text.find("```")
    if start == -1:
        return text
    end = text.find("```", start + 3)
    if end == -1:
        return text
    code = text[start + 3:end].strip()
    code = code.split("# Example usage:")[0]
    nl = code.find("\n")
    if nl > 0:
        code = code[nl + 1:]
    return code.strip()


def first_block(text: str) -> str:
    """generate_completions.py:113-127 ``python_markdown_codeblock_extract``: the lines between the
    first line that starts with a fence and the next."""
    out, inside = [], False
    for line in text.split("\n"):
        if line.startswith("```"):
            if inside:
                break
            inside = True
        elif inside:
            out.append(line + "\n")
    return "".join(out)


def chat_instruction(before: str, instruction: str) -> str:
    """generate_completions.py:89-110 ``chat_edit_prompt_zeroshot``: the system sentence, then the
    user message (our SFT template has one instruction, so both go in it)."""
    return (f"{CHAT_SYSTEM}\n\n## Code Before\n```py\n{before}\n```\n\n## Instruction\n{instruction}\n\n"
            f"## Code After").strip()


CHAT_SYSTEM = ("You are PythonEditGPT. You will be provided the original code snippet and an instruction that "
               "specifies the changes you need to make. You will produce the changed code, based on the original "
               "code and the instruction given. Only produce the code, do not include any additional prose.")


def load(cfg: dict) -> Benchmark:
    from .envs import site_for

    rows, info = read_rows(cfg["evaluate"]["data"]["canitedit"], "canitedit")
    site, env_info = site_for("canitedit", cfg)
    timeout = TIMEOUT_S * cfg["evaluate"]["timeout_scale"]
    probs = []
    for r in rows:
        before = r["before"]
        change = ((r.get("taxonomy") or {}).get("change_kind") or "unknown")
        change = {"evolve": "adaptive", "revise": "perfective"}.get(change, change)   # the script's old names
        for kind in KINDS:
            text = r[f"instruction_{kind}"]

            def units(solution: str, tests=r["tests"]) -> list[Unit]:
                n = proof.new_nonce()
                # MultiPL-E: prompt ("") + completion + "\n" + tests, run as a file
                return [Unit("base", proof.file_program(solution + "\n" + tests, n), timeout, n)]

            name = r.get("full_name") or f"{r.get('id')}_{r.get('name')}"
            probs.append(Problem(
                task_id=f"{name}/{kind}", prompt=direct_edit_prompt(before, text),
                instruction=chat_instruction(before, text), units=units, to_solution=extract_code,
                extract=lambda response: first_block("```python\n" + response),
                meta={"group": kind, "change_kind": change, "canonical_solution": r["after"], "before": r["before"]}))
    info.update(problems=len(probs), environment=env_info)
    return Benchmark("canitedit", probs, info, OFFICIAL, metrics={"base": ["base"]}, completion_stop=STOP,
                     libraries=site, summarize=summarize, limits=f"{TIMEOUT_S:g} s per sample")


def summarize(per: list[dict], problems: list[Problem]) -> dict:
    """pass@1 per instruction kind, per change kind, and per (change kind, instruction kind): the
    paper's CanItEdit columns."""
    by_change = [{**row, "group": p.meta["change_kind"]} for row, p in zip(per, problems)]
    both = [{**row, "group": f"{p.meta['change_kind']}/{p.meta['group']}"} for row, p in zip(per, problems)]
    return {"by_instruction": pass_at_1_by(per, "base"), "by_change_kind": pass_at_1_by(by_change, "base"),
            "by_change_and_instruction": pass_at_1_by(both, "base")}
