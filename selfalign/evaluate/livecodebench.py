"""LiveCodeBench (code generation, ``code_generation_lite`` format), scored in our sandbox with the
grader of the paper's time (selfalign/evaluate/lcb_grader.py: lcb_runner at 8eac093).

- Release: ``evaluate.releases.livecodebench`` (``release_v1`` by default, the release of the
  paper's time) chooses the files of a ``code_generation_lite`` directory as the hub's loading
  script does (release_vN: test.jsonl, test2.jsonl, ... testN.jsonl); the result records it.
- Windows: ``evaluate.livecodebench_windows``, compared as lcb_runner compares them
  (benchmarks/code_generation.py ``load_code_generation_dataset``; evaluation/compute_scores.py):
  start <= contest time <= end at 00:00, on the full contest datetime.
- Prompts: an SFT model gets lcb_runner's ``get_generic_question_template_answer``
  (prompts/code_generation.py at 8eac093: ``### Question:``, ``### Format:`` with the starter code or
  ``# YOUR CODE HERE``, ``### Answer: (use the provided format with backticks)``) in our SFT
  template, its code taken between the first two fence lines (utils/extraction_utils.py
  ``extract_code``); a base model gets the ``GenericBase`` one-shot prompt (``### Question`` /
  ``### Starter Code`` / ``### Answer``, stop ``###``, the output stripped) with one example of
  our own per kind (lcb_runner ships its own in prompts/few_shot_examples/generation/).
- The program is the model's code as it is: a whole class for starter-code problems.

Data: rows are read one line at a time and kept only inside one of the windows (a release file is
hundreds of MB: the whole of it is never in memory).
"""
from __future__ import annotations

import base64
import json
import pickle
import zlib
from datetime import datetime

from ..sandbox import proof
from .base import Benchmark, DataMissing, Problem, Unit, data_files, pass_at_1_by
from .lcb_grader import CHECKS, IMPORT_STRING, SOLUTION

OFFICIAL = ("LiveCodeBench lcb_runner at 8eac093 (2024-04; evaluation/testing_util.py::run_test), "
            "6 s per test + global bound")
TEST_TIMEOUT_S = 6
FORMAT_STARTER = ("You will use the following starter code to write the solution to the problem and enclose your "
                  "code within delimiters.")
FORMAT_STDIN = ("Read the inputs from stdin solve the problem and write the answer to stdout (do not directly test "
                "on the sample inputs). Enclose your code within delimiters as follows.")
# GenericBase's one shot, ours: (question, starter code, answer) for a LeetCode-style and a stdin problem
SHOT_FUNC = ("Given an array of integers nums, return the largest difference nums[j] - nums[i] with i < j, or -1 "
             "if no such pair has nums[i] < nums[j].\n\nExample 1:\nInput: nums = [7,1,5,4]\nOutput: 4\n\n"
             "Constraints:\n2 <= nums.length <= 1000\n1 <= nums[i] <= 10^9",
             "class Solution:\n    def maximumDifference(self, nums: List[int]) -> int:\n        ",
             "class Solution:\n    def maximumDifference(self, nums: List[int]) -> int:\n        best, low = -1, nums[0]\n"
             "        for x in nums[1:]:\n            if x > low:\n                best = max(best, x - low)\n"
             "            low = min(low, x)\n        return best")
SHOT_STDIN = ("You are given N integers. Print how many of them are even.\n\nInput\n\nN\nA_1 A_2 ... A_N\n\n"
              "Output\n\nPrint the answer.\n\nSample Input 1\n\n3\n1 2 4\n\nSample Output 1\n\n2",
              "", "n = int(input())\nprint(sum(int(x) % 2 == 0 for x in input().split()))")


def generic_instruction(row: dict) -> str:
    """prompts/code_generation.py (8eac093) ``get_generic_question_template_answer``."""
    prompt = f"### Question:\n{row['question_content']}\n\n"
    if row.get("starter_code"):
        prompt += f"### Format: {FORMAT_STARTER}\n```python\n{row['starter_code']}\n```\n\n"
    else:
        prompt += f"### Format: {FORMAT_STDIN}\n```python\n# YOUR CODE HERE\n```\n\n"
    return prompt + "### Answer: (use the provided format with backticks)\n\n"


