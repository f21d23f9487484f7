"""Every few-shot example — ours and the official file's — parses as an I->R completion would and
passes its own tests in the sandbox."""
import os
from pathlib import Path

import pytest

from selfalign.config import REPO_ROOT
from selfalign.execute import proven_job
from selfalign.fewshot import load_fewshot
from selfalign.prompts import parse_response

pytestmark = pytest.mark.integration

OFFICIAL = Path(os.environ.get("SELFALIGN_OFFICIAL", REPO_ROOT.parent / "shared" / "reference" / "official")) \
    / "self-ossinstruct-fewshot.txt"


@pytest.mark.parametrize("source", ["ours", "official"])
def test_every_fewshot_example_parses_and_passes(cfg, source):
    """With the execution stage's sandbox (the official 10 s / 4 GB, third-party libraries: the
    official examples use numpy and torch)."""
    from selfalign.sandbox import Sandbox, SandboxLimits

    if source == "official" and not OFFICIAL.is_file():
        pytest.skip(f"official few-shot file not at {OFFICIAL} (SELFALIGN_OFFICIAL)")
    shots = load_fewshot(OFFICIAL if source == "official" else None)
    # what a model writes after "<response>\n", up to the "</tests>" stop
    parsed = [parse_response(f"{s.response}\n</response>\n\n<tests>\n{s.tests}\n") for s in shots]
    sandbox = Sandbox(SandboxLimits.from_config(cfg), workers=2, libraries=cfg["sandbox"]["libraries"])
    try:
        verdicts = sandbox.run_many([proven_job(code, tcode) for _, _, code, tcode in parsed], workers=2)
    finally:
        sandbox.close()
    bad = [(s.id, v.verdict, v.stderr_tail[-300:]) for s, v in zip(shots, verdicts) if v.verdict != "pass"]
    assert bad == []


def test_every_seed_snippet_compiles():
    for s in load_fewshot():
        compile(s.seed, s.id, "exec")
