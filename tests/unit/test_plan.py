"""The plan (selfalign/plan/): parameter counts from the models' config.json fields against
transformers, the memory model's FSDP terms, what fits on 8 x 80 GB and on 2 x 40 GB, and that the
train launch and the rules' resources are the plan's. Nothing here runs a model."""
import json
import subprocess
import sys

import pytest

from selfalign.config import REPO_ROOT, deep_merge, read_yaml, resolve
from selfalign.model import read_sheet
from selfalign.plan import Cluster, arch_for, run_plan, train_plan
from selfalign.plan.arch import CONFIGS
from selfalign.plan.memory import GIB, train_memory

SHEET = read_sheet()
PAPER = resolve(deep_merge(read_yaml(REPO_ROOT / "config/config.yaml"), read_yaml(REPO_ROOT / "config/paper.yaml")))
PAPER_MODELS = [m for m, s in SHEET.items() if s.backend == "vllm"]


def plan_cli(*args):
    return subprocess.run([sys.executable, "-m", "selfalign", "plan", "--configfile", "config/config.yaml",
                           "config/paper.yaml", *args], capture_output=True, text=True, cwd=REPO_ROOT, timeout=120)


@pytest.mark.parametrize("name", list(SHEET))
def test_parameter_counts_are_transformers_own_and_the_model_cards(name):
    """Our count from the copied config.json fields equals the parameters transformers builds from
    the same fields (on the meta device: no memory), and the model card's published size."""
    torch = pytest.importorskip("torch")
    from transformers import AutoConfig, AutoModelForCausalLM

    entry = json.loads(CONFIGS.read_text())[name]
    fields = dict(entry["config"])
    conf = AutoConfig.for_model(fields.pop("model_type"), **fields)
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(conf)
    arch = arch_for(SHEET[name])
    assert arch.params() == sum(p.numel() for p in model.parameters())
    assert arch.params() / 1e9 == pytest.approx(entry["published_params_b"], rel=0.01)
    assert arch.layer_params() * arch.layers + arch.embedding_params() == arch.params()


def test_fsdp_keeps_fp32_shards_as_accelerate_upcasts_them():
    """accelerate 1.15 upcasts FSDP1 flat parameters to fp32 under mixed precision, and Adafactor
    cannot factor the 1-D shards: 12 bytes a parameter over the GPUs, before any activation. The
    issue's figures: ~89 GiB per GPU for StarCoder2-15B on 2 GPUs, ~93 GiB for DeepSeek-Coder-33B on 4."""
    for name, n, gib in (("starcoder2-15b", 2, 89), ("deepseek-coder-33b", 4, 93)):
        est = train_memory(arch_for(SHEET[name]), strategy="fsdp", processes=n, precision="bf16", method="full",
                           seq=1280, batch=1, checkpointing=True)
        static = sum(v for k, v in est.resident.items() if "shard" in k or k == "optimizer")
        assert static / GIB == pytest.approx(gib, abs=1)
        assert est.gib() > 80                      # the sheet's GPU counts cannot hold them


def test_every_paper_job_fits_one_8x80_node():
    plans = run_plan(PAPER, Cluster.from_cfg(PAPER, 80, 8), PAPER_MODELS)
    assert {(p.job, p.model) for p in plans} >= {(j, m) for j in ("generate", "train", "evaluate") for m in PAPER_MODELS}
    assert [p for p in plans if not p.fits] == []
    train = {p.model: p for p in plans if p.job == "train"}
    assert (train["starcoder2-15b"].gpus, train["starcoder2-15b"].strategy) == (4, "fsdp")
    assert (train["deepseek-coder-33b"].gpus, train["deepseek-coder-33b"].checkpointing) == (8, True)   # marginal without
    assert (train["codeqwen1.5-7b"].gpus, train["codeqwen1.5-7b"].strategy) == (1, "single")
    out = plan_cli("--models", "all")
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    assert "| train | deepseek-coder-33b | 8 | - | fsdp | yes |" in out.stdout and "DOES NOT FIT" not in out.stdout


