import pytest

from selfalign import config as C


def test_defaults_fill_every_key(cfg):
    assert cfg["seeds"]["dedup"]["threshold"] == 0.5
    assert cfg["generate"]["responses"]["n"] == 10
    assert cfg["sandbox"]["timeout_s"] == 10
    assert cfg["select"]["fewshot_copy"]["enabled"] is False  # ours, off by default (official); CPU config on


def test_every_schema_key_has_description_and_default():
    schema = C.load_schema()

    def walk(node, path):
        for key, sub in node.get("properties", {}).items():
            p = f"{path}.{key}" if path else key
            assert "description" in sub, f"{p} has no description"
            parent_default_covers = "default" in node and isinstance(node["default"], dict) and key in node["default"]
            assert "default" in sub or parent_default_covers, f"{p} has no default"
            walk(sub, p)
    walk(schema, "")


def test_unknown_key_is_named():
    with pytest.raises(C.ConfigError, match=r"unknown key seeds\.colour"):
        C.resolve({"seeds": {"colour": 1}})


def test_wrong_type_names_key_and_type():
    with pytest.raises(C.ConfigError, match=r"seeds\.count: expected integer, got str"):
        C.resolve({"seeds": {"count": "many"}})


def test_enum_lists_allowed_values():
    with pytest.raises(C.ConfigError, match=r'select\.mode: "best" is not allowed \(allowed: "pass", "random", "fail"\)'):
        C.resolve({"select": {"mode": "best"}})


def test_malformed_yaml_names_line(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("seeds:\n  count: [1,\n  pool: 3\n")
    with pytest.raises(C.ConfigError, match=r"bad\.yaml: line \d+.*malformed YAML"):
        C.load(p)


def test_missing_file(tmp_path):
    with pytest.raises(C.ConfigError, match="config file not found"):
        C.load(tmp_path / "nope.yaml")


def test_ablations_resolve_and_stage_paths_differ_only_where_needed(tmp_path):
    cfg = C.resolve({"ablations": {"random": {"select": {"mode": "random"}}}})
    exps = C.experiment_configs(cfg)
    assert set(exps) == {"selfalign", "random"}
    assert exps["random"]["select"]["mode"] == "random"
    # generation does not read select: same hash; selection does: different hash
    gen = [C.stage_config_path(exps[e], "responses", tmp_path).name for e in exps]
    sel = [C.stage_config_path(exps[e], "select", tmp_path).name for e in exps]
    assert gen[0] == gen[1] and sel[0] != sel[1]


def test_bad_ablation_override_is_named():
    with pytest.raises(C.ConfigError, match=r"ablations\.x: .*select\.mode"):
        C.experiment_configs(C.resolve({"ablations": {"x": {"select": {"mode": "nope"}}}}))


def test_shipped_configs_are_valid():
    for name in ("config.yaml", "ci.yaml", "paper.yaml", "cpu-qwen.yaml"):
        path = C.REPO_ROOT / "config" / name
        if path.exists():
            C.experiment_configs(C.load(path))


def test_ablations_share_only_unchanged_upstream():
    from selfalign.workflow import Workflow
    w = Workflow({"ablations": {"n4": {"generate": {"responses": {"n": 4}}},
                                "direct": {"generate": {"seed_path": "direct"}},
                                "random": {"select": {"mode": "random"}}}})
    assert w.source("n4", "instructions") == "selfalign" and w.source("n4", "responses") == "n4"
    assert w.source("n4", "execute") == "n4"
    assert w.source("direct", "seeds") == "selfalign" and w.source("direct", "instructions") == "direct"
    assert all(w.source("random", s) == "selfalign" for s in ("seeds", "concepts", "instructions", "responses", "execute"))
    assert w.data("random", "m", "execute") == "results/selfalign/m/executions.jsonl"
