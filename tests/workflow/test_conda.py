"""`--software-deployment-method conda` in a dry run: which env each job gets, and that jobs then run
the env's `python -m selfalign` rather than the driver's interpreter.

There is no conda on the development machines: a stand-in `conda` on PATH answers the three
queries Snakemake makes before a dry run (`conda info --json`, `conda --version`, the channel
priority); no environment is created, so the env files themselves stay untested with conda.
"""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from selfalign.config import REPO_ROOT

pytestmark = pytest.mark.workflow
SNAKEMAKE = str(Path(sys.executable).parent / "snakemake")

FAKE_CONDA = """#!/bin/sh
case "$*" in
  "info --json") echo '{"conda_prefix": "%s", "platform": "linux-64"}';;
  "--version") echo "conda 24.11.0";;
  "config --get channel_priority --json") echo '{"get": {"channel_priority": "strict"}}';;
  *) echo "stand-in conda: $* is not a dry-run query" >&2; exit 2;;
esac
"""


@pytest.fixture
def conda_path(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "conda").write_text(FAKE_CONDA % (tmp_path / "prefix"))
    (bin_dir / "conda").chmod(0o755)
    return f"{bin_dir}:{os.environ['PATH']}"


def snakemake(tmp_path, path, *args):
    # a copy of the working tree's .snakemake is not needed: --directory keeps ours clean
    env = dict(os.environ, PATH=path)
    return subprocess.run([SNAKEMAKE, "--cores", "all", "--directory", str(tmp_path / "wd"),
                           "--config", f"results_dir={tmp_path}/results", *args],
                          capture_output=True, text=True, cwd=REPO_ROOT, env=env, timeout=300)


def envs_listed(out: str) -> set[str]:
    """The env files of `--list-conda-envs`, relative to the repository."""
    rows = [Path(line.split("\t")[0]).resolve() for line in out.splitlines()[1:] if line.endswith("_")]
    return {str(p.relative_to(REPO_ROOT)) for p in rows}


def test_cpu_run_uses_the_three_cpu_envs(tmp_path, conda_path):
    out = snakemake(tmp_path, conda_path, "--sdm", "conda", "--list-conda-envs", "--configfile", "config/ci.yaml")
    assert out.returncode == 0, out.stderr[-2000:]
    assert envs_listed(out.stdout) == {"envs/cpu-generation.yaml", "envs/training.yaml", "envs/evaluation.yaml"}


def test_paper_run_builds_one_gpu_env(tmp_path, conda_path):
    nodata = tmp_path / "nodata.yaml"           # the envs, without fetching the benchmark releases
    nodata.write_text("evaluate: {require_data: false}\n")
    out = snakemake(tmp_path, conda_path, "--sdm", "conda", "--list-conda-envs", "--configfile", "config/paper.yaml",
                    str(nodata))
    assert out.returncode == 0, out.stderr[-2000:]
    assert envs_listed(out.stdout) == {"envs/gpu.yaml"}


def test_jobs_run_the_envs_python_under_conda_and_the_drivers_otherwise(tmp_path, conda_path):
    conda = snakemake(tmp_path, conda_path, "--sdm", "conda", "-n", "-p", "--configfile", "config/ci.yaml")
    assert conda.returncode == 0, conda.stderr[-2000:]
    commands = [ln for ln in conda.stdout.splitlines() if "-m selfalign " in ln]
    assert len(commands) >= 10
    assert all("python -m selfalign " in ln and sys.executable not in ln for ln in commands), commands[:3]
    plain = snakemake(tmp_path, os.environ["PATH"], "-n", "-p", "--configfile", "config/ci.yaml")
    assert plain.returncode == 0, plain.stderr[-2000:]
    commands = [ln for ln in plain.stdout.splitlines() if "-m selfalign " in ln]
    assert commands and all(f"{sys.executable} -m selfalign " in ln for ln in commands), commands[:3]