def test_33b_training_is_refused_on_2x40_with_the_knobs_and_planned_with_offload():
    cluster = Cluster.from_cfg(PAPER, 40, 2)
    p = train_plan({**PAPER, "model": "deepseek-coder-33b"}, SHEET["deepseek-coder-33b"], cluster)
    assert not p.fits and p.gpus == 2 and p.checkpointing
    assert "more GPUs: FSDP over 16 fits" in p.reason and "train.cpu_offload: true" in p.reason
    off = {**PAPER, "model": "deepseek-coder-33b", "train": {**PAPER["train"], "cpu_offload": True, "distributed": "fsdp"}}
    q = train_plan(off, SHEET["deepseek-coder-33b"], cluster)
    assert q.fits and q.offload and q.gpu_gib < 36 and q.host_gib > 12 * 33.3e9 / GIB   # the fp32 state moves to RAM
    out = plan_cli("--gpu-mem-gb", "40", "--gpus-per-node", "2", "--models", "deepseek-coder-33b")
    assert out.returncode == 1
    assert "DOES NOT FIT: train deepseek-coder-33b: needs" in out.stdout and "CPU offload" in out.stdout
    # host RAM is checked when the node's is given
    q = train_plan(off, SHEET["deepseek-coder-33b"], Cluster(40, 2, 0.9, 8, 256, PAPER["cluster"]["runtime_min"]))
    assert not q.fits and q.reason.startswith("host RAM: needs")


def test_the_train_launch_and_the_rule_resources_are_the_plan():
    from selfalign.workflow import Workflow

    w = Workflow(deep_merge(read_yaml(REPO_ROOT / "config/paper.yaml"),
                            {"model": "deepseek-coder-33b", "ablations": {}, "evaluate": {"require_data": False}}))
    job = w.plan("selfalign", "train")
    cmd = w.train_launch("selfalign", "python")
    assert f"--num_processes {job.gpus} -m selfalign train --activation-checkpointing" in cmd and "fsdp.yaml" in cmd
    res = w.resources("train")

    class WC:
        experiment = "selfalign"
    assert res["gpu"](WC) == 8 == w.gpus("selfalign", "train")
    assert res["mem_mb"](WC) == job.mem_mb > 150_000          # rank 0 gathers the fp32 state dict
    assert res["runtime"](WC) == PAPER["cluster"]["runtime_min"]["train"]
    assert res["cpus_per_task"](WC, 2) == 8 * PAPER["cluster"]["cpus_per_gpu"]
    assert (res["tasks_per_gpu"], res["nodes"]) == (0, 1)     # one task sees every GPU (plugin issue 459)
    gen = w.resources("generate")
    assert gen["gpu"](WC) == 4 and gen["mem_mb"](WC) == w.plan("selfalign", "generate").mem_mb
    joins = w.resources("generate", gather="responses")      # shards.generate 8: its job joins the shards
    assert (joins["gpu"](WC), joins["mem_mb"](WC), joins["cpus_per_task"](WC, 1)) == (0, 2000, 1)


def test_a_training_that_cannot_fit_stops_the_workflow_with_the_reason():
    from selfalign.workflow import Workflow

    w = Workflow(deep_merge(read_yaml(REPO_ROOT / "config/paper.yaml"),
                            {"model": "deepseek-coder-33b", "ablations": {}, "evaluate": {"require_data": False},
                             "cluster": {"gpu_mem_gb": 40, "gpus_per_node": 2}}))
    with pytest.raises(SystemExit, match="the training of deepseek-coder-33b does not fit: needs .* knobs: "):
        w.train_launch("selfalign", "python")


def test_cpu_default_plans_a_plain_process_with_the_old_memory():
    from selfalign.workflow import Workflow

    w = Workflow(read_yaml(REPO_ROOT / "config/config.yaml"))
    assert w.train_launch(w.main, "py") == "py -m selfalign train"

    class WC:
        experiment = w.main
    assert w.resources("train")["gpu"](WC) == 0 and w.resources("generate")["mem_mb"](WC) == 3000
    assert w.resources("train")["cpus_per_task"](WC, 2) == 2


def test_vllm_tensor_parallel_beyond_the_node_names_the_alternative():
    p = [j for j in run_plan(PAPER, Cluster.from_cfg(PAPER, 40, 2), ["deepseek-coder-33b"]) if j.job == "evaluate"][0]
    assert not p.fits and "needs 4 GPUs in one node" in p.reason and "with tensor parallel 2" in p.reason
