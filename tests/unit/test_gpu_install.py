"""`pip install -e '.[gpu,train,eval]'` resolves: our exact pins against vLLM's own requirements.

vllm's wheel is 336 MB and the index serves no separate metadata file, so its METADATA header is
kept in tests/fixtures/gpu-metadata/ (scripts/refresh_gpu_metadata.py rewrites it when the pin
moves) and checked here with `packaging`, with the metadata of every other pin we can read: the
fixtures (numba, which vllm pins exactly and which caps numpy; every release of mistral_common
in vllm's range, in ranged/: pip may take any of them, and all cap numpy; transformers at the GPU
pin) and the distributions installed here at the same version as the GPU pin. torch 2.14.0's own
requirements are not read (multi-GB wheel).

A real resolver run (pip --dry-run over the GPU pins and the SLURM plugin; ~4 min, the vllm wheel) happens only
when SELFALIGN_RESOLVE=1.
"""
from __future__ import annotations

import importlib.metadata as md
import json
import os
import re
import subprocess
import sys
import tomllib

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

from selfalign.config import REPO_ROOT

FIXTURES = REPO_ROOT / "tests" / "fixtures" / "gpu-metadata"
PYPROJECT = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
GPU_SET = ("gpu", "train", "eval")       # the README's GPU install line
CPU_SET = ("cpu", "train", "eval")       # scripts/setup.sh adds `test`
REFRESH = "run scripts/refresh_gpu_metadata.py"


def pins(extras, project=PYPROJECT) -> dict[str, Version]:
    """Exact pins of the core dependencies plus ``extras``; a name pinned twice differently is an error."""
    out: dict[str, Version] = {}
    for line in list(project["dependencies"]) + [r for e in extras for r in project["optional-dependencies"][e]]:
        req = Requirement(line)
        spec = list(req.specifier)
        assert len(spec) == 1 and spec[0].operator == "==", f"{line}: our pins are exact (==)"
        name, v = canonicalize_name(req.name), Version(spec[0].version)
        if name in out and out[name] != v:
            raise ValueError(f"{name} pinned to both {out[name]} and {v} in {'+'.join(extras)}")
        out[name] = v
    return out


def target_envs() -> list[dict]:
    """The marker environments of a GPU node: Linux x86-64, each Python that requires-python allows."""
    allowed = SpecifierSet(PYPROJECT["requires-python"])
    envs = []
    for py in ("3.10", "3.11", "3.12", "3.13", "3.14"):
        if Version(py + ".0") in allowed:
            env = default_environment()
            env.update(python_version=py, python_full_version=py + ".0", platform_machine="x86_64",
                       sys_platform="linux", platform_system="Linux", os_name="posix",
                       implementation_name="cpython", platform_python_implementation="CPython", extra="")
            envs.append(env)
    return envs


def read_fixture(path) -> tuple[dict, list[Requirement]]:
    fields, reqs = {}, []
    for line in path.read_text().splitlines():
        if not line or line.startswith("#"):
            continue
        key, _, value = line.partition(": ")
        if key == "Requires-Dist":
            reqs.append(Requirement(value))
        else:
            fields[key] = value
    return fields, reqs


def fixtures() -> dict[str, tuple[dict, list[Requirement]]]:
    return {canonicalize_name(f["Name"]): (f, r) for f, r in map(read_fixture, sorted(FIXTURES.glob("*.txt")))}


def ranged_fixtures() -> dict[str, list[tuple[dict, list[Requirement]]]]:
    out: dict[str, list] = {}
    for f, r in map(read_fixture, sorted((FIXTURES / "ranged").glob("*.txt"))):
        out.setdefault(canonicalize_name(f["Name"]), []).append((f, r))
    return out


def conflicts(our: dict[str, Version], who: str, requires_python: str | None, reqs: list[Requirement]) -> list[str]:
    bad = []
    for env in target_envs():
        if requires_python and Version(env["python_full_version"]) not in SpecifierSet(requires_python):
            bad.append(f"{who} requires Python {requires_python}, not {env['python_version']}")
        for r in reqs:
            name = canonicalize_name(r.name)
            if name in our and (r.marker is None or r.marker.evaluate(env)) \
                    and not r.specifier.contains(our[name], prereleases=True):
                bad.append(f"{who} requires {r} but we pin {name}=={our[name]} (Python {env['python_version']})")
    return sorted(set(bad))


