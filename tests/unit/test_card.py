import json

from selfalign.report.card import export_dataset
from selfalign.config import resolve
from selfalign.records import SFTExample, Seed, write_jsonl_atomic


def test_export_loads_with_datasets_and_card_describes_it(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    cfg = resolve({})
    write_jsonl_atomic(tmp_path / "seeds.jsonl", [Seed(id="s1", seed="def f(x):\n    return x", docstring="d",
                                                       source="a.py", lines=(1, 2))])
    write_jsonl_atomic(tmp_path / "sft.jsonl", [SFTExample(id="i1", instruction="Do.", response="Done.", response_id="i1-r0",
                                                           seed_id="s1", concepts=["c"], category="function",
                                                           difficulty="easy", verdict="pass")])
    (tmp_path / "funnel.json").write_text(json.dumps({"steps": [{"stage": "select", "step": "sft", "kept": 1, "dropped": 0}]}))
    export_dataset(cfg, tmp_path / "sft.jsonl", tmp_path / "seeds.jsonl", tmp_path / "funnel.json", tmp_path / "dataset")
    from datasets import load_dataset
    ds = load_dataset("json", data_files=str(tmp_path / "dataset" / "data.jsonl"), split="train",
                      cache_dir=str(tmp_path / "cache"))
    assert ds.num_rows == 1
    assert {"id", "seed", "concepts", "instruction", "response"} <= set(ds.column_names)
    assert ds[0]["seed"].startswith("def f")
    card = (tmp_path / "dataset" / "README.md").read_text()
    assert "**Examples**: 1" in card and "gemma3-270m" in card and "Config hash" in card and "Licence note" in card
