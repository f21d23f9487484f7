"""HumanEval+ and MBPP+ (evalplus format), scored with evalplus's own checker inside our sandbox.

Official semantics, from evalplus 0.3.1 itself rather than a rewrite:
- expected outputs and the reference's time per input come from ``evalplus.evaluate.get_groundtruth``
  (the canonical solutions run once on the host, as evalplus does; cached in evalplus's cache dir);
- a sample is one sandbox run that calls ``evalplus.eval.untrusted_check`` itself on the base
  inputs, then on the plus inputs, as ``check_correctness`` does: the solution exec'd in a
  forked child in a fresh namespace (not ``__main__``), evalplus's reliability guard, per-input
  time limits max(1 s, 4 x the reference's time), the task's ``atol`` with evalplus's float rule
  and type check, the special oracles (HumanEval/32 ``find_zero``, MBPP 164/295/558/581,
  set-equality and not-None tasks), and its verdict rule. Each suite that passes writes its own
  nonce (a proven part); the wall limit is the sum of ``untrusted_check``'s own waits
  (min(60 s, sum of the limits) + 2 s per suite) plus 2 s for the sandbox to import evalplus.
- inputs reach the sandbox pickled (sets, tuples and complex numbers stay what evalplus's loader
  made them: ``mbpp_deserialize_inputs``), as files in its read-only /data.

evalplus reads HUMANEVAL_OVERRIDE_PATH / MBPP_OVERRIDE_PATH once, when its data modules are
first imported, and otherwise downloads from GitHub: both variables are set from the config
before the first import, and a missing file is a skip raised before evalplus is imported.
"""
from __future__ import annotations

import fcntl
import hashlib
import os
import pickle
import re
from pathlib import Path

from ..sandbox import proof
from .base import Benchmark, DataMissing, Problem, Unit

OFFICIAL = ("evalplus 0.3.1 (evalplus/evaluate.py::check_correctness -> evalplus/eval/__init__.py::"
            "untrusted_check/unsafe_execute, run inside our sandbox)")
ENV = {"humaneval_plus": "HUMANEVAL_OVERRIDE_PATH", "mbpp_plus": "MBPP_OVERRIDE_PATH"}
DATASET = {"humaneval_plus": "humaneval", "mbpp_plus": "mbpp"}
# evalplus/config.py
MIN_TIME_LIMIT, GT_TIME_LIMIT_FACTOR, TASK_TIMEOUT_CAP = 1.0, 4.0, 60.0
IMPORT_ALLOWANCE_S = 2.0
# evaluation/text2code_vllm.py (official SelfCodeAlign evaluation): a base model's stop strings
BASE_STOP = ["\ndef ", "\nclass ", "\nimport ", "\nfrom ", "\nassert ", "\n# "]
INSTRUCT_STOP = ["\n```\n"]

# One sample: evalplus's own untrusted_check on the base inputs, then the plus inputs (as
# check_correctness does), each suite proven as a part; a fail says how far it got.
CHECK = r'''
import pickle as _pickle
_o.environ["EVALPLUS_MAX_MEMORY_BYTES"] = {memory!r}
with open({data!r}, "rb") as _f:
    _d = _pickle.load(_f)
from evalplus.eval import PASS as _PASS, untrusted_check as _check
_ok = True
for _suite in ("base", "plus"):
    _stat, _det = _check(_d["dataset"], {solution!r}, _d["inputs"][_suite], _d["entry_point"],
                         expected=_d["expected"][_suite], atol=_d["atol"], ref_time=_d["ref_time"][_suite],
                         fast_check=True, min_time_limit={min_time!r}, gt_time_limit_factor={factor!r})
    if _stat == _PASS:
        _prove_part(_suite)
    else:
        _s.stderr.write("evalplus %s: %s after %d of %d inputs\n" % (_suite, _stat, len(_det), len(_d["inputs"][_suite])))
        _ok = False
if not _ok:
    _s.exit(1)
'''


def set_overrides(cfg: dict) -> None:
    """Point evalplus at the configured files before anything imports its data modules."""
    for kind, var in ENV.items():
        path = cfg["evaluate"]["data"].get(kind)
        if path:
            os.environ[var] = str(path)


def data_path(kind: str, cfg: dict) -> Path:
    path = cfg["evaluate"]["data"].get(kind)   # the config only: a stale override variable never decides
    if not path or not Path(path).exists():
        name = "HumanEvalPlus" if kind == "humaneval_plus" else "MbppPlus"
        raise DataMissing(f"skipped: {kind} data not found at {path} (set evaluate.data.{kind} to a local {name}.jsonl)")
    return Path(path)


def rows(kind: str, cfg: dict) -> dict[str, dict]:
    """Tasks as evalplus's loader gives them (MBPP+ inputs deserialised), from the local file."""
    path = data_path(kind, cfg)
    set_overrides(cfg)
    from evalplus.data.utils import stream_jsonl
    tasks = {t["task_id"]: t for t in stream_jsonl(str(path))}
    if kind == "mbpp_plus":
        from evalplus.data.mbpp import mbpp_deserialize_inputs
        for tid, t in tasks.items():
            t["base_input"] = mbpp_deserialize_inputs(tid, t["base_input"])
            t["plus_input"] = mbpp_deserialize_inputs(tid, t["plus_input"])
    return tasks


