"""The llamacpp backend and the openai backend (against llama.cpp's server on 127.0.0.1), for real."""
import socket
import subprocess
import sys
import time

import pytest

pytestmark = pytest.mark.integration

PROMPT = "def add(a, b):\n    \"\"\"Return the sum of a and b.\"\"\"\n"


def test_greedy_is_deterministic_and_honours_stop(llama):
    a = llama.generate([PROMPT], n=1, temperature=0.0, max_tokens=48, stop=["\ndef "])[0][0]
    b = llama.generate([PROMPT], n=1, temperature=0.0, max_tokens=48, stop=["\ndef "])[0][0]
    assert a.text == b.text and a.finish_reason in ("stop", "length")
    assert "\ndef " not in a.text
    assert a.prompt_tokens > 5 and a.completion_tokens > 0


def test_sampling_seeded_and_order_independent(llama):
    p2 = "# A list of fruits:\n"
    r1 = llama.generate([PROMPT, p2], n=2, temperature=0.9, max_tokens=12, seed=5)
    r2 = llama.generate([p2, PROMPT], n=2, temperature=0.9, max_tokens=12, seed=5)
    assert [c.text for c in r1[0]] == [c.text for c in r2[1]]
    assert [c.text for c in r1[1]] == [c.text for c in r2[0]]


def test_length_finish_reason(llama):
    c = llama.generate(["Count: 1, 2, 3,"], n=1, temperature=0.0, max_tokens=4)[0][0]
    assert c.finish_reason == "length" and c.completion_tokens == 4


def test_live_loop_guard_stops_a_looping_sequence_early(llama):
    """A sequence whose last lines repeat k times is ended there ("loop"), not decoded to its limit;
    without the guard the same greedy sequence runs to max_tokens. What is kept is the text the
    data stage's post-hoc guard (prompts.loop_cut) cuts after its first copy."""
    from selfalign.prompts import loop_cut

    prompt = "x = 1\n" * 12
    free = llama.generate([prompt], n=1, temperature=0.0, max_tokens=120)[0][0]
    guarded = llama.generate([prompt], n=1, temperature=0.0, max_tokens=120, loop_guard=4)[0][0]
    assert free.finish_reason == "length" and free.completion_tokens == 120
    assert guarded.finish_reason == "loop" and guarded.completion_tokens < 40, guarded
    assert free.text.startswith(guarded.text) and loop_cut(guarded.text, 4) is not None


def test_shared_prefix_is_served_from_cache(llama):
    shared = "You write Python.\n" * 30
    a, b = llama.generate([shared + "# task 0\n", shared + "# task 1\n"], n=2, temperature=0.7, max_tokens=2, seed=1)
    assert a[0].cached_tokens == 0
    # the second sample of a prompt reuses all of it, the other prompt the shared block
    assert a[1].cached_tokens == a[1].prompt_tokens - 1
    assert b[0].cached_tokens > 0.8 * b[0].prompt_tokens


FUNCS = [f"def {name}(xs):\n    \"\"\"{doc}\"\"\"\n" for name, doc in [
    ("total", "Return the sum of xs."), ("largest", "Return the largest item of xs."),
    ("evens", "Return the even numbers of xs."), ("reverse", "Return xs reversed."),
    ("count_zeros", "Return how many items of xs are 0."), ("mean", "Return the mean of xs."),
    ("squares", "Return the squares of xs."), ("first", "Return the first item of xs, or None.")]]


def test_batched_decoding_matches_one_sequence_at_a_time(model_path, llama):
    """Sequences stepped together must not see each other: each prompt batched with 7 others
    starts as it does alone. llama.cpp's sums differ between batch shapes (up to ~2 in a logit of
    ~33 here, even for one sequence fed token by token vs in one batch), so a near-tie can flip a
    greedy token and the continuations drift later on; a KV mix-up between sequences changes the
    first line of most of them."""
    from selfalign.backends.llamacpp import LlamaCppBackend

    batched = [c[0].text for c in llama.generate(FUNCS, n=1, temperature=0.0, max_tokens=32, stop=["\ndef "])]
    one = LlamaCppBackend(str(model_path), n_ctx=2048, seed=3, parallel=1)
    try:
        alone = [one.generate([f], n=1, temperature=0.0, max_tokens=32, stop=["\ndef "])[0][0].text for f in FUNCS]
    finally:
        one.close()
    first = [(a.strip().splitlines() or [""])[0] for a in batched]
    first_alone = [(a.strip().splitlines() or [""])[0] for a in alone]
    assert sum(a == b for a, b in zip(first, first_alone)) >= 6, list(zip(batched, alone))
    assert llama.parallel > 1


def test_context_limits_per_sequence(model_path):
    from selfalign.backends.llamacpp import LlamaCppBackend

    be = LlamaCppBackend(str(model_path), n_ctx=64, seed=3, parallel=4)
    try:
        too_long, fits = be.generate(["word " * 80, FUNCS[0]], n=2, temperature=0.8, max_tokens=200, seed=2)
        n_prompt = be.count_tokens(FUNCS[0])
    finally:
        be.close()
    assert [c.finish_reason for c in too_long] == ["length"] * 2 and too_long[0].text == ""
    assert all(0 < c.completion_tokens <= 64 - n_prompt for c in fits)


def _free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.fixture(scope="module")
def server(model_path, tmp_path_factory):
    pytest.importorskip("uvicorn")
    port = _free_port()
    # the server logs a lot while loading: to a file, not a pipe nobody reads (it would block)
    log = open(tmp_path_factory.mktemp("server") / "server.log", "w+")
    proc = subprocess.Popen([sys.executable, "-m", "llama_cpp.server", "--model", str(model_path), "--host", "127.0.0.1",
                             "--port", str(port), "--n_ctx", "1024", "--seed", "1"],
                            stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/v1"
    deadline = time.time() + 60
    import urllib.request
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url + "/models", timeout=1)
            break
        except Exception:
            if proc.poll() is not None:
                log.seek(0)
                pytest.fail("llama.cpp server died: " + log.read()[-500:])
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail("llama.cpp server did not come up in 60 s")
    yield url
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


def test_openai_backend_against_llamacpp_server(server, llama):
    from selfalign.backends.openai import OpenAIBackend
    b = OpenAIBackend(server, concurrency=2)
    out = b.generate([PROMPT, "x = [1, 2, 3]\n"], n=2, temperature=0.0, max_tokens=24, stop=["\ndef "])
    assert len(out) == 2 and all(len(r) == 2 for r in out)
    assert out[0][0].text == out[0][1].text                # greedy: both samples equal
    assert "\ndef " not in out[0][0].text
    assert out[0][0].completion_tokens > 0
    # same weights, greedy: the server and the in-process backend agree on the first tokens
    local = llama.generate([PROMPT], n=1, temperature=0.0, max_tokens=24, stop=["\ndef "])[0][0]
    assert out[0][0].text[:10] == local.text[:10]
    n = b.generate(["Count: 1, 2,"], n=1, temperature=0.0, max_tokens=3)[0][0]
    assert n.finish_reason == "length"


def test_vllm_backend_without_vllm_is_a_clear_error():
    try:
        import vllm  # noqa: F401
        pytest.skip("vllm is importable: exercised by the GPU checks instead")
    except ImportError:
        pass
    from selfalign.backends import backend_class
    with pytest.raises(RuntimeError, match="vllm is not importable"):
        backend_class("vllm")("/nonexistent")