def base_prompt(row: dict) -> str:
    """prompts/code_generation.py (8eac093) ``get_base_model_question_template_answer``: one solved
    example of the problem's kind, then the problem."""
    starter = bool(row.get("starter_code"))

    def block(question: str, code: str, answer: str) -> str:
        text = f"### Question\n{question}\n\n"
        if starter:
            text += f"### Starter Code\n{code}\n\n"
        return text + "### Answer\n\n" + (f"{answer}\n\n" if answer else "")
    return block(*(SHOT_FUNC if starter else SHOT_STDIN)) + block(row["question_content"], row.get("starter_code") or "", "")


def extract_code(text: str) -> str:
    """utils/extraction_utils.py ``extract_code`` (chat styles): the lines between the first two
    lines holding a fence. Our SFT responses stop at the closing fence (``instruct_stop``), so with
    one fence line the code runs to the end."""
    lines = text.split("\n")
    fences = [i for i, line in enumerate(lines) if "```" in line]
    if not fences:
        return ""
    return "\n".join(lines[fences[0] + 1: fences[1] if len(fences) > 1 else len(lines)])


def decode_tests(field) -> list[dict]:
    """Test cases as released: a JSON list, or base64(zlib(pickle(JSON string)))."""
    if not field:
        return []
    if isinstance(field, list):
        return field
    try:
        return json.loads(field)
    except ValueError:
        raw = pickle.loads(zlib.decompress(base64.b64decode(field.encode("utf-8"))))  # the release's own encoding
        return json.loads(raw) if isinstance(raw, (str, bytes)) else raw


def contest_time(value) -> datetime:
    """A row's contest date as lcb_runner parses it (``datetime.fromisoformat``); a bare date is 00:00."""
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def in_window(when: datetime | str, w: dict) -> bool:
    """lcb_runner: start <= contest time (start at 00:00) and contest time <= end at 00:00."""
    when = contest_time(when)
    start, end = w.get("start"), w.get("end")
    return not ((start and when < datetime.strptime(start, "%Y-%m-%d"))
                or (end and when > datetime.strptime(end, "%Y-%m-%d")))


def release_files(tag: str) -> list[str] | None:
    """The files of a code_generation_lite release (its hub loading script's version tags):
    release_vN -> test.jsonl, test2.jsonl, ..., testN.jsonl; vN -> that one file; vA_vB -> A..B;
    release_latest -> every test*.jsonl there (None)."""
    name = lambda k: "test.jsonl" if k == 1 else f"test{k}.jsonl"  # noqa: E731
    if tag == "release_latest":
        return None
    if tag.startswith("release_v"):
        return [name(k) for k in range(1, int(tag[len("release_v"):]) + 1)]
    a, _, b = tag.partition("_")
    return [name(k) for k in range(int(a[1:]), int((b or a)[1:]) + 1)]


def window_rows(spec: str, windows: list[dict], tag: str) -> tuple[list[dict], dict, int]:
    """Rows of the release ``tag`` inside any window, read line by line from local JSONL (a row
    outside every window is dropped as soon as it is parsed); (rows, info, rows seen)."""
    keep = lambda r: any(in_window(r.get("contest_date", ""), w) for w in windows)  # noqa: E731
    from ..benchdata import open_text
    files, info = data_files(spec, "livecodebench")
    if files is None:
        rows = hub_release(spec, tag)
        return [r for r in rows if keep(r)], info, len(rows)
    from pathlib import Path
    wanted = release_files(tag)
    if Path(spec).is_dir():
        have = {f.name.removesuffix(".gz"): f for f in files}
        if wanted is None:
            files = [have[k] for k in sorted(have) if k.startswith("test") and k.endswith(".jsonl")]
        else:
            lacking = [w for w in wanted if w not in have]
            if lacking:
                raise DataMissing(f"skipped: livecodebench {tag} needs {', '.join(lacking)} in {spec}")
            files = [have[w] for w in wanted]
        info["release_files"] = [f.name for f in files]
    else:
        info["release_files"] = "as given (a single file: the release tag is recorded, not checked)"
    kept, seen = [], 0
    for f in files:
        if f.suffix == ".parquet" or f.name.endswith((".json", ".json.gz")):
            from ..benchdata import read_jsonl_any
            rows = read_jsonl_any(f)
            seen += len(rows)
            kept += [r for r in rows if keep(r)]
            continue
        with open_text(f) as fh:
            for ln, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                seen += 1
                try:
                    row = json.loads(line)
                except ValueError as e:   # a corrupt release is an error, never a silent skip
                    from ..records import RecordError
                    raise RecordError(f"{f}:{ln}: corrupt JSON line ({e})") from None
                if keep(row):
                    kept.append(row)
    return kept, info, seen


