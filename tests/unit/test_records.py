import json

import pytest

from selfalign.records import (Execution, RecordError, ResumableWriter, Seed, iter_jsonl, read_records,
                               work_path, write_jsonl_atomic)


def _ex(i):
    return Execution(id=f"r{i}", instruction_id="i", verdict="pass", exit_code=0, duration_s=0.1)


def test_resume_skips_done_ids(tmp_path):
    out = tmp_path / "executions.jsonl"
    w = ResumableWriter(work_path(out))
    w.extend([_ex(0), _ex(1)])
    w.close()
    w2 = ResumableWriter(work_path(out))
    assert w2.done == {"r0", "r1"}
    w2.extend([_ex(1), _ex(2)])  # r1 again: ignored
    w2.finish(out)
    assert [r.id for r in read_records(out, Execution)] == ["r0", "r1", "r2"]
    assert not work_path(out).exists()


def test_truncated_last_line_is_dropped_with_warning(tmp_path, caplog):
    p = tmp_path / "w.jsonl"
    p.write_text(json.dumps({"id": "a"}) + "\n" + '{"id": "b", "ver')
    w = ResumableWriter(p)
    assert w.done == {"a"}
    assert "truncated last line" in caplog.text
    w.append({"id": "b"})
    w.close()
    assert [d["id"] for d in iter_jsonl(p)] == ["a", "b"]


def test_complete_last_line_without_newline_is_kept(tmp_path):
    p = tmp_path / "w.jsonl"
    p.write_text(json.dumps({"id": "a"}) + "\n" + json.dumps({"id": "b"}))
    w = ResumableWriter(p)
    assert w.done == {"a", "b"}
    w.close()


def test_corrupt_middle_line_names_file_and_line(tmp_path):
    p = tmp_path / "x.jsonl"
    p.write_text('{"id": "a"}\n{oops\n{"id": "c"}\n')
    with pytest.raises(RecordError, match=r"x\.jsonl:2: corrupt JSONL line"):
        list(iter_jsonl(p))


def test_record_missing_field_is_named(tmp_path):
    p = tmp_path / "s.jsonl"
    write_jsonl_atomic(p, [{"id": "s1", "seed": "def f(): pass"}])
    with pytest.raises(RecordError, match=r"record 1: Seed record lacks docstring, source, lines"):
        read_records(p, Seed)


def test_roundtrip_seed_tuple(tmp_path):
    p = tmp_path / "s.jsonl"
    s = Seed(id="s", seed="def f(x):\n    return x", docstring="d", source="a.py", lines=(1, 2), name="f")
    write_jsonl_atomic(p, [s])
    assert read_records(p, Seed) == [s]


def test_writer_is_a_context_manager_that_closes(tmp_path):
    with ResumableWriter(tmp_path / "w.jsonl") as w:
        w.append(Execution(id="r1", instruction_id="i1", verdict="pass", exit_code=0, duration_s=0.1))
    assert w._f.closed
    assert [d["id"] for d in iter_jsonl(tmp_path / "w.jsonl")] == ["r1"]
