"""Bad input at the command line: one clear line, exit code 2, nothing lost."""
import errno
import json
import subprocess
import sys

import pytest

from selfalign.config import REPO_ROOT


def run(*args, **kw):
    return subprocess.run([sys.executable, "-m", "selfalign", *args], capture_output=True, text=True, cwd=REPO_ROOT, **kw)


def test_help_lists_the_stages():
    out = run("--help")
    for stage in ("seeds", "concepts", "instructions", "responses", "execute", "select", "train", "evaluate", "paper", "sandbox"):
        assert stage in out.stdout


def test_unknown_key_one_line(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("seedz: {}\n")
    out = run("config", "validate", "--configfile", str(p))
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == ["selfalign: error: unknown key seedz (allowed here: " +
                                               out.stderr.split("(allowed here: ")[1].strip()]


def test_wrong_type_one_line(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("sandbox: {timeout_s: soon}\n")
    out = run("config", "validate", "--configfile", str(p))
    assert out.returncode == 2 and "sandbox.timeout_s: expected number, got str" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def test_corrupt_intermediate_jsonl_names_line(tmp_path):
    good = {"id": "i1", "parent_id": "c", "seed_id": "s", "concepts": [], "category": "function", "difficulty": "easy",
            "instruction": "Do it.", "fewshot_ids": []}
    ins = tmp_path / "instructions.jsonl"
    ins.write_text(json.dumps(good) + "\n{broken\n" + json.dumps({**good, "id": "i2"}) + "\n")
    out = run("select", "--config", "config/ci.yaml", "--instructions", str(ins), "--responses", str(ins),
              "--executions", str(ins), "--out", str(tmp_path / "sft.jsonl"), "--funnel", str(tmp_path / "f.json"))
    assert out.returncode == 2
    assert f"{ins}:2: corrupt JSONL line" in out.stderr
    assert not (tmp_path / "sft.jsonl").exists()


def test_empty_corpus_dir(tmp_path):
    cfg = tmp_path / "c.yaml"
    (tmp_path / "empty").mkdir()
    cfg.write_text(f"corpus: {{path: {tmp_path / 'empty'}}}\nseeds: {{filters: {{judge: false, typecheck: false}}}}\n")
    out = run("seeds", "--config", str(cfg), "--out", str(tmp_path / "s.jsonl"), "--funnel", str(tmp_path / "f.json"))
    assert out.returncode == 2 and "holds no .py files" in out.stderr


def test_tiny_sft_data_is_a_clear_error(tmp_path):
    (tmp_path / "sft.jsonl").write_text("")
    out = run("train", "--config", "config/ci.yaml", "--sft", str(tmp_path / "sft.jsonl"), "--out", str(tmp_path / "m"))
    assert out.returncode == 2 and "holds 0 SFT examples" in out.stderr


class _FullDisk:
    """A file whose every write fails with ENOSPC (disk full)."""

    def __init__(self, real):
        self.real, self.closed = real, False

    def write(self, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    def flush(self):
        pass

    def fileno(self):
        return self.real.fileno()

    def close(self):
        self.real.close()
        self.closed = True


def test_disk_full_keeps_done_records(tmp_path):
    """ENOSPC while appending: the records already written stay; a re-run resumes after them."""
    from selfalign import records as R
    work = tmp_path / "w.jsonl"
    w = R.ResumableWriter(work)
    w.append({"id": "a"})
    w._f = _FullDisk(w._f)
    with pytest.raises(OSError) as e:
        w.append({"id": "b"})
    assert e.value.errno == errno.ENOSPC
    w.close()
    w2 = R.ResumableWriter(work)
    assert w2.done == {"a"}
    w2.close()


def test_cli_reports_disk_full_in_one_line(monkeypatch, capsys):
    from selfalign import cli

    def boom(a):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(cli, "cmd_config", boom)
    with pytest.raises(SystemExit) as e:
        cli.main(["config", "validate"])
    assert e.value.code == 2
    assert "disk full while writing" in capsys.readouterr().err