def metadata_of_pins(our: dict[str, Version]) -> tuple[dict[str, tuple[str | None, list[Requirement]]], list[str]]:
    """Requirements of every pinned distribution we can read at the pinned version, and those we cannot."""
    fx = fixtures()
    known, unread = {}, []
    for name, v in sorted(our.items()):
        if name in fx and Version(fx[name][0]["Version"]) == v:
            f, reqs = fx[name]
            known[name] = (f.get("Requires-Python"), reqs)
            continue
        try:
            dist = md.distribution(name)
        except md.PackageNotFoundError:
            unread.append(name)
            continue
        if Version(dist.version).public != v.public:
            unread.append(name)
            continue
        reqs = [Requirement(r) for r in dist.requires or []]
        known[name] = (dist.metadata.get("Requires-Python"), reqs)
    return known, unread


def check(extras, project=PYPROJECT) -> tuple[list[str], list[str]]:
    our = pins(extras, project)
    known, unread = metadata_of_pins(our)
    fx = fixtures()
    # vllm's exact pins (numba, torch, …): their metadata counts as if we pinned them ourselves
    for r in fx["vllm"][1]:
        name = canonicalize_name(r.name)
        spec = list(r.specifier)
        if name in fx and len(spec) == 1 and spec[0].operator == "==" and name not in known \
                and Version(fx[name][0]["Version"]) == Version(spec[0].version):
            known[name] = (fx[name][0].get("Requires-Python"), fx[name][1])
    bad = []
    for name, (rp, reqs) in sorted(known.items()):
        bad += conflicts(our, f"{name}=={our.get(name, '(pinned by vllm)')}", rp, reqs)
    # vllm's ranged requirements with kept releases: some release in range must fit our pins
    ranged = ranged_fixtures()
    for r in fx["vllm"][1]:
        name = canonicalize_name(r.name)
        if name not in ranged:
            continue
        releases = [(f, reqs) for f, reqs in ranged[name] if r.specifier.contains(f["Version"])]
        if not releases:
            bad.append(f"vllm requires {r} and no release of it is kept in ranged/: {REFRESH}")
            continue
        why = [conflicts(our, f"{name}=={f['Version']}", f.get("Requires-Python"), reqs) for f, reqs in releases]
        if all(why):
            bad.append(f"vllm requires {r}; every release in range conflicts, e.g. {why[0][0]}")
    return bad, unread


# ----------------------------------------------------------------------------------------- tests
def test_vllm_fixture_matches_the_pin():
    fx = fixtures()
    pinned = pins(("gpu",))["vllm"]
    assert "vllm" in fx, f"no vllm metadata in {FIXTURES}: {REFRESH}"
    assert Version(fx["vllm"][0]["Version"]) == pinned, \
        f"the fixture is vllm {fx['vllm'][0]['Version']} but pyproject pins {pinned}: {REFRESH}"
    # the requirements that made the old pins fail are in it (the fixture is the real METADATA)
    names = {canonicalize_name(r.name) for r in fx["vllm"][1]}
    assert {"torch", "transformers", "torchaudio", "torchvision", "numba"} <= names


def test_every_fixture_is_for_a_pin_in_force():
    fx = fixtures()
    ours = pins(GPU_SET)
    vllm_exact = {canonicalize_name(r.name): Version(list(r.specifier)[0].version) for r in fx["vllm"][1]
                  if len(r.specifier) == 1 and list(r.specifier)[0].operator == "=="}
    for name, (f, _) in fx.items():
        assert Version(f["Version"]) in (ours.get(name), vllm_exact.get(name)), \
            f"fixture {name} {f['Version']} is stale (we pin {ours.get(name)}, vllm pins {vllm_exact.get(name)}): {REFRESH}"
    vllm_ranged = {canonicalize_name(r.name): r.specifier for r in fx["vllm"][1]}
    for name, releases in ranged_fixtures().items():
        for f, _ in releases:
            assert name in vllm_ranged and vllm_ranged[name].contains(f["Version"]), \
                f"ranged fixture {name} {f['Version']} is outside vllm's range: {REFRESH}"


