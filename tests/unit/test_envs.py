"""envs/*.yaml (conda, for cluster users) must pin exactly what pyproject.toml pins."""
import re
import tomllib

import yaml

from selfalign.config import REPO_ROOT


def _pins(reqs):
    out = {}
    for r in reqs:
        m = re.match(r"^([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?==([^;\s]+)", r)
        if m:
            out[m.group(1).lower().replace("_", "-")] = m.group(2)
    return out


def test_env_pins_agree_with_pyproject():
    py = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    pins = _pins(py["dependencies"])
    for extra in py["optional-dependencies"].values():
        pins.update(_pins(extra))
    envs = sorted((REPO_ROOT / "envs").glob("*.yaml"))
    assert {e.stem for e in envs} >= {"cpu-generation", "gpu-generation", "training", "evaluation"}
    for env in envs:
        deps = yaml.safe_load(env.read_text())["dependencies"]
        pip = next(d["pip"] for d in deps if isinstance(d, dict) and "pip" in d)
        for name, version in _pins(pip).items():
            assert name in pins, f"{env.name}: {name} is not pinned in pyproject.toml"
            assert pins[name] == version, f"{env.name}: {name}=={version} but pyproject pins {pins[name]}"


def test_every_rule_file_names_an_env():
    for smk in (REPO_ROOT / "rules").glob("*.smk"):
        for ref in re.findall(r'"\.\./envs/([\w-]+)\.yaml"', smk.read_text()):
            assert (REPO_ROOT / "envs" / f"{ref}.yaml").exists(), f"{smk.name} names a missing env {ref}"
