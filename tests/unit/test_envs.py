"""envs/*.yaml (conda, for `--software-deployment-method conda`): each installs what its rules need,
pin for pin as pyproject.toml, and this package (through its post-deploy script)."""
import re
import tomllib

import yaml

from selfalign.config import REPO_ROOT

ENVS = REPO_ROOT / "envs"
# env file -> the extras it mirrors (core dependencies always)
EXTRAS = {"cpu-generation": ["cpu"], "training": ["cpu", "train"], "evaluation": ["cpu", "eval"],
          "gpu": ["gpu", "train", "eval"]}


def _pins(reqs):
    out = {}
    for r in reqs:
        m = re.match(r"^([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?==([^;\s]+)$", r)
        assert m, f"not an exact pin: {r}"
        out[m.group(1).lower().replace("_", "-")] = m.group(2)
    return out


def _env(name):
    return yaml.safe_load((ENVS / f"{name}.yaml").read_text())


def test_every_env_is_known_and_parses():
    assert {p.stem for p in ENVS.glob("*.yaml")} == set(EXTRAS)
    for name in EXTRAS:
        env = _env(name)
        assert set(env) == {"channels", "dependencies"}, name
        conda = [d for d in env["dependencies"] if isinstance(d, str)]
        assert "python=3.11" in conda and "pip" in conda, name


def test_env_pins_are_exactly_core_plus_its_extras():
    py = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    for name, extras in EXTRAS.items():
        want = _pins(py["dependencies"] + [r for e in extras for r in py["optional-dependencies"][e]])
        pip = next(d["pip"] for d in _env(name)["dependencies"] if isinstance(d, dict) and "pip" in d)
        got = _pins(pip)
        assert got == want, f"envs/{name}.yaml: missing {sorted(set(want) - set(got))}, extra " \
                            f"{sorted(set(got) - set(want))}, differing " \
                            f"{sorted(k for k in set(got) & set(want) if got[k] != want[k])}"


def test_every_env_installs_this_package():
    for name in EXTRAS:
        script = ENVS / f"{name}.post-deploy.sh"
        assert script.exists(), f"{name}: no post-deploy script, the env would lack selfalign"
        text = script.read_text()
        assert re.search(r'^python -m pip install --no-deps -e "\$SELFALIGN_ROOT"$', text, re.M), name
    snakefile = (REPO_ROOT / "Snakefile").read_text()
    assert 'os.environ.setdefault("SELFALIGN_ROOT", workflow.basedir)' in snakefile
    # and the project those scripts install is this one
    assert tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["name"] == "selfalign"


def test_sandbox_and_pyright_tools_are_in_the_envs_of_their_rules():
    for name in ("cpu-generation", "evaluation", "gpu"):      # execute / evaluate run the sandbox
        conda = [d for d in _env(name)["dependencies"] if isinstance(d, str)]
        assert any(d.startswith("bubblewrap") for d in conda), name
    for name in EXTRAS:                                       # pyright (a core dependency) runs on node
        assert any(str(d).startswith("nodejs") for d in _env(name)["dependencies"]), name


def test_every_rule_names_an_env_that_exists():
    named = set()
    for smk in (REPO_ROOT / "rules").glob("*.smk"):
        text = smk.read_text()
        assert text.count("conda:") == len(re.findall(r"^rule ", text, re.M)), f"{smk.name}: a rule without a conda env"
        named |= set(re.findall(r'W\.env\("([\w-]+)"', text))
    assert named == {"cpu-generation", "training", "evaluation"}, named
    for ref in named | {"gpu"}:
        assert (ENVS / f"{ref}.yaml").exists()