def hub_release(spec: str, tag: str) -> list[dict]:
    """The hub's rows of one release (``version_tag``, as lcb_runner loads them)."""
    ds_id, _, split = spec[3:].partition(":")
    try:
        import datasets
        return datasets.load_dataset(ds_id, split=split or "test", version_tag=tag, trust_remote_code=True).to_list()
    except Exception as e:  # offline, unknown id, ...: the benchmark is skipped, not the run
        raise DataMissing(f"skipped: livecodebench data not found at {spec} ({type(e).__name__}: {e})") from None


def window_label(window: dict) -> str:
    """The paper's row label for a window: "start 2023-09-01" (", end …" when bounded)."""
    start, end = window.get("start"), window.get("end")
    return f"start {start}" + (f", end {end}" if end else "") if start else ("end " + end if end else "all dates")


def load(cfg: dict) -> Benchmark:
    windows = cfg["evaluate"]["livecodebench_windows"]
    tag = cfg["evaluate"]["releases"]["livecodebench"]
    rows, info, seen = window_rows(cfg["evaluate"]["data"]["livecodebench"], windows, tag)
    scale = cfg["evaluate"]["timeout_scale"]
    timeout = max(1, round(TEST_TIMEOUT_S * scale))
    probs = []
    for r in rows:
        meta = r.get("metadata") or {}
        meta = json.loads(meta) if isinstance(meta, str) else meta
        tests = decode_tests(r.get("public_test_cases")) + decode_tests(r.get("private_test_cases"))
        func = meta.get("func_name") or ""

        def units(solution: str, tests=tests, func=func) -> list[Unit]:
            n = proof.new_nonce()
            checks = CHECKS.format(tests=json.dumps(tests), func=func, timeout=timeout, imports=IMPORT_STRING)
            # compute_code_generation_metrics.py::check_correctness: global bound (timeout + 1) x tests + 5
            return [Unit("base", proof.checked_program(SOLUTION.format(code=solution), checks, n),
                         (timeout + 1) * max(1, len(tests)) + 5, n)]

        probs.append(Problem(task_id=str(r.get("question_id", len(probs))), prompt=base_prompt(r),
                             instruction=generic_instruction(r), units=units, to_solution=lambda c: c.strip(),
                             extract=lambda text: extract_code("```python\n" + text),
                             meta={"group": str(r.get("difficulty", "unknown")), "date": str(r.get("contest_date", "")),
                                   "platform": r.get("platform", "")}))
    info.update(release=tag, windows=windows, problems=len(probs), rows=seen)
    # numpy: the paper-era grader compares floats with np.allclose (the harness's venv is mounted)
    return Benchmark("livecodebench", probs, info, OFFICIAL, metrics={"base": ["base"]},
                     completion_stop=["###"], libraries=True,
                     summarize=lambda per, probs: summarize(per, probs, windows),
                     limits=f"{TEST_TIMEOUT_S} s per test, (6 + 1) x tests + 5 s per sample")


def summarize(per: list[dict], problems: list[Problem], windows: list[dict] | None = None) -> dict:
    """pass@1 per difficulty, and per window with its standard error (the paper's LCB rows)."""
    from .metrics import pass_at_k
    by_window = {}
    for w in windows or []:
        rows = [r for r, p in zip(per, problems) if in_window(p.meta["date"], w)]
        n_max = max((r["n"] for r in rows), default=0)
        mean, se = pass_at_k([r["n"] or n_max for r in rows], [r["correct"]["base"] for r in rows], 1)
        by_window[window_label(w)] = {"problems": len(rows), "pass@1": mean, "pass@1_se": se}
    return {"by_difficulty": pass_at_1_by(per, "base"), "by_window": by_window}
