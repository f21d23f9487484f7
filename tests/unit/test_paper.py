import json
from pathlib import Path

import pytest

from selfalign import paper
from selfalign.paper import ablations
from selfalign.paper import results as R
from selfalign.config import experiment_configs, resolve


def _write(path, obj):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj))


def _eval(p1, plus=None):
    s = {"base": {"pass@1": p1}}
    if plus is not None:
        s["plus"] = {"pass@1": plus}
    return {"summary": s, "problems": []}


@pytest.fixture
def results(tmp_path):
    r = tmp_path / "results"
    m = "gemma3-270m"
    _write(r / "_base" / m / "eval" / "humaneval.json", _eval(3.7))
    _write(r / "selfalign" / m / "eval" / "sft" / "humaneval.json", _eval(6.1))
    _write(r / "selfalign" / m / "eval" / "sft" / "ds1000.json", {"benchmark": "ds1000", "skipped": "skipped: ds1000 data not found at None"})
    _write(r / "selfalign" / m / "funnel.json", {"steps": [
        {"stage": "seeds", "step": "extracted", "kept": 2297, "dropped": 0},
        {"stage": "seeds", "step": "sample", "kept": 48, "dropped": 7},
        {"stage": "instructions", "step": "parsed", "kept": 40, "dropped": 8},
        {"stage": "responses", "step": "generated", "kept": 160, "dropped": 0},
        {"stage": "responses", "step": "parsed", "kept": 150, "dropped": 10},
        {"stage": "execute", "step": "passed", "kept": 20, "dropped": 130},
        {"stage": "select", "step": "fewshot_copy", "kept": 100, "dropped": 50},
        {"stage": "select", "step": "test_sanity", "kept": 90, "dropped": 10},
        {"stage": "select", "step": "sft", "kept": 5, "dropped": 0}]})
    return r


def test_tables_put_numbers_in_the_right_cells(results, tmp_path):
    cfg = resolve({})
    out = paper.build_paper(cfg, results, tmp_path / "paper", tmp_path / "figures")
    main = (tmp_path / "paper" / "main.md").read_text()
    row = next(l for l in main.splitlines() if l.startswith("| HumanEval |"))
    assert row == "| HumanEval | — | — | 3.7 | 6.1 |"
    row = next(l for l in main.splitlines() if l.startswith("| HumanEval+ |"))
    assert row == "| HumanEval+ | 45.7 | 67.1 | — | — |"
    assert "skipped: ds1000 data not found" in main
    data = (tmp_path / "paper" / "data.md").read_text()
    assert "| selfalign / gemma3-270m | 2297 | 48 | 40 | 160 | 150 | 20 | 5 |" in data
    side = (tmp_path / "paper" / "cpu_models.md").read_text()
    assert "| gemma3-270m | 40 | 150 | 20 | 50 | 10 | 5 | 3.7 | 6.1 |" in side
    tex = (tmp_path / "paper" / "main.tex").read_text()
    assert "\\toprule" in tex and "HumanEval+ & 45.7 & 67.1 & --- & ---" in tex
    for f in ("funnel", "pass_rate", "scale", "ablation_exec_filter", "cpu_models"):
        assert (tmp_path / "figures" / f"{f}.png").stat().st_size > 1000
        assert (tmp_path / "figures" / f"{f}.pdf").exists()
    # exactly what the paper rule declares as its outputs
    from selfalign.workflow import PAPER_FIGURES, PAPER_TABLES
    assert out["tables"] == PAPER_TABLES
    assert [Path(f).stem for f in out["figures"] if f.endswith(".png")] == PAPER_FIGURES


def test_rebuild_is_byte_identical(results, tmp_path):
    cfg = resolve({})
    for run in ("a", "b"):
        paper.build_paper(cfg, results, tmp_path / run / "paper", tmp_path / run / "figures")
    for sub in ("paper", "figures"):
        for a in sorted((tmp_path / "a" / sub).iterdir()):
            assert a.read_bytes() == (tmp_path / "b" / sub / a.name).read_bytes(), a.name


