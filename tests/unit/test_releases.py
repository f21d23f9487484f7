"""`python -m selfalign data fetch` (selfalign/releases.py) against a local HTTP server on
127.0.0.1 serving real release files (../shared/benchdata) and small stand-ins: sha256 pinned or
recorded, a changed file refused with nothing kept, a second fetch that downloads nothing; and the
paper config's data paths are where the fetch puts each release."""
import functools
import hashlib
import http.server
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import yaml

from selfalign.config import REPO_ROOT, read_yaml
from selfalign.releases import FetchError, Release, fetch, missing_data, releases, required_data

BENCHDATA = REPO_ROOT.parent / "shared" / "benchdata"
if not BENCHDATA.is_dir():
    BENCHDATA = Path("/work/shared/benchdata")


@pytest.fixture
def server(tmp_path):
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *a: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    yield root, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_pinned_releases_fetch_checked_and_kept(server, tmp_path):
    if not (BENCHDATA / "ClassEval_data.json").exists():
        pytest.skip(f"needs the real releases in {BENCHDATA} (the CI machine has them)")
    root, url = server
    shutil.copy(BENCHDATA / "ClassEval_data.json", root / "ClassEval_data.json")
    shutil.copy(BENCHDATA / "ds1000" / "ds1000.jsonl.gz", root / "ds1000.jsonl.gz")
    said = []
    got = fetch(["classeval", "ds1000"], tmp_path / "data", mirror=url, say=said.append)
    table = releases()
    assert got == {"ClassEval_data.json": table["classeval"].sha256, "ds1000.jsonl.gz": table["ds1000"].sha256}
    assert (tmp_path / "data" / "SHA256SUMS").read_text().count("\n") == 2
    assert all(s.startswith("fetched") for s in said)
    said.clear()
    fetch(["classeval", "ds1000"], tmp_path / "data", mirror=url, say=said.append)   # already there: kept
    assert all(s.startswith("ok") for s in said)
    # the mirror serves another file under the pinned name: refused, nothing kept
    (root / "ClassEval_data.json").write_text("[]")
    (tmp_path / "data" / "ClassEval_data.json").unlink()
    with pytest.raises(FetchError, match=r"classeval: .*sha256 \w+ is not the expected 50a1ac0e"):
        fetch(["classeval"], tmp_path / "data", mirror=url)
    assert not (tmp_path / "data" / "ClassEval_data.json").exists()
    assert not list((tmp_path / "data").glob("*.part"))


def test_unpinned_release_is_recorded_on_first_fetch_and_held_to_it(server, tmp_path):
    root, url = server
    manifest = tmp_path / "releases.yaml"
    manifest.write_text(yaml.safe_dump({"lcb": {"version": "v-test", "url": "https://example.invalid/{part}",
                                                "file": "lcb", "parts": ["test.jsonl", "test2.jsonl"], "sha256": None}}))
    (root / "lcb").mkdir()
    for part in ("test.jsonl", "test2.jsonl"):
        (root / "lcb" / part).write_text(f'{{"question_id": "{part}"}}\n')
    got = fetch(None, tmp_path / "data", mirror=url, manifest=manifest, say=lambda s: None)
    assert got["lcb/test.jsonl"] == hashlib.sha256(b'{"question_id": "test.jsonl"}\n').hexdigest()
    assert "lcb/test2.jsonl" in (tmp_path / "data" / "SHA256SUMS").read_text()
    (tmp_path / "data" / "lcb" / "test2.jsonl").write_text("changed\n")      # no longer what was fetched
    with pytest.raises(FetchError, match=r"test2.jsonl: sha256 \w+ is not the expected \w+ \(SHA256SUMS\)"):
        fetch(None, tmp_path / "data", mirror=url, manifest=manifest)


def test_an_unreachable_release_is_one_line_naming_the_url(tmp_path):
    p = subprocess.run([sys.executable, "-m", "selfalign", "data", "fetch", "classeval", "--dir", str(tmp_path),
                        "--mirror", "http://127.0.0.1:9", "--timeout", "5"], capture_output=True, text=True,
                       cwd=REPO_ROOT, timeout=60)
    assert p.returncode == 2 and "Traceback" not in p.stderr
    assert p.stderr.startswith("selfalign: error: http://127.0.0.1:9/ClassEval_data.json: ")


def test_the_paper_config_reads_each_release_where_the_fetch_puts_it():
    data = read_yaml(REPO_ROOT / "config" / "paper.yaml")["evaluate"]["data"]
    table = releases()
    assert set(data) == set(table)
    assert {k: v for k, v in data.items()} == {k: f"data/{r.file}" for k, r in table.items()}
    assert all(isinstance(r, Release) and r.url.startswith("https://") for r in table.values())


def test_required_and_missing_data_of_a_config(cfg, tmp_path):
    cfg["evaluate"]["benchmarks"] = ["humaneval", "mbpp_plus", "classeval"]
    cfg["evaluate"]["data"].update(mbpp_plus="m.jsonl", classeval="hf:FudanSELab/ClassEval:test", mbpp=None)
    assert required_data(cfg) == {"mbpp_plus": "m.jsonl", "classeval": "hf:FudanSELab/ClassEval:test",
                                  "ds1000": None, "mbpp": None}        # decontamination sets read from files
    assert missing_data(cfg, tmp_path) == [("mbpp_plus", "m.jsonl"), ("ds1000", None), ("mbpp", None)]
    (tmp_path / "m.jsonl").write_text("")
    assert ("mbpp_plus", "m.jsonl") not in missing_data(cfg, tmp_path)
