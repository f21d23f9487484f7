"""docs/FIDELITY.md stays the one page of deviations from the official pipeline: every schema key
marked `paper_default: false` is listed there, every CPU-default value that differs from the
schema (= official) default is marked so, and config/paper.yaml sets each of them back."""
import re

import yaml

from selfalign.config import REPO_ROOT, deep_merge, load_schema, resolve

DOC = (REPO_ROOT / "docs" / "FIDELITY.md").read_text()
# not pipeline semantics: names, the run seed, llama.cpp batching (no effect on what a prompt yields)
NOT_SEMANTIC = ("experiment", "model", "seed", "backend.")
# what config/paper.yaml sets on purpose to other than the schema default
PAPER_OWN = {"backend.n_ctx", "evaluate.benchmarks"}


def _schema_keys(node, prefix=""):
    for key, sub in (node.get("properties") or {}).items():
        path = f"{prefix}{key}"
        yield path, sub
        yield from _schema_keys(sub, path + ".")


def _leaves(d, prefix=""):
    for k, v in d.items():
        if isinstance(v, dict) and v and k != "ablations":
            yield from _leaves(v, f"{prefix}{k}.")
        elif k != "ablations":
            yield f"{prefix}{k}", v


def _get(d, path):
    for p in path.split("."):
        d = d[p]
    return d


def _yaml(name):
    return yaml.safe_load((REPO_ROOT / "config" / name).read_text())


def test_every_key_marked_as_deviating_is_on_the_fidelity_page():
    marked = [p for p, sub in _schema_keys(load_schema()) if sub.get("paper_default") is False]
    assert len(marked) >= 20
    missing = [p for p in marked if f"`{p}`" not in DOC]
    assert missing == [], f"add these keys to docs/FIDELITY.md: {missing}"


def test_every_cpu_value_that_differs_from_the_official_default_is_marked():
    schema = dict(_schema_keys(load_schema()))
    defaults = resolve({})
    unmarked = [p for p, v in _leaves(_yaml("config.yaml"))
                if not p.startswith(NOT_SEMANTIC) and v != _get(defaults, p)
                and schema[p].get("paper_default") is not False]
    assert unmarked == [], f"mark these keys paper_default: false and list them in docs/FIDELITY.md: {unmarked}"


def test_paper_config_sets_every_cpu_value_back():
    """Snakemake merges --configfile config/paper.yaml over config/config.yaml."""
    defaults = resolve({})
    merged = resolve(deep_merge(_yaml("config.yaml"), _yaml("paper.yaml")))
    leaked = [p for p, _ in _leaves(_yaml("config.yaml"))
              if p not in PAPER_OWN and p not in ("experiment", "model", "seed") and _get(merged, p) != _get(defaults, p)]
    assert leaked == [], f"config/paper.yaml must set these back to the paper's values: {leaked}"


def test_the_page_is_one_table_with_a_verdict_per_row():
    rows = [ln for ln in DOC.splitlines() if ln.startswith("| ") and not ln.startswith("| Step")]
    assert len(rows) >= 40
    for ln in rows:
        cells = [c.strip() for c in ln.strip("|").split("|")]
        assert len(cells) == 4, ln
        assert re.match(r"\*\*(same|deviation|not implemented)\*\*", cells[3]), ln


def test_every_function_the_page_cites_is_where_it_says():
    """`selfalign/<module>.py `name`, `name``: the module exists and defines each name (the page
    follows the code when it moves)."""
    import ast
    cited = re.findall(r"(selfalign/[\w/]+\.py)((?: `\w+`,?)*)", DOC)
    assert len(cited) >= 30
    missing = []
    for path, names in cited:
        f = REPO_ROOT / path
        if not f.exists():
            missing.append(path)
            continue
        tree = ast.parse(f.read_text())
        defined = {n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
        defined |= {t.id for n in tree.body if isinstance(n, ast.Assign) for t in n.targets if isinstance(t, ast.Name)}
        missing += [f"{path} {name}" for name in re.findall(r"`(\w+)`", names) if name not in defined]
    assert missing == [], f"docs/FIDELITY.md cites what is not there: {missing}"
