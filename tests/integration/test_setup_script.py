"""scripts/setup.sh on a user's own machine: `make run`'s setup needs only bubblewrap, util-linux
and node (cluster packages are optional and never required), a non-root user is never sent to
apt-get, and torch is the CPU wheel unless an NVIDIA GPU is present."""
import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from pathlib import Path

import pytest

from selfalign.config import REPO_ROOT

pytestmark = pytest.mark.integration
SETUP = REPO_ROOT / "scripts" / "setup.sh"
NOBODY = 65534
# what the script's system step itself runs besides the packages it checks for
BASICS = ("bash", "dirname", "date", "id")


@pytest.fixture
def world():
    """A directory an unprivileged uid can read (pytest's tmp dirs are 0700 under root's): a copy
    of the script, and an empty bin directory to stand for a PATH."""
    d = Path(tempfile.mkdtemp(prefix="selfalign-setup-"))
    try:
        os.chmod(d, 0o755)
        (d / "repo" / "scripts").mkdir(parents=True)
        shutil.copy(SETUP, d / "repo" / "scripts" / "setup.sh")
        (d / "bin").mkdir()
        (d / "home").mkdir()
        for p in d.rglob("*"):
            os.chmod(p, 0o755 if p.is_dir() or p.suffix == ".sh" else 0o644)
        os.chmod(d / "home", 0o777)
        for tool in BASICS:
            os.symlink(shutil.which(tool), d / "bin" / tool)
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


def _stub(bindir: Path, name: str, body: str = "exit 0") -> None:
    f = bindir / name
    f.write_text(f"#!/bin/sh\n{body}\n")
    f.chmod(0o755)


def _run_as_user(d: Path, *args: str) -> subprocess.CompletedProcess:
    """The script under a non-root uid (dropped with setpriv when we are root) and PATH=d/bin only."""
    env = ["env", "-i", f"PATH={d / 'bin'}", f"HOME={d / 'home'}"]
    cmd = [*env, str(d / "bin" / "bash"), str(d / "repo" / "scripts" / "setup.sh"), *args]
    if os.geteuid() == 0:
        cmd = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "--", *cmd]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("cluster", [False, True], ids=["make-run", "make-test"])
def test_non_root_setup_passes_with_only_bubblewrap_util_linux_node(world, cluster):
    for tool in ("bwrap", "setpriv", "node"):       # bubblewrap, util-linux, nodejs
        _stub(world / "bin", tool)
    _stub(world / "bin", "apt-get", f"touch {world / 'home' / 'apt-get-called'}; exit 1")
    out = _run_as_user(world, "--system-only", *(["--cluster"] if cluster else []))
    assert out.returncode == 0, out.stderr
    assert "system packages ready" in out.stdout
    assert not (world / "home" / "apt-get-called").exists(), "a non-root setup called apt-get"
    if cluster:   # the SLURM packages are named, as optional, with what that means
        assert "slurm-wlm munge" in out.stderr and "skipped" in out.stderr, out.stderr
    else:
        assert out.stderr == ""


def test_non_root_setup_without_bubblewrap_stops_and_names_it(world):
    for tool in ("setpriv", "node"):
        _stub(world / "bin", tool)
    _stub(world / "bin", "apt-get", f"touch {world / 'home' / 'apt-get-called'}; exit 1")
    out = _run_as_user(world, "--system-only")
    assert out.returncode == 1
    assert "missing system packages: bubblewrap" in out.stderr, out.stderr
    assert not (world / "home" / "apt-get-called").exists()


# ------------------------------------------------------------------------------- torch wheel
def _torch_pin() -> str:
    train = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["train"]
    return next(r for r in train if r.startswith("torch==")).split("==", 1)[1].split(";")[0].strip()


def _wheel(d: Path, version: str) -> None:
    """A minimal valid wheel of torch==version (metadata only): what a local wheel dir offers."""
    info = f"torch-{version}.dist-info"
    files = {f"{info}/METADATA": f"Metadata-Version: 2.1\nName: torch\nVersion: {version}\n",
             f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}
    files[f"{info}/RECORD"] = "".join(f"{n},,\n" for n in files) + f"{info}/RECORD,,\n"
    with zipfile.ZipFile(d / f"torch-{version}-py3-none-any.whl", "w") as z:
        for name, text in files.items():
            z.writestr(name, text)


def _torch_args(tmp_path: Path, gpu: bool, find_links: Path | None, **extra: str) -> list[str]:
    bindir = tmp_path / "bin"
    bindir.mkdir(exist_ok=True)
    if gpu:
        _stub(bindir, "nvidia-smi", 'echo "GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-0)"')
    # an interpreter on which torch is not installed yet (its version check fails), pip unchanged
    _stub(bindir, "python-no-torch", f'[ "$1" = -c ] && exit 1; exec {sys.executable} "$@"')
    env = {"PATH": f"{bindir}:/usr/bin:/bin", "HOME": str(tmp_path), "PIP_CONFIG_FILE": os.devnull,
           "PIP_NO_CACHE_DIR": "1", "SELFALIGN_VENV": str(tmp_path / "no-venv"),
           "PYTHON": str(bindir / "python-no-torch"), **extra}
    if find_links:
        env["PIP_FIND_LINKS"] = str(find_links)
    out = subprocess.run(["bash", str(SETUP), "--torch-args"], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout.split()


def test_cpu_machine_gets_the_cpu_wheel_from_the_pytorch_cpu_index(tmp_path):
    v = _torch_pin()
    assert _torch_args(tmp_path, gpu=False, find_links=None) == [
        f"torch=={v}+cpu", "--extra-index-url", "https://download.pytorch.org/whl/cpu"]


def test_cpu_machine_with_a_local_cpu_wheel_needs_no_index(tmp_path):
    """As on this offline machine (pip's find-links holds torch X+cpu; pytorch.org unreachable)."""
    v = _torch_pin()
    links = tmp_path / "wheels"
    links.mkdir()
    _wheel(links, f"{v}+cpu")
    assert _torch_args(tmp_path, gpu=False, find_links=links) == [f"torch=={v}+cpu"]


def test_cuda_machine_gets_pypis_default_build_unless_told_cpu(tmp_path):
    v = _torch_pin()
    assert _torch_args(tmp_path, gpu=True, find_links=None) == []
    assert _torch_args(tmp_path, gpu=True, find_links=None, SELFALIGN_TORCH="cpu")[0] == f"torch=={v}+cpu"