def test_missing_data_figures_say_so(tmp_path):
    cfg = resolve({})
    paper.build_paper(cfg, tmp_path / "empty", tmp_path / "paper", tmp_path / "figures")
    assert (tmp_path / "figures" / "funnel.png").exists()
    assert "| HumanEval | — | — | — | — |" in (tmp_path / "paper" / "main.md").read_text()


def test_reference_values_come_from_the_csv():
    ref = R.load_reference()
    assert R.ref_value(ref, "main", "SelfCodeAlign", "HumanEval+") == 67.1
    assert R.ref_value(ref, "ablation_exec_filter", "random responses") == 61.6


def test_ablation_rows_come_from_their_experiments(tmp_path):
    """The random-snippets seed row, the samples ablation and all five teachers are computed from
    results of the experiments config/paper.yaml declares (none is hard-coded empty)."""
    from selfalign.config import experiment_configs, load

    cfg = load("config/paper.yaml")
    m = cfg["model"]
    r = tmp_path / "results"
    for exp, p1 in (("selfalign", 65.0), ("random-snippets", 61.0), ("seed-to-instruction", 58.0),
                    ("samples-1", 50.0), ("samples-5", 60.0), ("random-responses", 55.0)):
        _write(r / exp / m / "eval" / "sft" / "humaneval.json", _eval(p1))
        _write(r / exp / m / "funnel.json", {"steps": [{"stage": "select", "step": "sft", "kept": int(p1), "dropped": 0}]})
    exps = experiment_configs(cfg)
    res = R.gather(r, list(exps))
    ref = R.load_reference()
    seed = ablations.table_seed(ref, res, exps, m, "humaneval")
    val = lambda m: m.value if m is not None else None
    assert [val(row[2]) for row in seed.rows] == [58.0, 61.0, 65.0]
    assert seed.rows[1][1] == 64.0            # the paper's random-snippets figure beside ours
    ex = ablations.table_exec_filter(ref, res, exps, m, "humaneval")
    assert [val(row[2]) for row in ex.rows] == [65.0, 55.0, None]
    samples = ablations.table_samples(res, exps, m, "humaneval")
    assert [(row[0], row[2], val(row[3])) for row in samples.rows] == [(1, 50, 50.0), (5, 60, 60.0), (10, 65, 65.0)]
    teachers = ablations.configured_teachers(cfg)
    assert list(teachers) == ["starcoder2-3b", "llama3-8b", "starcoder2-15b", "deepseek-coder-33b", "codeqwen1.5-7b"]
    matrix = ablations.table_matrix(res, "selfalign", [m], "humaneval", exps, teachers)
    assert len(matrix.header) == 3 + 5 + 1


def test_main_table_rows_follow_the_paper_with_standard_errors(tmp_path):
    """Ours carry ± SE and ≈ when the paper's figure is within 2 SE; LiveCodeBench gets a row per
    window actually scored (labelled from it), ClassEval its class- and method-level rows."""
    r = tmp_path / "results"
    m = "gemma3-270m"
    _write(r / "selfalign" / m / "eval" / "sft" / "humaneval_plus.json",
           {"summary": {"base": {"pass@1": 70.0, "pass@1_se": 3.6}, "plus": {"pass@1": 62.0, "pass@1_se": 3.8}}})
    _write(r / "selfalign" / m / "eval" / "sft" / "livecodebench.json", {
        "release": "release_v1", "data": {"sha256": {"test.jsonl": "ab" * 32}}, "summary": {
        "base": {"pass@1": 20.0, "pass@1_se": 2.0},
        "by_window": {"start 2023-09-01": {"pass@1": 21.0, "pass@1_se": 1.0},
                      "start 2023-05-01": {"pass@1": 10.0, "pass@1_se": 1.0}}}})
    _write(r / "selfalign" / m / "eval" / "sft" / "classeval.json", {"summary": {
        "class": {"pass@1": 25.0, "pass@1_se": 4.4}, "method_level": {"pass@1": 50.0, "pass@1_se": 2.0}}})
    paper.build_paper(resolve({}), r, tmp_path / "paper", tmp_path / "figures")
    rows = {l.split(" | ")[0].lstrip("| "): l for l in (tmp_path / "paper" / "main.md").read_text().splitlines()
            if l.startswith("| ")}
    assert rows["HumanEval+"] == "| HumanEval+ | 45.7 | 67.1 | — | 62.0 ± 3.8 ≈ |"          # |62 - 67.1| <= 7.6
    assert rows["LiveCodeBench (start 2023-09-01)"] == "| LiveCodeBench (start 2023-09-01) | — | 22.4 | — | 21.0 ± 1.0 ≈ |"
    assert rows["LiveCodeBench (start 2023-05-01)"] == "| LiveCodeBench (start 2023-05-01) | — | 23.4 | — | 10.0 ± 1.0 |"
    assert rows["ClassEval class-level"].endswith("| 27.0 | — | 25.0 ± 4.4 ≈ |")
    assert rows["ClassEval method-level"].endswith("| 52.6 | — | 50.0 ± 2.0 ≈ |")
    assert "\\pm" in (tmp_path / "paper" / "main.tex").read_text()
    # the benchmark's release is printed with the figures (issue 24)
    assert "Data: LiveCodeBench release_v1 (sha256 test.jsonl abababababab)" in (tmp_path / "paper" / "main.md").read_text()


