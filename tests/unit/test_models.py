import sys
import types

import pytest

from selfalign import model as M

HEADER = "\t".join(M.SHEET_COLUMNS)


def _sheet(tmp_path, *rows):
    p = tmp_path / "models.tsv"
    p.write_text("\n".join([HEADER, *rows]) + "\n")
    return p


def test_shipped_sheet_has_cpu_and_paper_rows():
    sheet = M.read_sheet("config/models.tsv")
    for name in ("gemma3-270m", "qwen2.5-coder-0.5b-instruct", "starcoder2-3b", "starcoder2-7b", "starcoder2-15b",
                 "deepseek-coder-6.7b", "deepseek-coder-33b", "codeqwen1.5-7b", "llama3-8b"):
        assert name in sheet
    assert sheet["gemma3-270m"].base_model and not sheet["qwen2.5-coder-0.5b-instruct"].base_model


def test_bad_backend_is_named(tmp_path):
    p = _sheet(tmp_path, "m\tf\t1\tmagic\tpath:/x\t\t0\t1024\tyes\tl\tn")
    with pytest.raises(M.ModelError, match=r"models.tsv:2: backend 'magic'"):
        M.read_sheet(p)


def test_missing_local_weights_is_a_clear_error(tmp_path):
    p = _sheet(tmp_path, "m\tf\t1\tllamacpp\tpath:/nonexistent/m.gguf\t\t0\t1024\tyes\tl\tn")
    spec = M.read_sheet(p)["m"]
    with pytest.raises(M.ModelError, match="weights not found at /nonexistent/m.gguf"):
        M.provision(spec, {"cache_dir": str(tmp_path)})


def test_chunk_packages_are_joined_in_order_and_verified(tmp_path, monkeypatch):
    import hashlib
    parts = [b"GGUF-a", b"-b-", b"c"]
    for i, data in enumerate(parts, 1):
        d = tmp_path / f"fakechunk{i}"
        (d / "data").mkdir(parents=True)
        (d / "data" / f"part{i:02d}.bin").write_bytes(data)
        mod = types.ModuleType(f"fakechunk{i}")
        mod.__file__ = str(d / "__init__.py")
        monkeypatch.setitem(sys.modules, f"fakechunk{i}", mod)
    sha = hashlib.sha256(b"".join(parts)).hexdigest()
    p = _sheet(tmp_path, f"m\tf\t1\tllamacpp\tpypi-chunks:fakechunk[1-3]\t{sha}\t0\t1024\tno\tl\tn",
               f"bad\tf\t1\tllamacpp\tpypi-chunks:fakechunk[1-3]\t{'0' * 64}\t0\t1024\tno\tl\tn")
    sheet = M.read_sheet(p)
    out = M.provision(sheet["m"], {"cache_dir": str(tmp_path / "cache")})
    assert out.read_bytes() == b"GGUF-a-b-c"
    with pytest.raises(M.ModelError, match="does not match the sheet"):
        M.provision(sheet["bad"], {"cache_dir": str(tmp_path / "cache")})


def test_hub_offline_is_one_clear_line(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    p = _sheet(tmp_path, "m\tf\t1\tvllm\thf:org/not-a-model\t\t1\t1024\tyes\tl\tn")
    with pytest.raises(M.ModelError, match="could not fetch org/not-a-model"):
        M.provision(M.read_sheet(p)["m"], {"cache_dir": str(tmp_path)})
