"""Benchmark library environments: the third-party libraries a benchmark's programs import,
installed once into their own directory and mounted read-only in that benchmark's sandbox.

Built on request (``make bench-envs``, or ``python -m selfalign evaluate env build NAME``), never
by the default run: ``pip install --target`` with this interpreter, pinned versions, into
``evaluate.envs_dir/<name>-<hash of the pins>`` (a finished build writes ``.complete``; a
half-built directory is never used). The pins follow each benchmark's official environment,
moved to the nearest release that has wheels for this Python where the official pin has none
(said per family below). BLAS/OpenMP threads are capped to 1 by the sandbox itself.
"""
from __future__ import annotations

import hashlib
import logging
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Family:
    name: str
    requirements: tuple[str, ...]
    source: str                       # the official environment these pins follow
    # import name -> what a problem needs (to count problems on a missing library)
    modules: tuple[str, ...] = ()


FAMILIES = {
    # FudanSELab/ClassEval requirements.txt pins numpy~=1.22.4, pandas~=1.4.2, pillow~=9.1.1,
    # scipy~=1.8.1, gensim~=4.2.0: none has Python 3.11 wheels; the nearest releases that do.
    # PyJWT and scikit-learn are not in it, but ClassEval's own published outputs import them
    # (GPT-4's ClassEval_0 and ClassEval_51): the environment behind its published numbers had them.
    "classeval": Family("classeval", (
        "numpy==1.26.4", "pandas==1.5.3", "scipy==1.11.4", "gensim==4.3.2", "nltk==3.8.1",
        "beautifulsoup4==4.11.2", "PyPDF2==3.0.1", "reportlab==4.0.4", "pillow==9.5.0",
        "openpyxl==3.0.10", "python-docx==1.1.0", "PyJWT==2.8.0", "scikit-learn==1.3.2"),
        "FudanSELab/ClassEval requirements.txt (nearest versions with cp311 wheels)",
        ("numpy", "pandas", "gensim", "nltk", "bs4", "PyPDF2", "reportlab", "PIL", "openpyxl", "docx", "jwt", "sklearn")),
    # The 2024 DS-1000 release's environment: numpy 1.26, pandas 1.5.3, scipy 1.12, matplotlib 3.8,
    # scikit-learn, tensorflow-cpu 2.16 (the exact patch releases are ours), plus what its problems
    # import besides (gensim 936-937, xgboost 837-838, statsmodels 911, yaml 15, seaborn). torch is
    # 2.13.0, the CPU build (the official pins 2.2; PyPI's Linux torch of either pulls CUDA
    # libraries: pass --pip-arg=--extra-index-url=https://download.pytorch.org/whl/cpu, or have the
    # +cpu wheel in pip's find-links as this project's CI machine does).
    "ds1000": Family("ds1000", (
        "numpy==1.26.4", "pandas==1.5.3", "scipy==1.12.0", "matplotlib==3.8.4", "scikit-learn==1.4.0",
        "seaborn==0.13.2", "statsmodels==0.14.1", "xgboost==2.0.3", "gensim==4.3.2", "PyYAML==6.0.1",
        "tensorflow-cpu==2.16.1", "torch==2.13.0"),
        "xlang-ai/DS-1000 (2024 release) environment",
        ("numpy", "pandas", "scipy", "matplotlib", "sklearn", "tensorflow", "torch")),
    # nuprl/CanItEdit benchmark/requirements.txt (the evaluation image); numpy 1.23.5 has cp311 wheels;
    # torch 2.13.0 (CPU build) instead of 2.1.2, whose Linux wheel pulls CUDA libraries (as for ds1000).
    "canitedit": Family("canitedit", (
        "pandas==2.0.2", "torch==2.13.0", "z3-solver==4.12.2.0", "scikit-learn==1.2.2", "numpy==1.23.5",
        "flask==2.2.5", "scipy==1.10.1", "autograd==1.6.2",
        # z3-solver 4.12 imports pkg_resources (the image's Python has setuptools); torch 2.13 wants
        # setuptools >= 77.0.3, and 80.9 is the last release known here with pkg_resources
        "setuptools==80.9.0"),
        "nuprl/CanItEdit benchmark/requirements.txt",
        ("pandas", "torch", "z3", "sklearn", "numpy", "flask", "scipy", "autograd")),
}


def default_root() -> Path:
    """``SELFALIGN_BENCH_ENVS``, else ``$XDG_CACHE_HOME/selfalign/bench-envs`` (~/.cache/...)."""
    if os.environ.get("SELFALIGN_BENCH_ENVS"):
        return Path(os.environ["SELFALIGN_BENCH_ENVS"])
    return Path(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")) / "selfalign" / "bench-envs"


def env_dir(name: str, cfg: dict) -> Path:
    fam = FAMILIES[name]
    digest = hashlib.sha256("\n".join(fam.requirements).encode()).hexdigest()[:12]
    base = Path(cfg["evaluate"]["envs_dir"]) if cfg["evaluate"]["envs_dir"] else default_root()
    return base / f"{name}-py{sys.version_info.major}{sys.version_info.minor}-{digest}"


def site_for(name: str, cfg: dict) -> tuple[str | bool, dict]:
    """The sandbox site directory for a benchmark family, and what the result should say of it.
    A family whose environment is not built gets no libraries (False): its problems that need one
    fail, and the info names the command that builds it."""
    path = env_dir(name, cfg)
    if (path / ".complete").exists():
        return str(path), {"name": name, "path": str(path), "requirements": list(FAMILIES[name].requirements),
                           "source": FAMILIES[name].source}
    return False, {"name": name, "missing": True, "build": f"python -m selfalign evaluate env build {name}",
                   "requirements": list(FAMILIES[name].requirements)}


def available_modules(site: str | bool) -> set[str] | None:
    """Top-level importable names in an environment directory (None: the harness's venv)."""
    if site is True:
        return None
    if not site:
        return set()
    names = set()
    for p in Path(site).iterdir():
        if p.suffix in (".dist-info", ".egg-info") or p.name.startswith((".", "_")) or p.name == "bin":
            continue
        names.add(p.name.split(".")[0] if p.is_file() else p.name)
    return names


def build(name: str, cfg: dict, pip_args: list[str] | None = None) -> Path:
    """Install the family's pinned requirements into its directory (idempotent)."""
    if name not in FAMILIES:
        raise KeyError(f"unknown benchmark environment {name!r}; known: {', '.join(FAMILIES)}")
    path = env_dir(name, cfg)
    if (path / ".complete").exists():
        log.info("%s: already built at %s", name, path)
        return path
    tmp = path.with_name(path.name + ".partial")
    if tmp.exists():
        import shutil
        shutil.rmtree(tmp)
    cmd = [sys.executable, "-m", "pip", "install", "--disable-pip-version-check", "--no-warn-script-location", "--no-warn-conflicts",
           "--only-binary=:all:", "--target", str(tmp), *(pip_args or []), *FAMILIES[name].requirements]
    log.info("building %s: %s", name, " ".join(cmd))
    subprocess.run(cmd, check=True)
    (tmp / ".complete").write_text("\n".join(FAMILIES[name].requirements) + "\n")
    tmp.rename(path)
    return path