def test_cpu_replication_table_reads_the_arms(tmp_path):
    r = tmp_path / "results"
    s, t = "gemma3-270m", "qwen2.5-coder-0.5b-instruct"
    cfg = resolve({"experiment": "repl-pass", "model": s, "teacher": t, "evaluate": {"extra_styles": "all", "teacher_eval": "instruct"},
                   "ablations": {"repl-random": {"select": {"mode": "random"}}, "repl-fail": {"select": {"mode": "fail"}},
                                 "repl-self": {"teacher": s}}})
    ev = lambda p, se: {"summary": {"base": {"pass@1": p, "pass@1_se": se}}}  # noqa: E731
    _write(r / "_base" / s / "eval" / "humaneval.json", ev(3.0, 1.3))
    _write(r / "_base" / s / "eval" / "humaneval@instruct.json", ev(0.0, 0.0))
    _write(r / "_base" / t / "eval" / "humaneval@instruct.json", ev(31.1, 3.6))
    for exp, inst, comp, pairs in (("repl-pass", 9.0, 4.0, 120), ("repl-random", 6.0, 3.0, 150), ("repl-fail", 1.0, 2.0, 90)):
        _write(r / exp / s / "eval" / "sft" / "humaneval.json", ev(inst, 1.5))
        _write(r / exp / s / "eval" / "sft" / "humaneval@completion.json", ev(comp, 1.2))
        _write(r / exp / t / "funnel.json", {"steps": [{"stage": "select", "step": "sft", "kept": pairs, "dropped": 0}]})
    paper.build_paper(cfg, r, tmp_path / "paper", tmp_path / "figures")
    md = (tmp_path / "paper" / "cpu_replication.md").read_text()
    rows = [l for l in md.splitlines() if l.startswith("| ")][1:]
    assert rows[0] == "| gemma3-270m base (no SFT) | — | 0.0 ± 0.0 | 3.0 ± 1.3 | — |"
    assert rows[1] == "| teacher qwen2.5-coder-0.5b-instruct (no SFT) | — | 31.1 ± 3.6 | — | — |"
    assert rows[2] == ("| repl-pass: SFT on teacher qwen2.5-coder-0.5b-instruct data, pass | 120 | 9.0 ± 1.5 | 4.0 ± 1.2 | 65.2 |")
    assert rows[4].startswith("| repl-fail: SFT on teacher") and rows[4].endswith("| 90 | 1.0 ± 1.5 | 2.0 ± 1.2 | 57.9 |")
    assert rows[5] == "| repl-self: SFT on its own data, pass | — | — | — | — |"      # not run
    assert "pass ≥ random ≥ fail holds on the point estimates (9.0 / 6.0 / 1.0)" in md
    assert "pass is above fail by more than two standard errors" in md
    assert "repl-pass: instruction-prompt pass@1 9.0 vs base 0.0 — moved beyond two standard errors" in md
    assert (tmp_path / "figures" / "cpu_replication.png").exists()
    # each group's tick label names its own arm, short enough to stay under its bars
    from selfalign.paper.figures import arm_label
    from selfalign.paper.replication import replication_arms
    exps = experiment_configs(cfg)
    labels = [arm_label(a, s) for a in replication_arms(R.gather(r, list(exps)), exps, s)]
    assert labels[2:] == ["repl-pass\nteacher data\npass, 120 pairs", "repl-random\nteacher data\nrandom, 150 pairs",
                          "repl-fail\nteacher data\nfail, 90 pairs", "repl-self\nown data\npass, ? pairs"]
    assert labels[0] == "gemma3-270m\nbase (no SFT)"
    assert all(len(line) <= 18 for label in labels for line in label.splitlines())
    from selfalign.workflow import Workflow
    evals = Workflow(cfg).paper_inputs()["evals"]   # extra_styles all: the other style of every variant
    assert f"results/_base/{s}/eval/humaneval@instruct.json" in evals
    assert f"results/repl-fail/{s}/eval/sft/humaneval@completion.json" in evals
    assert f"results/_base/{t}/eval/humaneval@instruct.json" in evals              # the teacher, once
    assert "vs base 31.1" not in md and "teacher qwen2.5-coder-0.5b-instruct (no SFT): " not in md
    # extra_styles base: the base model with both prompts, every arm with its own (instruction) prompt
    evals = Workflow({**cfg, "evaluate": {**cfg["evaluate"], "extra_styles": "base"}}).paper_inputs()["evals"]
    assert f"results/_base/{s}/eval/humaneval@instruct.json" in evals
    assert not any("@completion" in e for e in evals), evals


