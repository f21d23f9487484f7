"""`python -m selfalign doctor --configfile C`: the first hour on a GPU node in one command, a
finding (name, ok, detail) per check, which selfalign/doctor.py ``run`` prints one a line: the
NVIDIA driver against what the vLLM wheel needs, vLLM's version, this node's GPUs against the plan,
read access to every hub repository the run downloads, every benchmark data file, free disk against
the plan, the SLURM executor plugin's version. A check that breaks is a failing finding.

vllm 0.33.0 is built on CUDA 13 (its METADATA requires nvidia-cutlass-dsl[cu13] and
humming-kernels[cu13]: tests/fixtures/gpu-metadata/vllm-0.33.0.txt); CUDA 13.0 needs an NVIDIA
driver >= 580.65.06 on Linux (CUDA 12.x: >= 525.60.13 with minor-version compatibility).
"""
from __future__ import annotations

import importlib.metadata as md
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import NamedTuple

from ..config import REPO_ROOT
from ..model import cache_dir, get_spec
from ..releases import FETCH_HINT, required_data
from .jobs import Cluster, run_disk, run_plan


class Finding(NamedTuple):
    name: str
    ok: bool
    detail: str


MIN_DRIVER = {13: "580.65.06", 12: "525.60.13"}
VLLM_FIXTURE = "tests/fixtures/gpu-metadata/vllm-0.33.0.txt"


def _version_tuple(v: str) -> tuple[int, ...]:
    return tuple(int(x) for x in v.split(".") if x.isdigit())


def _smi(query: str) -> list[list[str]]:
    """Rows of ``nvidia-smi --query-gpu=QUERY``; FileNotFoundError without a driver."""
    out = subprocess.run(["nvidia-smi", f"--query-gpu={query}", "--format=csv,noheader,nounits"],
                         capture_output=True, text=True, timeout=30)
    if out.returncode:
        raise RuntimeError(f"nvidia-smi failed: {(out.stderr or out.stdout).strip().splitlines()[:1]}")
    return [[c.strip() for c in ln.split(",")] for ln in out.stdout.splitlines() if ln.strip()]


def vllm_cuda_major() -> tuple[int, str]:
    """(CUDA major version the vLLM wheel is built on, where that was read): the installed vllm's
    requirements, else the pinned wheel's METADATA kept in the repo."""
    try:
        reqs, src = md.requires("vllm") or [], f"vllm {md.version('vllm')} (installed)"
    except md.PackageNotFoundError:
        text = (REPO_ROOT / VLLM_FIXTURE).read_text()
        reqs, src = [ln.split(":", 1)[1] for ln in text.splitlines() if ln.startswith("Requires-Dist:")], VLLM_FIXTURE
    return (13 if any("[cu13]" in r for r in reqs) else 12), src


def check_driver(cfg: dict) -> Finding:
    major, src = vllm_cuda_major()
    need = MIN_DRIVER[major]
    try:
        drivers = {row[0] for row in _smi("driver_version")}
    except FileNotFoundError:
        return Finding("NVIDIA driver", False, f"none (nvidia-smi not found); {src} needs CUDA {major}: driver >= {need}")
    have = max(drivers, key=_version_tuple)
    ok = _version_tuple(have) >= _version_tuple(need)
    return Finding("NVIDIA driver", ok, f"{have}; {src} needs CUDA {major}: driver >= {need}")


def _pin(extra: str, name: str) -> str:
    """The version pyproject.toml's ``extra`` pins ``name`` to."""
    reqs = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"][extra]
    return next(r.split("==")[1].split()[0] for r in reqs if r.startswith(f"{name}=="))


def _installed_pin(label: str, dist: str, extra: str, missing: str, note: str = "") -> Finding:
    """Whether ``dist`` is installed at the version pyproject.toml's ``extra`` pins."""
    pin = _pin(extra, dist)
    try:
        have = md.version(dist)
    except md.PackageNotFoundError:
        return Finding(label, False, f"not installed (pin {pin}{missing})")
    return Finding(label, have == pin, f"{have} (pin {pin}{note})")


