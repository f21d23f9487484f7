"""DS-1000 (``ds1000.jsonl(.gz)`` of the 2024 release): data-science problems on 7 libraries.

Rows: ``prompt`` (ends where the solution goes), ``reference_code``, ``code_context`` (defines
``test_execution(solution)`` and sometimes ``test_string(solution)``), ``metadata`` (``library``,
``problem_id``, ``perturbation_type``). Scoring is the release's own (xlang-ai/DS-1000
test_ds1000.py): the context, ``code = <the solution as a string>``, ``test_execution(code)``
(+ ``test_string(code)``), one program per sample, 120 s. Prompts: a base model continues the
release's prompt (stops ``</code>``, ``# SOLUTION END``); an SFT model gets SelfCodeAlign's
Completion-mode prompt (evaluation/ds_1000.py:137-202 ``preprocess_completion_prompt``): the
problem as the instruction, the response opened with the problem's code context and
``# Solution``, stop at the fence, the response cut at its first fence (``postprocess``, 47-48).
Every program is then post-processed the release's way (up to ``</code>`` / ``END SOLUTION``).
The 14 Matplotlib problems that call ``sns.load_dataset`` read the seaborn CSVs from
``evaluate.data.ds1000_seaborn`` (mounted at /data, ``SEABORN_DATA``); without them they fail,
as they do offline upstream. TensorFlow and PyTorch problems run under the sandbox's usual
address-space limit (``sandbox.memory_mb``, 4 GiB).

The programs import the libraries, so the sandbox mounts the ``ds1000`` library environment
(``python -m selfalign evaluate env build ds1000``). A problem whose library is not in it is
scored as **failed**, and the result counts those problems per library (``missing_library``):
the headline number is over all problems, never over a silent subset.
"""
from __future__ import annotations

import json
import logging

from ..sandbox import proof
from .base import Benchmark, DataMissing, Problem, Unit, pass_at_1_by, read_rows

log = logging.getLogger(__name__)
OFFICIAL = "DS-1000 2024 release (test_ds1000.py: code_context + test_execution/test_string), 120 s"
TIMEOUT_S = 120.0
MODULES = {"Numpy": "numpy", "Pandas": "pandas", "Scipy": "scipy", "Sklearn": "sklearn",
           "Matplotlib": "matplotlib", "Tensorflow": "tensorflow", "Pytorch": "torch"}


def checks(context: str) -> str:
    return "test_execution(code)\n" + ("test_string(code)\n" if "test_string(" in context else "")


def postprocess(code: str) -> str:
    """What the harnesses strip from a generated solution: a closing fence (SelfCodeAlign), the
    prompt's ``</code>`` / ``END SOLUTION`` markers (the release)."""
    code = code.split("</code>")[0].replace("```python", "").split("```")[0]
    return code.split("\nEND SOLUTION")[0].replace("<code>", "")


def completion_prompt(prompt: str) -> tuple[str, str]:
    """(instruction, response prefix) of a release prompt, as SelfCodeAlign's
    evaluation/ds_1000.py:137-202 ``preprocess_completion_prompt`` builds them (our code, same
    cases): Matplotlib prompts end in ``# SOLUTION START``; function prompts in ``### BEGIN
    SOLUTION``; the others in ``BEGIN SOLUTION`` + ``<code>``. ``<code>`` tags become fences."""
    def bad(why: str) -> ValueError:
        return ValueError(f"DS-1000 prompt not in a known Completion-mode format ({why}): {prompt[-120:]!r}")

    if "SOLUTION START" in prompt:
        if "<code>" in prompt or "</code>" in prompt or not prompt.strip().endswith("# SOLUTION START"):
            raise bad("# SOLUTION START")
        code = prompt[: prompt.rindex("# SOLUTION START")].strip()
        instruction = f"Write a solution to the following problem:\n```python\n{code}\n```"
        response = f"```python\n{code}\n# Solution\n"
    else:
        if "A:" not in prompt:
            raise bad("no 'A:'")
        at = prompt.rindex("A:")
        answer, instruction = prompt[at + 2:].strip(), prompt[:at].strip()
        if instruction.startswith("Problem:"):
            instruction = instruction[len("Problem:"):].strip()
        lines = answer.splitlines(keepends=True)
        if "### BEGIN SOLUTION" in prompt:
            if len(lines) < 3 or not lines[-3].strip().startswith("# return") or lines[-1].strip() != "### BEGIN SOLUTION":
                raise bad("### BEGIN SOLUTION")
            hint = lines[-1].replace("###", "#").replace("BEGIN SOLUTION", "Solution")   # keeps its indentation
            response = "".join(lines[:-3]).strip() + f"\n{hint}\n"
        else:
            if len(lines) < 4 or lines[-2].strip() != "BEGIN SOLUTION" or lines[-1].strip() != "<code>":
                raise bad("BEGIN SOLUTION")
            if lines[-4].strip() == "</code>":
                head, start = lines[:-4], lines[-3:-2]
            elif len(lines) >= 6 and lines[-6].strip() == "</code>":
                head, start = lines[:-6], lines[-5:-2]
            elif lines[-3].strip() == "</code>":
                head, start = lines[:-3], []
            else:
                raise bad("</code>")
            response = "".join([*head, *(f"# {x.lstrip()}" for x in start)]).strip() + "\n# Solution\n"
    fence = lambda t: t.replace("<code>", "```python").replace("</code>", "```")  # noqa: E731
    return fence(instruction), fence(response)