def test_a_teacher_run_is_labelled_as_such(tmp_path, monkeypatch):
    """Data generated by a teacher: the SFT column says so, the teacher gets no column of its own,
    and the self-alignment row of the distillation table stays empty."""
    r = tmp_path / "results"
    s, t = "gemma3-270m", "qwen2.5-coder-0.5b-instruct"
    cfg = resolve({"experiment": "cpu-teacher", "model": s, "teacher": t})
    _write(r / "_base" / s / "eval" / "humaneval.json", _eval(1.8))
    _write(r / "cpu-teacher" / s / "eval" / "sft" / "humaneval.json", _eval(3.0))
    _write(r / "cpu-teacher" / s / "eval" / "sft" / "humaneval_plus.json", _eval(3.0, 2.4))
    _write(r / "cpu-teacher" / t / "funnel.json", {"steps": [{"stage": "select", "step": "sft", "kept": 5, "dropped": 0}]})
    from selfalign.paper import figures
    no_data = []
    monkeypatch.setattr(figures, "_no_data", lambda ax, what: no_data.append(what))
    paper.build_paper(cfg, r, tmp_path / "paper", tmp_path / "figures")
    # the data funnel is the teacher's (it generated the data), not a missing one of the student's
    assert not any("funnel.json" in w for w in no_data), no_data
    main = (tmp_path / "paper" / "main.md").read_text()
    assert f"Ours: {s} SFT on {t}'s data" in main and f"Ours: {t} base" not in main
    # the default run scores the base with the completion prompt only: the instruction-prompt cell of
    # the base stays empty, and the reading names the prompt it compared with
    repl = (tmp_path / "paper" / "cpu_replication.md").read_text()
    assert f"| {s} base (no SFT) | — | — | 1.8 |" in repl, repl
    assert "vs base 1.8 (completion prompt: the base was not scored with the instruction prompt)" in repl, repl
    assert "a teacher setting (distillation), not self-alignment" in main
    rows = [line for line in (tmp_path / "paper" / "distillation.md").read_text().splitlines()
            if line.startswith("| SelfCodeAlign")]
    assert rows and rows[0].endswith("| — |"), rows