def mbpp_parts(task: dict) -> tuple[str, str]:
    """(description, first assertion) of an MBPP+ prompt. The released prompt is a docstring
    holding both; the pre-release file has a ''' docstring without the assertion, which is in the
    ``assertion`` field."""
    text = task["prompt"].strip()
    m = re.fullmatch(r'("""|\'\'\')(.*)\1', text, re.S)
    inner = (m.group(2) if m else text).strip()
    desc, sep, asserts = inner.partition("assert ")
    assertion = (sep + asserts).strip() if sep else next(
        (line.strip() for line in task.get("assertion", "").splitlines() if line.strip().startswith("assert")), "")
    return desc.strip(), assertion


def ground_truth(kind: str, tasks: dict[str, dict], digest: str) -> dict:
    """evalplus's expected outputs and reference times (cached by evalplus under a key of ours)."""
    from evalplus.eval._special_oracle import MBPP_OUTPUT_NOT_NONE_TASKS
    from evalplus.data.utils import CACHE_DIR
    from evalplus.evaluate import get_groundtruth
    not_none = MBPP_OUTPUT_NOT_NONE_TASKS if kind == "mbpp_plus" else []
    key = f"selfalign-{kind}-{digest[:24]}"
    # evalplus writes its cache file in place: a second process (a concurrent scoring job) could
    # read it half-written. One computes it under the lock; the others then load it.
    os.makedirs(CACHE_DIR, exist_ok=True)
    with open(os.path.join(CACHE_DIR, key + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return get_groundtruth(tasks, key, not_none)


def time_limits(ref_time: list[float], scale: float = 1.0) -> list[float]:
    """evalplus/eval/__init__.py::untrusted_check: max(1 s, 4 x the reference's time) per input."""
    return [max(MIN_TIME_LIMIT * scale, GT_TIME_LIMIT_FACTOR * t) for t in ref_time]


def _load(kind: str, cfg: dict) -> Benchmark:
    from ..model import sha256_file

    tasks = rows(kind, cfg)
    path = data_path(kind, cfg)
    digest = sha256_file(path)
    scale = cfg["evaluate"]["timeout_scale"]
    memory = str(cfg["sandbox"]["memory_mb"] << 20)
    probs = []
    timeouts: dict[str, float] = {}   # task -> the run's wall limit, from the ground truth (files())
    for tid, t in tasks.items():
        data = f"/data/{hashlib.sha1(tid.encode()).hexdigest()}.pkl"

        def units(solution: str, tid=tid, data=data) -> list[Unit]:
            if tid not in timeouts:
                raise RuntimeError(f"{kind}: the benchmark's files() (ground truth) must be prepared before scoring")
            n, parts = proof.new_nonce(), {"base": proof.new_nonce(), "plus": proof.new_nonce()}
            src = proof.prologue(n, parts) + CHECK.format(memory=memory, data=data, solution=solution,
                                                          min_time=MIN_TIME_LIMIT * scale, factor=GT_TIME_LIMIT_FACTOR)
            return [Unit("base+plus", src + proof.epilogue(), timeouts[tid], n, parts=parts)]

        if kind == "humaneval_plus":
            instruction = ""   # the default: "Write a Python function to solve the following task" + prompt
            prompt, to_solution = t["prompt"], None
        else:
            desc, assertion = mbpp_parts(t)
            if not desc.endswith("."):
                desc += "."
            # evaluation/text2code_vllm.py::map_mbpp_problem
            instruction = f"{desc}\n\n```python\n{assertion}\n```"
            prompt = f"{desc}\n{assertion}\n"
            to_solution = lambda c, doc=t["prompt"].rstrip(): f"{doc}\n{c}"   # the released docstring, then the code
        probs.append(Problem(task_id=tid, prompt=prompt, units=units, instruction=instruction,
                             entry_point=t["entry_point"], to_solution=to_solution,
                             meta={"canonical_solution": t["prompt"] + t["canonical_solution"], "data": data}))

    def files() -> dict[str, bytes]:
        truth = ground_truth(kind, tasks, digest)
        out = {}
        for p in probs:
            t, gt = tasks[p.task_id], truth[p.task_id]
            ref_time = {s: [x * scale for x in gt[f"{s}_time"]] for s in ("base", "plus")}
            # each suite's untrusted_check waits min(60 s, sum of its limits) + 1, joined with 1 s more
            timeouts[p.task_id] = sum(min(TASK_TIMEOUT_CAP, sum(time_limits(v, scale))) + 2.5 for v in ref_time.values()) \
                + IMPORT_ALLOWANCE_S
            out[p.meta["data"].removeprefix("/data/")] = pickle.dumps({
                "dataset": DATASET[kind], "entry_point": t["entry_point"], "atol": t.get("atol", 0) or 0,
                "inputs": {"base": t["base_input"], "plus": t["plus_input"]},
                "expected": {"base": gt["base"], "plus": gt["plus"]}, "ref_time": ref_time})
        return out

    info = {"source": str(path), "sha256": digest, "problems": len(probs)}
    # the suites are the proven parts "base" and "plus" of each sample's one run
    return Benchmark(kind, probs, info, OFFICIAL, metrics={"base": ["base"], "plus": ["base", "plus"]},
                     completion_stop=BASE_STOP, instruct_stop=INSTRUCT_STOP, libraries=True, files=files,
                     limits=f"per input max({MIN_TIME_LIMIT:g} s, {GT_TIME_LIMIT_FACTOR:g} x reference); "
                            f"per suite min({TASK_TIMEOUT_CAP:g} s, sum) + 2 s")


def load_humaneval_plus(cfg: dict) -> Benchmark:
    return _load("humaneval_plus", cfg)


def load_mbpp_plus(cfg: dict) -> Benchmark:
    return _load("mbpp_plus", cfg)
