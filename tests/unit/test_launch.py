"""How the train rule launches training (selfalign/train/launch.py), the accelerate configs it names, and
gradient accumulation over processes. Nothing here runs on a GPU."""
import pytest

from selfalign.config import ConfigError, resolve
from selfalign.train.launch import ACCELERATE_DIR, plan, train_gpus
from selfalign.model import read_sheet
from selfalign.train import TrainError, grad_accumulation

SHEET = read_sheet()


def cfg(**train):
    return resolve({"train": {"method": "full", **train}})


def test_cpu_default_is_a_plain_process():
    c = resolve({"train": {"method": "lora"}})
    p = plan(c, SHEET["gemma3-270m"])
    assert (p.processes, p.strategy, p.accelerate_config) == (0, "cpu", None)
    assert p.command("/venv/bin/python") == "/venv/bin/python -m selfalign"


@pytest.mark.parametrize("model,processes,strategy", [
    ("starcoder2-3b", 1, "single"), ("starcoder2-7b", 1, "single"), ("codeqwen1.5-7b", 1, "single"),
    ("deepseek-coder-6.7b", 1, "single"), ("llama3-8b", 1, "single"),
    ("starcoder2-15b", 4, "fsdp"), ("deepseek-coder-33b", 8, "fsdp")])
def test_paper_models_from_the_sheet(model, processes, strategy):
    """The plan's counts on the default cluster (8 x 80 GB): the sheet's 2 and 4 GPUs cannot hold
    15B and 33B under FSDP's fp32 shards (tests/unit/test_plan.py), so the launch takes more."""
    p = plan(cfg(), SHEET[model])
    assert (p.processes, p.strategy) == (processes, strategy)
    cmd = p.command("python")
    assert cmd.startswith("python -m accelerate.commands.launch --config_file ")
    assert f"--num_processes {processes} -m selfalign" in cmd and str(p.accelerate_config) in cmd
    assert p.accelerate_config.exists()


def test_an_8_gpu_node_trains_a_7b_model_with_ddp_and_15b_with_fsdp():
    assert plan(cfg(gpus=8), SHEET["codeqwen1.5-7b"]).strategy == "ddp"
    assert plan(cfg(gpus=8), SHEET["starcoder2-15b"]).strategy == "fsdp"
    assert plan(cfg(gpus=8, distributed="fsdp"), SHEET["codeqwen1.5-7b"]).accelerate_config.name == "fsdp.yaml"
    off = plan(cfg(gpus=8, cpu_offload=True), SHEET["deepseek-coder-33b"])
    assert off.accelerate_config.name == "fsdp_offload.yaml" and off.processes == 8


def test_cpu_offload_without_fsdp_is_a_config_error():
    with pytest.raises(ConfigError, match="train.cpu_offload needs FSDP"):
        plan(cfg(cpu_offload=True), SHEET["codeqwen1.5-7b"])


def test_train_gpus_is_what_the_rule_reserves():
    assert train_gpus(cfg(), SHEET["deepseek-coder-33b"]) == 8
    assert plan(cfg(), SHEET["deepseek-coder-33b"]).train_command("py").endswith("-m selfalign train --activation-checkpointing")
    assert train_gpus(cfg(gpus=2), SHEET["starcoder2-3b"]) == 2
    assert train_gpus(cfg(gpus=8), SHEET["starcoder2-3b"]) == 8
    assert train_gpus(resolve({"train": {"method": "lora"}}), SHEET["gemma3-270m"]) == 0


def test_gradient_accumulation_divides_over_processes():
    assert grad_accumulation(64, 1, 1) == 64
    assert grad_accumulation(64, 1, 8) == 8           # 8 GPUs: 8 steps, not 64
    assert grad_accumulation(64, 2, 4) == 8
    with pytest.raises(TrainError, match=r"effective_batch_size=64 is not a multiple of train.batch_size=3 × 2"):
        grad_accumulation(64, 3, 2)
    with pytest.raises(TrainError, match="not a multiple"):
        grad_accumulation(2, 2, 2)


def test_accelerate_configs_parse_and_reach_the_launcher_as_meant():
    pytest.importorskip("accelerate")
    from accelerate.commands.config.config_args import load_config_from_file
    from accelerate.commands.launch import _validate_launch_command, launch_command_parser
    from accelerate.utils.launch import prepare_multi_gpu_env

    names = {p.stem for p in ACCELERATE_DIR.glob("*.yaml")}
    assert names == {"single_gpu", "multi_gpu", "fsdp", "fsdp_offload"}
    for n in names:
        load_config_from_file(str(ACCELERATE_DIR / f"{n}.yaml"))   # unknown keys raise
    for name, offload in (("fsdp", "false"), ("fsdp_offload", "true")):
        args = launch_command_parser().parse_args(
            ["--config_file", str(ACCELERATE_DIR / f"{name}.yaml"), "--num_processes", "4", "-m", "selfalign", "train"])
        args, _, _ = _validate_launch_command(args)
        assert args.use_fsdp and args.module and args.training_script == "selfalign" and args.num_processes == 4
        env = prepare_multi_gpu_env(args)
        assert env["ACCELERATE_USE_FSDP"] == "true" and env["FSDP_SHARDING_STRATEGY"] == "FULL_SHARD"
        assert env["FSDP_OFFLOAD_PARAMS"] == offload and env["FSDP_STATE_DICT_TYPE"] == "SHARDED_STATE_DICT"
        assert env["FSDP_AUTO_WRAP_POLICY"] == "TRANSFORMER_BASED_WRAP"
        assert args.main_process_port != 0            # port 0 in the file: a free port is picked
    args = launch_command_parser().parse_args(
        ["--config_file", str(ACCELERATE_DIR / "multi_gpu.yaml"), "--num_processes", "8", "-m", "selfalign"])
    args, _, _ = _validate_launch_command(args)
    assert args.multi_gpu and not args.use_fsdp and args.num_processes == 8
