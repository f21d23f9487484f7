"""What every backend shares (``Backend.collect``, ``sample_seed``) and the registry, without a
model: the openai backend against a stand-in server answer, a backend of our own making."""
import threading

from selfalign.backends import REGISTRY, backend_class
from selfalign.backends.base import Backend, Completion, sample_seed
from selfalign.backends.openai import OpenAIBackend


class Echo(Backend):
    """Completes sample k of a prompt with the prompt and k, finishing prompts in reverse order."""

    def generate(self, prompts, n=1, temperature=0.0, max_tokens=256, stop=None, seed=None, progress=None,
                 keys=None, top_p=None):
        with self.collect(len(prompts), n, progress) as out:
            for i in reversed(range(len(prompts))):
                for k in range(n):
                    out.add(i, k, Completion(f"{prompts[i]}/{k}", "stop", prompt_tokens=3, completion_tokens=2))
        return out.results


def test_collect_keeps_prompt_order_counts_and_reports_each_prompt_once_done():
    b = Echo()
    done = []
    out = b.generate(["a", "b", "c"], n=2, progress=lambda i, row: done.append((i, [c.text for c in row])))
    assert [[c.text for c in row] for row in out] == [["a/0", "a/1"], ["b/0", "b/1"], ["c/0", "c/1"]]
    assert done == [(2, ["c/0", "c/1"]), (1, ["b/0", "b/1"]), (0, ["a/0", "a/1"])]
    s = b.stats
    assert (s.prompts, s.completions, s.prompt_tokens, s.completion_tokens) == (3, 6, 18, 12)
    assert s.seconds > 0


class CannedServer(OpenAIBackend):
    """The openai backend with its HTTP call replaced: the answer names the request's seed."""

    def __init__(self):
        super().__init__("http://stand-in/v1", concurrency=3)
        self.payloads, self.lock = [], threading.Lock()

    def _post(self, payload):
        with self.lock:
            self.payloads.append(payload)
        return {"choices": [{"text": f"seed={payload['seed']}\nSTOP more", "finish_reason": "length"}],
                "usage": {"prompt_tokens": 5, "completion_tokens": 4, "prompt_tokens_details": {"cached_tokens": 2}}}


def test_openai_backend_sends_one_sample_per_request_seeded_by_the_prompt_and_cuts_at_stop():
    b = CannedServer()
    seen = []
    out = b.generate(["p0", "p1"], n=2, temperature=0.5, max_tokens=9, stop=["\nSTOP"], seed=7,
                     progress=lambda i, row: seen.append(i))
    assert [[c.text for c in row] for row in out] == [[f"seed={sample_seed(7, p, k)}" for k in range(2)]
                                                      for p in ("p0", "p1")]
    assert all(c.finish_reason == "stop" for row in out for c in row)      # cut at the stop string
    assert sorted(seen) == [0, 1] and b.stats.completions == 4 and b.stats.cached_tokens == 8
    assert {p["n"] for p in b.payloads} == {1} and {p["top_p"] for p in b.payloads} == {0.95}


def test_sample_seed_depends_on_run_seed_prompt_and_sample_only():
    assert sample_seed(1, "x", 0) == sample_seed(1, "x", 0)
    assert len({sample_seed(1, "x", 0), sample_seed(2, "x", 0), sample_seed(1, "y", 0), sample_seed(1, "x", 1)}) == 4
    assert 0 <= sample_seed(None, "x" * 1000, 5) < 2 ** 31


def test_every_registered_backend_is_a_backend_with_from_config():
    for name in REGISTRY:         # importing a backend's module needs none of its libraries
        cls = backend_class(name)
        assert issubclass(cls, Backend) and callable(getattr(cls, "from_config"))
