"""Every shipped config gives a complete DAG in a dry run."""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from selfalign.config import REPO_ROOT

pytestmark = pytest.mark.workflow
SNAKEMAKE = str(Path(sys.executable).parent / "snakemake")


def dry(*extra):
    return subprocess.run([SNAKEMAKE, "-n", "--cores", "all", *extra], capture_output=True, text=True, cwd=REPO_ROOT,
                          timeout=300)


def jobs(out: str) -> dict:
    table = out.split("Job stats:")[1].split("total")[0]
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.M)}


@pytest.mark.parametrize("configfile", ["config/config.yaml", "config/ci.yaml", "config/cpu-self.yaml",
                                        "config/cpu-self.yaml config/cpu-qwen.yaml"])
def test_cpu_configs_dry_run(configfile, tmp_path):
    extra = []
    if configfile.endswith("cpu-qwen.yaml"):   # it takes cpu-self's seeds: there they are
        seeds = tmp_path / "cpu-self-run" / "seeds.jsonl"
        seeds.parent.mkdir()
        seeds.write_text("")
        extra = [f"seeds={{file: {seeds}}}"]
    out = dry("--configfile", *configfile.split(), "--config", f"results_dir={tmp_path}/results", *extra)
    assert out.returncode == 0, out.stderr[-2000:]
    j = jobs(out.stdout)
    for rule in ("seeds", "concepts", "instructions", "responses", "execute", "select", "train", "eval_generate_base",
                 "eval_score_base", "eval_generate_sft", "eval_score_sft", "paper", "dataset_card"):
        assert j.get(rule) == 1, (rule, j)


def test_another_runs_seeds_are_an_input_that_must_exist(tmp_path):
    """seeds.file naming another run's seeds.jsonl: no rule of this config makes it again (its
    {model} is not this experiment's generator), so a dry run without it names the file."""
    out = dry("--configfile", "config/cpu-self.yaml", "config/cpu-qwen.yaml", "--config", f"results_dir={tmp_path}/results",
              f"seeds={{file: {tmp_path}/results/cpu-self/gemma3-270m/seeds.jsonl}}")
    assert out.returncode != 0
    assert "Missing input files for rule seeds" in out.stderr + out.stdout
    assert f"{tmp_path}/results/cpu-self/gemma3-270m/seeds.jsonl" in out.stderr + out.stdout


def test_a_model_that_is_not_the_experiments_has_no_rule(tmp_path):
    out = dry("--configfile", "config/ci.yaml", "--config", f"results_dir={tmp_path}/results", "--",
              f"{tmp_path}/results/ci/qwen2.5-coder-0.5b-instruct/seeds.jsonl")
    assert out.returncode != 0 and "MissingRuleException" in out.stderr + out.stdout


def test_a_dry_run_writes_no_config_file(tmp_path):
    out = dry("--configfile", "config/ci.yaml", "--config", f"results_dir={tmp_path}/results")
    assert out.returncode == 0, out.stderr[-2000:]
    assert jobs(out.stdout)["stage_config"] == 10        # written by jobs, one a stage config
    assert not (tmp_path / "results").exists()


def test_paper_config_without_its_benchmark_data_is_refused_before_any_job(tmp_path):
    """evaluate.require_data (config/paper.yaml): no job starts without every benchmark's data."""
    out = dry("--configfile", "config/paper.yaml", "--config", f"results_dir={tmp_path}/results")
    assert out.returncode != 0
    err = out.stderr + out.stdout
    assert "evaluate.require_data: benchmark data missing: " in err and "python -m selfalign data fetch" in err
    assert "humaneval_plus (data/HumanEvalPlus-v0.1.10.jsonl.gz)" in err and "Job stats" not in err


