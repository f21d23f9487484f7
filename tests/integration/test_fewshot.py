"""Every few-shot example's response passes its own tests in the sandbox."""
import pytest

from selfalign.execute import proven_job
from selfalign.prompts import code_blocks, load_fewshot

pytestmark = pytest.mark.integration


def test_every_fewshot_example_passes(sandbox):
    shots = load_fewshot()
    progs = [proven_job("\n\n".join(code_blocks(s.response)), "\n\n".join(code_blocks(s.tests))) for s in shots]
    verdicts = sandbox.run_many(progs, workers=4)
    bad = [(s.id, v.verdict, v.stderr_tail[-300:]) for s, v in zip(shots, verdicts) if v.verdict != "pass"]
    assert bad == []


def test_every_seed_snippet_compiles():
    for s in load_fewshot():
        compile(s.seed, s.id, "exec")
