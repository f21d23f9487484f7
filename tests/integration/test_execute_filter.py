"""The execution filter on generated responses: third-party packages as in the official execution
image, and main blocks that read input() cut before the run (execution_filter.py:134-152)."""
import pytest

from selfalign.execute import run_executions
from selfalign.prompts import parse_response
from selfalign.records import Response, iter_jsonl

pytestmark = pytest.mark.integration


def _resp(rid, code, tests):
    """A record as the I->R stage makes it: the completion parsed, its runnable blocks kept."""
    text = f"```python\n{code}\n```\n</response>\n\n<tests>\n```python\n{tests}\n```\n"
    response, tests_text, code, test_code = parse_response(text)
    return Response(id=rid, instruction_id="i", instruction="", response=response, tests=tests_text, code=code,
                    test_code=test_code, fewshot_ids=[])


NUMPY = _resp("np", "import numpy as np\n\ndef norm(v):\n    return float(np.sqrt(np.dot(v, v)))",
              "assert norm([3, 4]) == 5.0")
# the tests run as __main__ (selfalign/sandbox/proof.py), so a main block there would wait for stdin
MAIN = _resp("main", "def twice(x):\n    return 2 * x\n\nif __name__ == '__main__':\n    n = int(input())\n    print(twice(n))",
             "assert twice(4) == 8\n\nif __name__ == \"__main__\":\n    print(twice(int(input())))")


def _verdicts(cfg, tmp_path, name):
    cfg["sandbox"].update(workers=2, timeout_s=5)
    out = tmp_path / f"{name}.jsonl"
    run_executions(cfg, [NUMPY, MAIN], out)
    return {r["id"]: r["verdict"] for r in iter_jsonl(out)}


def test_generated_programs_may_use_numpy_and_never_block_on_input(cfg, tmp_path):
    assert cfg["sandbox"]["libraries"] is True                     # the official default
    assert _verdicts(cfg, tmp_path, "with") == {"np": "pass", "main": "pass"}


def test_standard_library_only_when_switched_off(cfg, tmp_path):
    cfg["sandbox"]["libraries"] = False
    v = _verdicts(cfg, tmp_path, "without")
    assert v["np"] != "pass" and v["main"] == "pass"