def test_paper_config_dry_run_has_every_ablation(tmp_path):
    nodata = tmp_path / "nodata.yaml"          # the DAG's shape, without fetching the releases
    nodata.write_text("evaluate: {require_data: false}\n")
    out = dry("--configfile", "config/paper.yaml", str(nodata), "--config", f"results_dir={tmp_path}/results")
    assert out.returncode == 0, out.stderr[-2000:]
    j = jobs(out.stdout)
    # main + 6 ablations of its own (2 selection, S->I, random snippets, 2 sample counts) + 5 teachers
    # (codeqwen1.5-7b teaching itself is self-alignment at the teacher learning rate)
    assert j["train"] == 12 and j["select"] == 12
    assert j["eval_generate_sft"] == j["eval_score_sft"] == 12 * 8
    assert j["eval_generate_base"] == j["eval_score_base"] == 8
    # shared upstream: the selection ablations reuse the main run's data; S->I shares only the seeds,
    # random snippets nothing; the sample counts share the instructions; each other teacher
    # generates its own data (seeds judged by it, too) with its own weights
    assert j["seeds"] == 6 and j["concepts"] == 6 and j["model"] == 5
    assert j["instructions"] == 7 and j["responses"] == j["execute"] == 9
    # scatter/gather: 8 shards per generation stage, 4 per execution stage
    assert j["generate_shard"] == 8 * (6 + 7 + 9) and j["execute_shard"] == 4 * 9
    assert "results/teacher-starcoder2-15b/starcoder2-15b/instructions.jsonl" in out.stdout
    assert "results/teacher-starcoder2-15b/codeqwen1.5-7b/sft_model" in out.stdout


def test_sharded_cpu_dry_run(tmp_path):
    overlay = tmp_path / "shards.yaml"
    overlay.write_text("shards: {generate: 3, execute: 2}\n")
    out = dry("--configfile", "config/ci.yaml", str(overlay), "--config", f"results_dir={tmp_path}/results")
    assert out.returncode == 0, out.stderr[-2000:]
    j = jobs(out.stdout)
    assert j["generate_shard"] == 9 and j["execute_shard"] == 2 and j["responses"] == 1


def test_bad_config_fails_with_one_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("select: {mode: best}\n")
    out = dry("--configfile", str(bad))
    assert out.returncode != 0
    assert 'select.mode: "best" is not allowed' in out.stderr + out.stdout


def test_a_config_change_reruns_exactly_the_stages_that_read_it(tmp_path):
    """The stage configs are written by their jobs (run here for real: cheap), every other output is
    marked up to date (--touch); then a dry run re-runs exactly the stages a changed key is
    annotated for in config/schema.yaml, and their downstream, and nothing with no change."""
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))     # the jobs import this checkout

    def sm(*args):
        return subprocess.run([SNAKEMAKE, "-s", str(REPO_ROOT / "Snakefile"), "-d", str(tmp_path), "--cores", "1",
                               "--configfile", str(REPO_ROOT / "config" / "ci.yaml"), *args],
                              capture_output=True, text=True, cwd=tmp_path, env=env, timeout=300)

    out = sm("--until", "stage_config")
    assert out.returncode == 0, out.stderr[-2000:]
    configs = sorted(p.name for p in (tmp_path / "results" / "_config" / "ci" / "gemma3-270m").glob("*.json"))
    assert [c.split("-")[0] for c in configs] == ["concepts", "evaluate", "execute", "instructions", "model", "paper",
                                                 "responses", "seeds", "select", "train"], configs
    listing = sm("-n", "--summary")
    for line in listing.stdout.splitlines()[1:]:
        f = tmp_path / line.split("\t")[0]
        if f.name == "sft_model":
            f.mkdir(parents=True, exist_ok=True)
        elif not f.exists():
            f.parent.mkdir(parents=True, exist_ok=True)
            f.touch()
    assert sm("--touch").returncode == 0
    assert "Nothing to be done" in sm("-n").stdout

    def rerun(overlay: str) -> dict:
        f = tmp_path / "overlay.yaml"
        f.write_text(overlay)
        out = sm("-n", "--configfile", str(REPO_ROOT / "config" / "ci.yaml"), str(f))
        assert out.returncode == 0, out.stderr[-2000:]
        return jobs(out.stdout) if "Job stats:" in out.stdout else {}

    after_select = {"select", "funnel", "train", "dataset_card", "eval_generate_sft", "eval_score_sft", "paper", "all"}
    j = rerun("train: {epochs: 2}")
    assert set(j) == {"stage_config", "train", "eval_generate_sft", "eval_score_sft", "dataset_card", "paper", "all"}, j
    assert j["stage_config"] == 2                           # train's and the paper's (it reads everything)
    j = rerun("sandbox: {timeout_s: 7}")                    # execution and scoring, not generation
    assert set(j) == {"stage_config", "execute", "eval_generate_base", "eval_score_base"} | after_select, j
    j = rerun("generate: {responses: {n: 5}}")              # ci.yaml has 4
    assert set(j) == {"stage_config", "responses", "execute"} | after_select, j
    assert rerun("experiment: ci\n") == {}                  # the same config: nothing
