#!/usr/bin/env python3
"""Refresh tests/fixtures/gpu-metadata/ from the wheels of the GPU stack's pins.

The index serves no separate metadata file for vllm: reading its requirements means downloading
the whole wheel (336 MB for 0.33.0). CI must not do that on every run, so the requirement lines
are kept here as small fixtures, and tests/unit/test_gpu_install.py checks our pins against them.

Run it when the `gpu` extra's vllm (or transformers) pin moves, on a Linux x86-64 machine with
Python 3.11 or 3.12 (the wheels are platform-specific):

    python scripts/refresh_gpu_metadata.py            # downloads, extracts, deletes the wheels
    python scripts/refresh_gpu_metadata.py --wheel-dir DIR   # reuse wheels already downloaded

It keeps, for vllm, every exactly-pinned (==) requirement of vllm that constrains one of our own
pins (numba: numpy), every release on the index within vllm's range for the ranged requirements
that constrain our pins (mistral_common: numpy<2.4 on Python <= 3.12; in ranged/), and every pin
of the `gpu` extra that is not installed on CPU machines (transformers): Name, Version, Requires-Python and the Requires-Dist lines (less those of its extras) of each METADATA, and
the wheel's file name and sha256. torch's wheel (GBs with its CUDA libraries) is not fetched.
"""
from __future__ import annotations

import argparse
import hashlib
import re
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "fixtures" / "gpu-metadata"
KEEP_FIELDS = ("Name", "Version", "Requires-Python", "Requires-Dist")
# exact pins of vllm whose own requirements touch our pins (numba caps numpy)
TRANSITIVE = ("numba",)
# ranged requirements of vllm whose releases cap one of our pins: every release in range is kept,
# because pip may pick any of them (mistral_common[image]>=1.11.6: all of 1.11.6-1.13.1 cap numpy)
RANGED = ("mistral_common",)
SKIP = ("torch",)  # multi-GB wheel; not kept


def gpu_pins() -> dict[str, str]:
    extra = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["gpu"]
    return {m.group(1).lower(): m.group(2) for r in extra if (m := re.match(r"([A-Za-z0-9_.-]+)==(\S+)", r))}


def wheel_for(name: str, version: str, wheel_dir: Path) -> Path:
    pat = f"{name.replace('-', '_')}-{version}-*.whl"
    found = sorted(wheel_dir.glob(pat))
    if not found:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                        f"{name}=={version}", "-d", str(wheel_dir)], check=True)
        found = sorted(wheel_dir.glob(pat))
    if not found:
        raise SystemExit(f"no wheel {pat} in {wheel_dir}")
    return found[0]


def metadata_lines(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as z:
        name = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))
        text = z.read(name).decode()
    head = text.split("\n\n", 1)[0]          # the header block; the long description follows
    # requirements of the distribution's own extras are left out: we install none of them
    return [ln for ln in head.splitlines() if ln.split(":", 1)[0] in KEEP_FIELDS and "extra ==" not in ln]


def index_versions(name: str) -> list[str]:
    out = subprocess.run([sys.executable, "-m", "pip", "index", "versions", name], check=True,
                         capture_output=True, text=True).stdout
    line = next(ln for ln in out.splitlines() if ln.startswith("Available versions:"))
    return [v.strip() for v in line.split(":", 1)[1].split(",")]


def write_fixture(wheel: Path, out: Path = OUT) -> tuple[Path, list[str]]:
    lines = metadata_lines(wheel)
    sha = hashlib.sha256(wheel.read_bytes()).hexdigest()
    fields = dict(ln.split(": ", 1) for ln in lines if not ln.startswith("Requires-Dist"))
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{fields['Name'].lower()}-{fields['Version']}.txt"
    header = [f"# Header fields of {wheel.name}'s METADATA (sha256 {sha}),",
              "# written by scripts/refresh_gpu_metadata.py; do not edit by hand."]
    path.write_text("\n".join(header + lines) + "\n")
    return path, lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--wheel-dir", type=Path, help="wheels already downloaded (kept); default: a temporary dir")
    a = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    pins = gpu_pins()
    with tempfile.TemporaryDirectory() as tmp:
        wd = a.wheel_dir or Path(tmp)
        written = []
        vllm_path, vllm_lines = write_fixture(wheel_for("vllm", pins["vllm"], wd))
        written.append(vllm_path)
        for ln in vllm_lines:
            if not ln.startswith("Requires-Dist: "):
                continue
            req = Requirement(ln.removeprefix("Requires-Dist: "))
            spec = list(req.specifier)
            if req.name.lower() in TRANSITIVE and req.marker is None and len(spec) == 1 and spec[0].operator == "==":
                written.append(write_fixture(wheel_for(req.name, spec[0].version, wd))[0])
            if req.name.lower() in RANGED:
                for v in index_versions(req.name):
                    if req.specifier.contains(v):
                        written.append(write_fixture(wheel_for(req.name, v, wd), OUT / "ranged")[0])
        for name, version in pins.items():
            if name not in ("vllm", *SKIP):
                written.append(write_fixture(wheel_for(name, version, wd))[0])
    keep = set(written)
    for old in [*OUT.glob("*.txt"), *OUT.glob("ranged/*.txt")]:
        if old not in keep:
            old.unlink()
    print("\n".join(str(p.relative_to(ROOT)) for p in written))


if __name__ == "__main__":
    main()
