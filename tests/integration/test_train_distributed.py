"""The training entry point as 2 processes (DDP over gloo on CPU, launched by torchrun) and as 1,
on a tiny Llama-architecture model built from a config: the effective batch is the configured one
in both, read from the Trainer's own log, and rank 0 alone writes the model and the manifest.

On GPUs the train rule launches the same entry point through `accelerate launch` (measured here:
`accelerate launch --cpu --num_processes 2` starts a single process, so CPU uses torchrun)."""
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from selfalign.config import REPO_ROOT

pytestmark = pytest.mark.integration
pytest.importorskip("transformers")
torch = pytest.importorskip("torch")

HF_TOTAL = re.compile(r"Total train batch size \(w\. parallel, distributed & accumulation\) = (\d+)")
HF_ACCUM = re.compile(r"Gradient Accumulation steps = (\d+)")


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    sys.path.insert(0, str(REPO_ROOT / "bench"))
    from gpu_train_check import build_tokenizer
    from transformers import LlamaConfig, LlamaForCausalLM

    from selfalign.config import resolve
    from selfalign.prompts import load_fewshot
    from selfalign.records import SFTExample, write_jsonl_atomic

    root = tmp_path_factory.mktemp("dist")
    shots = load_fewshot()
    model_dir = root / "tiny-llama"
    tok = build_tokenizer([s.instruction + "\n" + s.response for s in shots] * 2, model_dir)
    config = LlamaConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=512,
                         pad_token_id=tok.pad_token_id, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                         attention_dropout=0.1)
    torch.manual_seed(0)
    LlamaForCausalLM(config).save_pretrained(model_dir)
    sheet = root / "models.tsv"
    sheet.write_text("name\tfamily\tsize_b\tbackend\tweights\tsha256\tgpus\tcontext\tbase_model\tlicense\tnotes\n"
                     f"tiny-llama\tllama3\t0.0001\tvllm\tpath:{model_dir}\t\t1\t512\tyes\t-\tbuilt by the test\n")
    sft = root / "sft.jsonl"
    write_jsonl_atomic(sft, [SFTExample(id=s.id, instruction=s.instruction, response=s.response, response_id="-",
                                        seed_id="-", concepts=s.concepts, category=s.category, difficulty=s.difficulty,
                                        verdict="pass") for s in shots[:16]])
    cfg = resolve({"model": "tiny-llama", "models_sheet": str(sheet), "cache_dir": str(root / "cache"), "seed": 3,
                   "train": {"method": "full", "epochs": 1, "batch_size": 2, "effective_batch_size": 8,
                             "learning_rate": 1e-3, "optimizer": "adamw", "precision": "fp32", "max_length": 256,
                             "save_steps": 100}})
    (root / "cfg.json").write_text(json.dumps(cfg))
    return root


def run(root: Path, out: str, launcher: list[str]) -> tuple[subprocess.CompletedProcess, dict]:
    env = dict(os.environ, OMP_NUM_THREADS="1", TOKENIZERS_PARALLELISM="false")
    cmd = launcher + ["-m", "selfalign", "train", "--config", str(root / "cfg.json"), "--sft", str(root / "sft.jsonl"),
                      "--out", str(root / out), "--threads", "1"]
    p = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO_ROOT, env=env, timeout=600)
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-4000:]
    return p, json.loads((root / out / "train_manifest.json").read_text())


