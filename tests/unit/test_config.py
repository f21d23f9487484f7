import json

import pytest

from selfalign import config as C
from selfalign.config import load_schema


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
    for name in ("config.yaml", "ci.yaml", "paper.yaml", "cpu-qwen.yaml", "cpu-self.yaml", "cpu-replication.yaml"):
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


# -------------------------------------------------------------------- stage configs and the schema
def _set(cfg: dict, dotted: str, value) -> dict:
    import copy
    out = copy.deepcopy(cfg)
    node = out
    *parents, key = dotted.split(".")
    for p in parents:
        node = node[p]
    node[key] = value
    return out


def test_every_top_level_key_says_which_stages_read_it():
    schema = load_schema()
    unsaid = [k for k, sub in schema["properties"].items() if "stages" not in sub]
    assert unsaid == [], f"give these keys a `stages:` annotation in config/schema.yaml: {unsaid}"
    bad = {"properties": {"x": {"stages": ["nope"]}}}
    with pytest.raises(C.ConfigError, match=r"x: stages: 'nope' is not a stage"):
        C.stage_sections(bad)


def test_a_key_changes_the_config_name_of_exactly_the_stages_annotated_for_it():
    """Perturb every key of the schema that holds a value: the stages whose config file name
    changes are those its `stages:` or a section's above it names, and the paper (it reads
    everything); no other."""
    schema, cfg = load_schema(), C.resolve({})
    before = {s: C.stage_key(cfg, s) for s in C.STAGES}
    checked = 0

    def walk(node, prefix, inherited):
        nonlocal checked
        for key, sub in (node.get("properties") or {}).items():
            path, stages = prefix + key, inherited | set(sub.get("stages", []))
            if "properties" in sub:
                walk(sub, path + ".", stages)
            elif path not in ("model", "seed", "experiment"):   # model, seed: in every name; experiment: the folder
                after = {s: C.stage_key(_set(cfg, path, "__changed__"), s) for s in C.STAGES}
                changed = {s for s in C.STAGES if after[s] != before[s]}
                assert changed == stages | {"paper"}, (path, changed, stages)
                checked += 1

    walk(schema, "", set())
    assert checked > 150, checked
    for key in ("model", "seed"):
        after = {s: C.stage_key(_set(cfg, key, "__changed__"), s) for s in C.STAGES}
        assert all(after[s] != before[s] for s in C.STAGES), key


def test_the_stages_read_what_the_pipeline_relies_on():
    s = C.STAGE_SECTIONS
    assert "sandbox" in s["execute"] and "sandbox" in s["evaluate"] and "sandbox" not in s["select"]
    assert {"seeds.decontamination", "evaluate.data", "generate.fewshot"} <= set(s["select"])
    assert "teacher" in s["seeds"] and "select" not in s["train"] and "train" not in s["evaluate"]


def test_stage_config_paths_write_nothing_and_a_written_config_must_match_its_name(tmp_path):
    cfg = C.resolve({})
    path = C.stage_config_path(cfg, "select", tmp_path)
    assert not tmp_path.joinpath(cfg["experiment"]).exists()
    assert path == tmp_path / "selfalign" / "gemma3-270m" / f"select-{C.stage_key(cfg, 'select')}.json"
    C.write_stage_config(cfg, "select", path)
    assert json.loads(path.read_text()) == cfg
    other = _set(cfg, "select.mode", "random")
    with pytest.raises(C.ConfigError, match="the name does not match"):
        C.write_stage_config(other, "select", path)


def test_the_model_wildcard_is_the_experiments_model():
    import re

    from selfalign.workflow import Workflow
    w = Workflow({"ablations": {"t": {"teacher": "qwen2.5-coder-0.5b-instruct"}}})
    data, trained = w.model_constraint("data"), w.model_constraint("trained")

    def match(constraint, path):
        return re.fullmatch(rf"results/(?P<e>[A-Za-z0-9_.-]+)/(?P<m>{constraint})/seeds\.jsonl", path) is not None

    assert match(data, "results/selfalign/gemma3-270m/seeds.jsonl")
    assert match(data, "results/t/qwen2.5-coder-0.5b-instruct/seeds.jsonl")
    assert not match(data, "results/t/gemma3-270m/seeds.jsonl")            # t's data is the teacher's
    assert not match(data, "results/other-run/gemma3-270m/seeds.jsonl")    # not an experiment of this config
    assert match(trained, "results/t/gemma3-270m/seeds.jsonl") and not match(trained, "results/t/qwen2.5-coder-0.5b-instruct/seeds.jsonl")
    # _base/{model}: the job runs with that model's config
    assert "/qwen2.5-coder-0.5b-instruct/" in w.stage_config("selfalign", "evaluate", "qwen2.5-coder-0.5b-instruct", "any")
    assert w.stage_config("selfalign", "evaluate", "gemma3-270m", "any") == w.stage_config("selfalign", "evaluate")


def test_threads_are_what_a_job_can_use():
    from selfalign.workflow import Workflow
    w = Workflow({"shards": {"generate": 3}, "ablations": {"copy": {"seeds": {"file": "elsewhere/seeds.jsonl"}},
                                                           "served": {"backend": {"base_url": "http://x/v1"}}}})
    assert w.threads("selfalign", "responses", 8) == 1             # sharded: the rule only joins
    assert w.threads("selfalign", "generate", 8) == 8              # a shard decodes with llama.cpp
    assert w.threads("selfalign", "execute", 8) == 8 and w.threads("selfalign", "train", 8) == 8
    assert w.threads("copy", "seeds", 8) == 1 and w.threads("selfalign", "seeds", 8) == 8
    assert w.threads("served", "generate", 8) == 1 and w.threads("served", "evaluate", 8) == 1
    assert w.seeds_file("copy") == ["elsewhere/seeds.jsonl"] and w.seeds_file("selfalign") == []