def response_code(text: str) -> str:
    """evaluation/ds_1000.py:47-48 ``postprocess``: the response up to its first fence."""
    return text.split("```")[0]


SEABORN_PRELUDE = "import os as _os\n_os.environ.setdefault('SEABORN_DATA', '/data')\n"


def seaborn_files(cfg: dict) -> dict[str, bytes]:
    """The seaborn-data CSVs (evaluate.data.ds1000_seaborn) that sns.load_dataset reads offline."""
    from pathlib import Path
    d = cfg["evaluate"]["data"].get("ds1000_seaborn")
    if not d:
        return {}
    if not Path(d).is_dir():
        raise DataMissing(f"skipped: ds1000 seaborn data not found at {d} (evaluate.data.ds1000_seaborn)")
    return {f.name: f.read_bytes() for f in sorted(Path(d).glob("*.csv"))}


def load(cfg: dict) -> Benchmark:
    from .envs import available_modules, site_for

    rows, info = read_rows(cfg["evaluate"]["data"]["ds1000"], "ds1000")
    site, env_info = site_for("ds1000", cfg)
    have = available_modules(site)
    timeout = TIMEOUT_S * cfg["evaluate"]["timeout_scale"]
    probs, missing, odd = [], {}, []
    for k, r in enumerate(rows):
        meta = r.get("metadata") or {}
        meta = json.loads(meta) if isinstance(meta, str) else meta
        lib = meta.get("library", "")
        mod = MODULES.get(lib, lib.lower())
        lacking = have is not None and mod not in have
        if lacking:
            missing[lib] = missing.get(lib, 0) + 1
        ctx = r["code_context"]

        def units(solution: str, ctx=ctx) -> list[Unit]:
            n = proof.new_nonce()
            # the solution module is the release's context with the code as a string, as test_ds1000.py builds it
            return [Unit("base", proof.checked_program(f"{SEABORN_PRELUDE}{ctx}\ncode = {solution!r}\n", checks(ctx), n),
                         timeout, n)]

        try:
            instruction, prefix = completion_prompt(r["prompt"])
        except ValueError as e:        # not a release prompt: the problem as it is, counted in the result
            log.warning("ds1000 %s: %s", meta.get("problem_id", k), e)
            odd.append(str(meta.get("problem_id", k)))
            instruction, prefix = r["prompt"], "```python\n"
        probs.append(Problem(
            task_id=str(meta.get("problem_id", k)), prompt=r["prompt"], instruction=instruction, response_prefix=prefix,
            extract=response_code, units=units, to_solution=postprocess, program=postprocess,
            meta={"group": lib, "canonical_solution": r.get("reference_code", ""),
                  "perturbation": meta.get("perturbation_type", ""), "library_missing": lacking}))
    seaborn = seaborn_files(cfg)
    info.update(problems=len(probs), missing_library=missing, environment=env_info,
                release=cfg["evaluate"]["releases"]["ds1000"], seaborn_data=sorted(seaborn) or None,
                prompts_not_in_release_format=odd)
    return Benchmark("ds1000", probs, info, OFFICIAL, metrics={"base": ["base"]},
                     completion_stop=["</code>", "# SOLUTION END", "\n```"], instruct_stop=["```"], libraries=site,
                     files=(lambda: seaborn) if seaborn else None, summarize=summarize,
                     limits=f"{TIMEOUT_S:g} s per sample")


def summarize(per: list[dict], problems: list[Problem]) -> dict:
    missing = sum(p.meta["library_missing"] for p in problems)
    return {"by_library": pass_at_1_by(per, "base"), "failed_missing_library": missing}