def test_two_processes_keep_the_effective_batch(setup):
    p, m = run(setup, "two", [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"])
    log = p.stdout + p.stderr
    # the Trainer's own arithmetic: per device 2 x 2 processes x 2 accumulation steps
    assert HF_TOTAL.findall(log) == ["8"] and HF_ACCUM.findall(log) == ["2"], log[-3000:]
    assert "effective batch 8 = 2 per device x 2 process(es) x 2 accumulation steps" in log
    assert (m["world_size"], m["gradient_accumulation"], m["effective_batch_size"]) == (2, 2, 8)
    assert m["distributed"] == "ddp" and m["steps"] == 2          # 16 examples / 8 per optimizer step
    assert m["dropout"] == {"attention_dropout": 0.0}
    assert len(re.findall(r"train: \d+ steps", log)) == 1            # rank 0 alone reports
    assert (setup / "two" / "hf" / "config.json").exists() and (setup / "two" / "hf" / "tokenizer.json").exists()
    from transformers import AutoModelForCausalLM
    AutoModelForCausalLM.from_pretrained(setup / "two" / "hf")     # one loadable checkpoint


def test_one_process_same_entry_point_same_effective_batch(setup):
    p, m = run(setup, "one", [sys.executable])
    log = p.stdout + p.stderr
    assert HF_TOTAL.findall(log) == ["8"] and HF_ACCUM.findall(log) == ["4"], log[-3000:]
    assert (m["world_size"], m["gradient_accumulation"], m["effective_batch_size"], m["steps"]) == (1, 4, 8, 2)
    assert m["distributed"] == "none"


def test_an_indivisible_batch_is_refused_before_training(setup):
    cfg = json.loads((setup / "cfg.json").read_text())
    cfg["train"]["batch_size"] = 3
    (setup / "bad.json").write_text(json.dumps(cfg))
    p = subprocess.run([sys.executable, "-m", "selfalign", "train", "--config", str(setup / "bad.json"),
                        "--sft", str(setup / "sft.jsonl"), "--out", str(setup / "bad")],
                       capture_output=True, text=True, cwd=REPO_ROOT, timeout=300)
    assert p.returncode == 2
    assert "train.effective_batch_size=8 is not a multiple of train.batch_size=3 × 1 process(es) = 3" in p.stderr


def test_lora_on_an_hf_model_exports_one_merged_checkpoint(setup, monkeypatch):
    from selfalign.train import train
    for var in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):
        monkeypatch.delenv(var, raising=False)
    cfg = json.loads((setup / "cfg.json").read_text())
    cfg["train"].update(method="lora", lora_targets=["q_proj", "v_proj"], max_steps=1)
    m = train(cfg, setup / "sft.jsonl", setup / "lora")
    assert m["method"] == "lora" and m["steps"] == 1 and m["gradient_accumulation"] == 4
    from transformers import AutoModelForCausalLM
    merged = AutoModelForCausalLM.from_pretrained(setup / "lora" / "hf")
    assert not any("lora" in n for n, _ in merged.named_parameters())


def test_checkpoints_go_after_the_final_save_unless_kept_and_checkpointing_is_the_plans(setup, monkeypatch):
    """Checkpoints (train.save_steps) are a resume point while training runs; once the final model
    is saved they are deleted (train.keep_checkpoints: false) or kept. --activation-checkpointing,
    the plan's choice, turns on the Trainer's gradient checkpointing for the whole run."""
    for var in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):
        monkeypatch.delenv(var, raising=False)
    cfg = json.loads((setup / "cfg.json").read_text())
    cfg["train"].update(save_steps=1, max_steps=2)
    for keep in (False, True):
        cfg["train"]["keep_checkpoints"] = keep
        name = f"ckpt-{keep}"
        (setup / f"{name}.json").write_text(json.dumps(cfg))
        env = dict(os.environ, OMP_NUM_THREADS="1", CUDA_VISIBLE_DEVICES="")
        p = subprocess.run([sys.executable, "-m", "selfalign", "train", "--config", str(setup / f"{name}.json"),
                            "--sft", str(setup / "sft.jsonl"), "--out", str(setup / name), "--threads", "1"]
                           + ([] if keep else ["--activation-checkpointing"]), capture_output=True, text=True,
                           cwd=REPO_ROOT, env=env, timeout=600)
        assert p.returncode == 0, p.stderr[-3000:]
        m = json.loads((setup / name / "train_manifest.json").read_text())
        ckpts = setup / ".work" / name / "checkpoints"
        assert m["steps"] == 2 and m["activation_checkpointing"] is (not keep) and m["world_size"] == 1
        if keep:
            assert sorted(c.name for c in ckpts.iterdir()) == ["checkpoint-1", "checkpoint-2"] and m["checkpoints"] == str(ckpts)
        else:
            assert not ckpts.exists() and m["checkpoints"] == "deleted after the final save"
        assert (setup / name / "hf" / "config.json").exists()
