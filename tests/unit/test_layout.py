"""The layout docs/ARCHITECTURE.md promises: a rule file per stage beside its selfalign module or
package, a row per rule naming files that exist, and no import cycle between packages."""
import ast
import re

from selfalign.config import REPO_ROOT

DOC = (REPO_ROOT / "docs" / "ARCHITECTURE.md").read_text()


def rules():
    out = {}
    for smk in sorted((REPO_ROOT / "rules").glob("*.smk")):
        for name in re.findall(r"^rule (\w+):", smk.read_text(), re.M):
            out[name] = smk.name
    return out


def test_each_rule_file_is_a_stage_of_selfalign():
    for smk in (REPO_ROOT / "rules").glob("*.smk"):
        stage = smk.stem
        assert (REPO_ROOT / "selfalign" / f"{stage}.py").exists() or (REPO_ROOT / "selfalign" / stage).is_dir(), stage


def test_the_architecture_table_names_every_rule_with_files_that_exist():
    rows = [ln for ln in DOC.splitlines() if ln.startswith("| ") and not ln.startswith("| rule")]
    listed = {}
    for ln in rows:
        names, smk, logic = (c.strip() for c in ln.strip("|").split("|"))
        for name in names.split(", "):
            listed[name] = smk
        for path in re.findall(r"`(selfalign/[\w/.]+?)(?:::\w+)?`", logic):
            assert (REPO_ROOT / path).exists(), path
    assert listed == {name: smk for name, smk in rules().items() if name != "all"}


def test_packages_import_one_another_without_a_cycle():
    root = REPO_ROOT / "selfalign"
    edges: dict[str, set[str]] = {}
    for p in root.rglob("*.py"):
        parts = p.relative_to(REPO_ROOT).with_suffix("").parts
        mod = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        pkg = mod if p.name == "__init__.py" else mod.rsplit(".", 1)[0]
        for n in ast.walk(ast.parse(p.read_text())):
            if isinstance(n, ast.ImportFrom) and n.level:
                base = pkg.split(".")[: len(pkg.split(".")) - (n.level - 1)]
                targets = [base + n.module.split(".")] if n.module else [base + [a.name] for a in n.names]
                for target in targets:
                    a, b = ".".join(mod.split(".")[:2]), ".".join(target[:2])
                    if a != b and b != "selfalign":   # (a name defined in selfalign/__init__.py)
                        edges.setdefault(a, set()).add(b)

    def reaches(u, goal, seen):
        return any(v == goal or (v not in seen and reaches(v, goal, seen | {v})) for v in edges.get(u, ()))

    cycles = sorted(u for u in edges if reaches(u, u, {u}))
    assert cycles == [], cycles


def test_test_modules_have_unique_basenames():
    # The test directories are not packages, so pytest imports each file by its basename: two
    # files of one name in different directories stop collection ("import file mismatch").
    names = {}
    for path in sorted((REPO_ROOT / "tests").rglob("test_*.py")):
        names.setdefault(path.name, []).append(str(path.relative_to(REPO_ROOT)))
    assert {n: p for n, p in names.items() if len(p) > 1} == {}


def test_model_bound_test_files_exist():
    """tests/conftest.py's MODEL_BOUND list keeps the model-bound tests on one xdist worker: a
    renamed file would silently run beside another model run."""
    from conftest import MODEL_BOUND
    assert all((REPO_ROOT / "tests" / rel).is_file() for rel in MODEL_BOUND)
