"""`python -m selfalign publish`: a finished run written up from its own files."""
import json

from selfalign.cli import main


def _w(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text if isinstance(text, str) else json.dumps(text))


def test_publish_writes_the_page_from_the_runs_files(tmp_path):
    run = tmp_path / "run"
    _w(run / "paper" / "cpu_replication.md", "| Arm | x |\n|---|---|\n| base | 1.8 ± 1.0 |\n")
    (run / "figures").mkdir(parents=True)
    (run / "figures" / "cpu_replication.png").write_bytes(b"\x89PNG fake")
    _w(run / "results" / "repl-pass" / "qwen" / "funnel.json",
       {"steps": [{"stage": "seeds", "step": "extracted", "kept": 2021, "dropped": 0},
                  {"stage": "select", "step": "sft", "kept": 23, "dropped": 4}]})
    _w(run / "results" / "_base" / "gemma" / "eval" / "humaneval.json",
       {"summary": {"problems": 164, "base": {"pass@1": 1.83, "pass@1_se": 1.04}}, "prompt_style": "completion",
        "samples_file": {"sha256": "ab" * 32}, "provenance": {"git": "abc123"}})
    _w(run / "results" / "_base" / "gemma" / "eval" / "humaneval.samples.json", {"model": "gemma"})
    _w(run / "results" / "repl-fail" / "gemma" / "eval" / "sft" / "humaneval.json", {"skipped": "skipped: no SFT model"})
    head = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"
    _w(run / "benchmarks" / "repl-pass" / "qwen" / "responses.tsv", head + "600.0\t0:10:00\t900\t1\t1\t1\t0\t0\t190\t1100.0\n")
    _w(run / "benchmarks" / "repl-pass" / "qwen" / "responses.1-of-2.tsv", head + "60.0\t0:01:00\t900\t1\t1\t1\t0\t0\t190\t100.0\n")
    _w(run / "benchmarks" / "_base" / "gemma" / "eval_generate_humaneval.tsv", head + "300.0\t0:05:00\tNA\t1\t1\t1\t0\t0\t190\t580.0\n")
    cfg = tmp_path / "cpu-replication.yaml"
    cfg.write_text("experiment: repl-pass\n")
    out = tmp_path / "docs" / "results" / "page.md"
    main(["publish", "--run-dir", str(run), "--out", str(out), "--title", "A run", "--table", "cpu_replication",
          "--table", "missing", "--figure", "cpu_replication", "--configfile", str(cfg)])
    md = out.read_text()
    assert md.startswith("# A run") and "| base | 1.8 ± 1.0 |" in md and "*(table missing: not in this run)*" in md
    assert "![cpu_replication](page/cpu_replication.png)" in md and (out.parent / "page" / "cpu_replication.png").exists()
    assert "**repl-pass** (data by qwen): extracted 2021 → sft 23" in md
    assert "| _base/gemma/eval/humaneval.json | completion | 164 | 1.83 | 1.04 | `abababababababab` |" in md
    assert "| repl-fail/gemma/eval/sft/humaneval.json | — | — | skipped: no SFT model |" in md
    assert "`abc123`" in md and (out.parent / "page" / "cpu-replication.yaml").exists()
    assert (out.parent / "page" / "results" / "_base__gemma__eval__humaneval.json").exists()
    # per stage: the two responses jobs summed (shards count with their stage), evaluation apart
    assert "| responses | 2 | 11.0 | 20.0 |" in md and "| evaluate: generate | 1 | 5.0 | 9.7 |" in md
    assert "| **all jobs** | 3 | 16.0 | 29.7 |" in md


def test_an_intro_longer_than_a_file_name_is_text():
    """--intro takes text or a file; a paragraph is longer than any file name (ENAMETOOLONG)."""
    from selfalign.report.publish import _text_or_file
    long = "A paragraph of prose. " * 20
    assert _text_or_file(long) == long
    from pathlib import Path
    assert _text_or_file(__file__) == Path(__file__).read_text().strip()