def check_vllm(cfg: dict) -> Finding:
    return _installed_pin("vllm", "vllm", "gpu", "; pip install -e '.[gpu,train,eval]'")


def _run_models(cfg: dict) -> list:
    """The trained model and every teacher of the ablations (as written: no need to resolve them)."""
    names = {cfg["model"]} | {o["teacher"] for o in cfg["ablations"].values() if o.get("teacher")}
    return [get_spec(cfg, n) for n in sorted(names)]


def check_gpus(cfg: dict) -> Finding:
    """The GPUs of this node against the plan made for them: every job of the run fits."""
    try:
        rows = _smi("name,memory.total")
    except FileNotFoundError:
        rows = []
    plans = run_plan(cfg, Cluster.from_cfg(cfg))
    most = max(plans, key=lambda p: p.gpus)
    if not rows:
        return Finding("GPUs vs plan", False, f"no GPU visible; the plan (cluster: {cfg['cluster']['gpus_per_node']} x "
                                              f"{cfg['cluster']['gpu_mem_gb']:g} GiB) needs up to {most.gpus} for "
                                              f"{most.job} {most.model}")
    mem = min(float(r[1]) for r in rows) / 1024
    here = run_plan(cfg, Cluster.from_cfg(cfg, gpu_mem_gb=mem, gpus_per_node=len(rows)))
    bad = [p for p in here if not p.fits]
    what = f"{len(rows)} x {rows[0][0]} ({mem:.1f} GiB)"
    if bad:
        return Finding("GPUs vs plan", False, f"{what}: {bad[0].job} {bad[0].model} does not fit: {bad[0].reason}"
                                              + (f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""))
    return Finding("GPUs vs plan", True, f"{what}: every job of the plan fits (largest: {most.job} {most.model}, {most.gpus} GPUs)")


def check_hub(cfg: dict) -> list[Finding]:
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
            out.append(Finding(f"hub {kind} {repo}", True, "readable"))
        except Exception as e:  # gated, no token, offline: one line
            out.append(Finding(f"hub {kind} {repo}", False, f"{type(e).__name__}: {(str(e).splitlines() or [''])[0][:160]}"))
    return out


def check_data(cfg: dict) -> list[Finding]:
    out = []
    for name, path in required_data(cfg).items():
        ok = bool(path) and (path.startswith("hf:") or Path(path).exists())
        where = path or f"evaluate.data.{name} not set"
        out.append(Finding(f"data {name}", ok, where if ok else f"{where} missing: {FETCH_HINT}"))
    return out


def check_disk(cfg: dict) -> Finding:
    """Free disk where the hub cache and the results go against the plan's total for the run."""
    need = run_disk(cfg, run_plan(cfg, Cluster.from_cfg(cfg)))["total_gib"]
    places = {str(cache_dir(cfg)), cfg["results_dir"]}
    free = {}                                  # per filesystem: the two may share one
    for p in places:
        q = Path(p).resolve()
        while not q.exists():
            q = q.parent
        free[q.stat().st_dev] = shutil.disk_usage(q).free / 2**30
    total = sum(free.values())
    return Finding("disk", total >= need, f"{total:.0f} GiB free at {', '.join(sorted(places))}; the plan needs {need:.0f} GiB")


def check_slurm_plugin(cfg: dict) -> Finding:
    return _installed_pin("SLURM executor plugin", "snakemake-executor-plugin-slurm", "test",
                          "; profiles/slurm needs it)", "; profiles/slurm sets tasks_per_gpu=0 for it")


CONFIG_CHECKS = (check_driver, check_vllm, check_gpus, check_hub, check_data, check_disk, check_slurm_plugin)


def config_checks(cfg: dict) -> list[Finding]:
    """Every config check, each caught: a check that breaks is a failing line, never a traceback."""
    out: list[Finding] = []
    for fn in CONFIG_CHECKS:
        try:
            got = fn(cfg)
            out += got if isinstance(got, list) else [got]
        except Exception as e:  # noqa: BLE001 (the first-hour tool reports, it does not crash)
            out.append(Finding(fn.__name__.removeprefix("check_"), False,
                               f"{type(e).__name__}: {(str(e).splitlines() or [''])[0][:200]}"))
    return out
