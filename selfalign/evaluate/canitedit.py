"""CanItEdit: instructional code editing, each problem with a descriptive and a lazy instruction.

Rows: ``name``/``id``, ``before``, ``after``, ``tests``, ``instruction_descriptive``,
``instruction_lazy``. Following nuprl/CanItEdit benchmark/generate_completions.py: the base
model's prompt is ``direct_edit_prompt`` (no code fences), with its stop strings; a completion is
post-processed by ``maybe_extract_markdown_codeblock``. Scoring follows the MultiPL-E evaluator the
benchmark's image runs (evaluation/src/eval_python.py, safe_subprocess.run): the edited program,
then the tests, 15 s, a pass is a clean exit. The programs import numpy / pandas / torch / z3 /
sklearn / scipy / flask / autograd, so the sandbox mounts the ``canitedit`` library environment.
Reported: pass@1 over both instruction kinds and for each (the paper's two columns). The
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


def load(cfg: dict) -> Benchmark:
    from .envs import site_for

    rows, info = read_rows(cfg["evaluate"]["data"]["canitedit"], "canitedit")
    site, env_info = site_for("canitedit", cfg)
    timeout = TIMEOUT_S * cfg["evaluate"]["timeout_scale"]
    probs = []
    for r in rows:
        before = r["before"]
        for kind in KINDS:
            text = r[f"instruction_{kind}"].strip()

            def units(solution: str, tests=r["tests"]) -> list[Unit]:
                n = proof.new_nonce()
                return [Unit("base", proof.checked_program(solution, tests, n), timeout, n)]

            probs.append(Problem(
                task_id=f"{r.get('name', r.get('id'))}/{kind}", prompt=direct_edit_prompt(before, text),
                instruction=(f"Edit the program below as the instruction says, and write the whole edited program."
                             f"\n\nInstruction: {text}\n\n```python\n{before.rstrip()}\n```"),
                units=units, to_solution=extract_code,
                meta={"group": kind, "canonical_solution": r["after"], "before": r["before"]}))
    info.update(problems=len(probs), environment=env_info)
    return Benchmark("canitedit", probs, info, OFFICIAL, metrics={"base": ["base"]}, completion_stop=STOP,
                     libraries=site, summarize=summarize, limits=f"{TIMEOUT_S:g} s per sample")


def summarize(per: list[dict], problems: list[Problem]) -> dict:
    return {"by_instruction": pass_at_1_by(per, "base")}
