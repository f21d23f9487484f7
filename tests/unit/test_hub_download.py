"""A hub model's download takes its config, tokenizer and weights only (selfalign/model.py
``_provision_hub``): huggingface_hub's own snapshot_download, against a stand-in hub on 127.0.0.1
(HF_ENDPOINT) serving a repository laid out like meta-llama/Meta-Llama-3-8B's, whose original/
folder holds a second copy of the weights (consolidated.00.pth), and like one holding both .bin and
.safetensors weights."""
import hashlib
import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

from selfalign.config import REPO_ROOT
from selfalign.model import hub_patterns

COMMIT = "0123456789abcdef0123456789abcdef01234567"
LLAMA = {"config.json": b'{"model_type": "llama"}', "generation_config.json": b"{}", "tokenizer.json": b"{}",
         "tokenizer_config.json": b"{}", "special_tokens_map.json": b"{}", "model-00001-of-00002.safetensors": b"W1",
         "model-00002-of-00002.safetensors": b"W2", "model.safetensors.index.json": b"{}", "README.md": b"# card",
         "LICENSE": b"licence", "original/consolidated.00.pth": b"THE SAME WEIGHTS AGAIN",
         "original/params.json": b"{}", "original/tokenizer.model": b"tok"}
BOTH = {"config.json": b"{}", "tokenizer.model": b"tok", "pytorch_model-00001-of-00001.bin": b"B",
        "model-00001-of-00001.safetensors": b"S", "pytorch_model.bin.index.json": b"{}"}


def hub(repos: dict[str, dict[str, bytes]]):
    class Hub(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def _send(self, body: bytes, head_only=False, extra=None):
            self.send_response(200)
            for k, v in {"Content-Length": str(len(body)), "X-Repo-Commit": COMMIT,
                         "ETag": f'"{hashlib.sha256(body).hexdigest()}"', **(extra or {})}.items():
                self.send_header(k, v)
            self.end_headers()
            if not head_only:
                self.wfile.write(body)

        def route(self, head_only=False):
            path = unquote(urlparse(self.path).path)
            for repo, files in repos.items():
                if path.startswith(f"/api/models/{repo}/revision/") or path == f"/api/models/{repo}":
                    info = {"id": repo, "sha": COMMIT, "siblings": [{"rfilename": f} for f in files]}
                    return self._send(json.dumps(info).encode(), head_only, {"Content-Type": "application/json"})
                if path.startswith(f"/api/models/{repo}/tree/"):
                    tree = [{"type": "file", "path": f, "size": len(b), "oid": hashlib.sha1(b).hexdigest()}
                            for f, b in files.items()]
                    return self._send(json.dumps(tree).encode(), head_only, {"Content-Type": "application/json"})
                prefix = f"/{repo}/resolve/"
                if path.startswith(prefix):
                    name = path[len(prefix):].split("/", 1)[1]
                    if name in files:
                        return self._send(files[name], head_only)
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_GET(self):
            self.route()

        def do_HEAD(self):
            self.route(head_only=True)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Hub)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd


def test_hub_patterns_take_safetensors_else_bin():
    assert hub_patterns(list(LLAMA))[-1] == "*.safetensors"
    assert hub_patterns(list(BOTH))[-1] == "*.safetensors"
    assert hub_patterns(["config.json", "pytorch_model.bin"])[-1] == "*.bin"


def test_a_hub_download_takes_config_tokenizer_and_weights_only(tmp_path):
    pytest.importorskip("huggingface_hub")
    httpd = hub({"meta-llama/Meta-Llama-3-8B": LLAMA, "org/both": BOTH})
    # a process of its own: huggingface_hub reads HF_ENDPOINT when it is first imported
    env = {**os.environ, "HF_ENDPOINT": f"http://127.0.0.1:{httpd.server_address[1]}", "HF_HUB_DISABLE_XET": "1",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))}
    env.pop("HF_HUB_OFFLINE", None)
    code = ("import sys; from selfalign.model import ModelSpec, _provision_hub\n"
            "for repo in sys.argv[2:]:\n"
            "    s = ModelSpec(repo.split('/')[1], 'llama3', 8, 'vllm', 'hf:' + repo, '', 1, 8192, True, '-', '-')\n"
            "    print(_provision_hub(s, repo, {'cache_dir': sys.argv[1]}))\n")
    try:
        p = subprocess.run([sys.executable, "-c", code, str(tmp_path / "cache"), "meta-llama/Meta-Llama-3-8B", "org/both"],
                           capture_output=True, text=True, env=env, timeout=120)
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert p.returncode == 0, p.stderr[-2000:]
    llama, both = (Path(line) for line in p.stdout.split())
    files = sorted(str(f.relative_to(llama)) for f in llama.rglob("*") if f.is_file())
    assert files == sorted(f for f in LLAMA if "/" not in f and f not in ("README.md", "LICENSE")), files
    assert sorted(f.name for f in both.iterdir()) == ["config.json", "model-00001-of-00001.safetensors",
                                                     "pytorch_model.bin.index.json", "tokenizer.model"]