def test_gpu_extras_agree_with_vllm_metadata():
    bad, unread = check(GPU_SET)
    assert not bad, "\n".join(bad)
    # what stays unread is said, and it is only what needs a GPU wheel we do not keep
    assert set(unread) <= {"torch", "llama-cpp-python"}, unread


def test_cpu_extras_are_one_consistent_set():
    bad, _ = check(CPU_SET + ("test",))
    assert not bad, "\n".join(bad)


def test_the_old_pins_are_caught():
    """The pins this test replaced (torch 2.13.0 and transformers 5.23.0 in `train`, beside vllm
    0.33.0) must fail it: the check can fail."""
    old = json.loads(json.dumps(PYPROJECT))
    old["optional-dependencies"]["gpu"] = ["vllm==0.33.0"]
    old["optional-dependencies"]["train"] = ["torch==2.13.0", "transformers==5.23.0"] + [
        r for r in old["optional-dependencies"]["train"] if not r.startswith(("torch", "transformers"))]
    bad, _ = check(GPU_SET, old)
    assert any(b.startswith("vllm==0.33.0 requires torch==2.14.0 but we pin torch==2.13.0") for b in bad), bad
    assert any("transformers<5.21.0,>=5.16.1 but we pin transformers==5.23.0" in b for b in bad), bad
    # numpy 2.4.6 (the pin before the real resolver run failed on it): every mistral_common vllm allows caps it
    old = json.loads(json.dumps(PYPROJECT))
    old["dependencies"] = [("numpy==2.4.6" if d.startswith("numpy==") else d) for d in old["dependencies"]]
    bad, _ = check(GPU_SET, old)
    assert any(b.startswith("vllm requires mistral_common[image]>=1.11.6; every release in range conflicts")
               and "numpy<2.4,>=1.25" in b for b in bad), bad


def test_cpu_and_gpu_stacks_are_exclusive():
    """`cpu` and `gpu` pin different torch releases: installing both is refused, not half-resolved."""
    with pytest.raises(ValueError, match="torch pinned to both"):
        pins(("cpu", "gpu"))
    assert "torch" not in pins(("train",)) and "transformers" not in pins(("train",))


@pytest.mark.skipif(os.environ.get("SELFALIGN_RESOLVE") != "1",
                    reason="the real resolver run reads the index and downloads the 336 MB vllm wheel (~4 min): set SELFALIGN_RESOLVE=1")
def test_pip_resolves_the_gpu_install(tmp_path):
    reqs = tmp_path / "gpu.txt"
    # with the SLURM executor plugin the README installs beside it on a cluster (it caps numpy too)
    slurm = next(r for r in PYPROJECT["optional-dependencies"]["test"] if r.startswith("snakemake-executor-plugin-slurm=="))
    reqs.write_text("".join(f"{n}=={v}\n" for n, v in pins(GPU_SET).items()) + slurm + "\n")
    report = tmp_path / "report.json"
    out = subprocess.run([sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet",
                          "--report", str(report), "-r", str(reqs)], capture_output=True, text=True, timeout=3600)
    assert out.returncode == 0, out.stderr[-3000:]
    got = {canonicalize_name(i["metadata"]["name"]): i["metadata"]["version"]
           for i in json.loads(report.read_text())["install"]}
    assert got["vllm"] == "0.33.0" and got["torch"].split("+")[0] == "2.14.0", got


def test_pins_parse_like_pip():
    """Our own parser agrees with the simple regex other tests use (no environment markers, no URLs)."""
    for line in PYPROJECT["dependencies"] + [r for e in PYPROJECT["optional-dependencies"].values() for r in e]:
        assert re.match(r"^[A-Za-z0-9_.\-]+(\[[^\]]*\])?==[^;\s]+$", line), line
