"""The official few-shot file (prompts/self-ossinstruct-fewshot.txt, read at run time as data):
its loader, the pinned URL of config/paper.yaml, and every prompt kind built from it by our code,
compared byte for byte with prompts built the official code's way.

The reference builder below is written for this test from bigcode-project/selfcodealign at
045354e, src/star_align/self_ossinstruct.py (not imported: not installable offline): the parse of
:327-370 (positional system sections, `[Code]`… field split, parse_property :313-324), the
per-mode prefix templates and suffixes of :185-240, the body/prefix assembly of :293-308 and the
final right-strip of :553. It runs on the official file from ../shared/reference/official
(SELFALIGN_OFFICIAL to point elsewhere); without it these tests skip.
"""
from __future__ import annotations

import functools
import hashlib
import http.server
import os
import random
import re
import threading
from pathlib import Path

import pytest
import yaml

from selfalign import prompts as P
from selfalign.config import REPO_ROOT
from selfalign.fewshot import FewShotError, fetch, load_set, parse_official

OFFICIAL_DIR = Path(os.environ.get("SELFALIGN_OFFICIAL", REPO_ROOT.parent / "shared" / "reference" / "official"))
OFFICIAL = OFFICIAL_DIR / "self-ossinstruct-fewshot.txt"
SHA = "22aae54cc36fafff0d770eb19ba23192beb3260eacf638b2476ba0e4d2ce4f26"

needs_file = pytest.mark.skipif(not OFFICIAL.is_file(), reason=f"official few-shot file not at {OFFICIAL} (SELFALIGN_OFFICIAL)")


# ------------------------------------------------------------------ the official code's way
def ref_parse(text: str):
    """self_ossinstruct.py:327-370: system lines by position, examples as dicts."""
    content = text.strip()
    splits = re.split(r"### Example \d+", content)
    sys_part = splits[0].strip()
    _, i_r, c_i, s_c, s_i = [x.strip() for x in re.split(
        r"### System: I->R|### System: C->I|### System: S->C|### System: S->I", sys_part)]
    examples = []
    for ex in (e.strip() for e in splits[1:]):
        _, snippet, prop, instruction, response, tests = re.split(
            r"\[Code\]\n|\[Property\]\n|\[Instruction\]\n|\[Response\]\n|\[Tests\]\n", ex)
        lines = prop.strip().split("\n")
        category, language, difficulty, concepts = [ln[ln.index(":") + 1:].strip() for ln in lines]
        examples.append(dict(snippet=snippet.rstrip(), category=category, language=language, difficulty=difficulty,
                             concepts=[c.strip() for c in concepts.split(",")], instruction=instruction.strip(),
                             response=response.strip(), tests=tests.strip()))
    return {"I->R": i_r, "C->I": c_i, "S->C": s_c, "S->I": s_i}, examples


def ref_property(category: str, language: str, difficulty: str, concepts: list[str]) -> str:
    return (f"category: {category}\nlanguage: {language}\ndifficulty: {difficulty}\n"
            f"concepts: {', '.join(concepts)}")                           # :147-152


PREFIX = {"I->R": "<instruction>\n{instruction}\n</instruction>\n\n<response>\n",   # :185-201
          "S->C": "### Snippet\n{snippet}\n\n### Concepts\n",
          "C->I": "### Properties\n{property}\n\n### Task\n",
          "S->I": "### Snippet\n{snippet}\n\n### Task\n"}


LLAMA3_IR = "### Instruction {index} \n{instruction}\n\n### Response {index}\n"     # :187-190


def ref_prompt_llama3(system: dict, shots: list[dict], instruction: str) -> str:
    """LLAMA3 set: :211-217 (numbered sections), :297 and :302-303 (indices), :335-336 (system)."""
    sys_ir = f"{system['I->R']}\n\nFor each '## Example' below, make sure you provide a '### Response' and a '### Tests' section."
    body = "\n\n".join(f"## Example {i + 1}\n" + LLAMA3_IR.format(index=str(i + 1), instruction=ex["instruction"])
                       + f"{ex['response']}\n\n### Tests {i + 1}\n{ex['tests']}" for i, ex in enumerate(shots))
    prefix = f"## Example {len(shots) + 1}\n" + LLAMA3_IR.format(index=str(len(shots) + 1), instruction=instruction)
    return f"{sys_ir}\n\n{body}\n\n{prefix}".rstrip()


def ref_example(mode: str, ex: dict) -> str:                                # :205-240
    if mode == "I->R":
        return PREFIX[mode].format(instruction=ex["instruction"]) + \
            f"{ex['response']}\n</response>\n\n<tests>\n{ex['tests']}\n</tests>"
    if mode == "S->C":
        return PREFIX[mode].format(snippet=ex["snippet"]) + ", ".join(ex["concepts"])
    if mode == "C->I":
        prop = ref_property(ex["category"], ex["language"], ex["difficulty"], ex["concepts"])
        return PREFIX[mode].format(property=prop) + ex["instruction"]
    return PREFIX[mode].format(snippet=ex["snippet"]) + ex["instruction"]


def ref_prompt(system: dict, mode: str, shots: list[dict], **fmt: str) -> str:   # :293-308, :553
    body = "\n\n".join(f"## Example {i + 1}\n{ref_example(mode, ex)}" for i, ex in enumerate(shots))
    prefix = f"## Example {len(shots) + 1}\n" + PREFIX[mode].format(**fmt)
    return f"{system[mode]}\n\n{body}\n\n{prefix}".rstrip()


# ------------------------------------------------------------------------------------ tests
@pytest.fixture(scope="module")
def official():
    if not OFFICIAL.is_file():
        pytest.skip(f"official few-shot file not at {OFFICIAL} (SELFALIGN_OFFICIAL)")
    return load_set(str(OFFICIAL))


@needs_file
def test_the_reference_copy_is_the_pinned_file():
    assert hashlib.sha256(OFFICIAL.read_bytes()).hexdigest() == SHA


@needs_file
def test_loader_reads_the_official_file_as_the_official_parser(official):
    system, ref = ref_parse(OFFICIAL.read_text())
    assert official.system == system and len(official.examples) == len(ref) == 21
    cats = {"function implementation": "function", "class implementation": "class", "program implementation": "program"}
    for ours, r in zip(official.examples, ref):
        assert (ours.seed, ours.concepts, ours.instruction, ours.response, ours.tests, ours.language) == \
               (r["snippet"], r["concepts"], r["instruction"], r["response"], r["tests"], r["language"])
        assert cats[r["category"]] == ours.category and r["difficulty"] == ours.difficulty
    mix = [e.category for e in official.examples]
    assert (mix.count("function"), mix.count("class"), mix.count("program")) == (15, 2, 4)
    assert official.sha256 == SHA


SEED = 'def clamp(x, lo, hi):\n    """Clamp x to [lo, hi]."""\n    return max(lo, min(x, hi))'


@needs_file
@pytest.mark.parametrize("k", [1, 4, 8])
def test_every_prompt_kind_is_byte_identical_to_the_officials(official, k):
    """S->C, C->I, S->I and I->R from the official file, the shots drawn as the official draws
    them (random.sample of the examples, :293), our builders vs the reference builder."""
    system, ref = ref_parse(OFFICIAL.read_text())
    for trial in range(6):
        random.seed(3407 + trial)
        idx = random.sample(range(len(ref)), k=k)
        shots, rshots = [official.examples[i] for i in idx], [ref[i] for i in idx]
        seed = SEED if trial % 2 else SEED + "\n"          # the open seed is used as it comes (:396)
        assert P.prompt_sc(seed, shots, official.system["S->C"]) == ref_prompt(system, "S->C", rshots, snippet=seed)
        assert P.prompt_si(seed, shots, official.system["S->I"]) == ref_prompt(system, "S->I", rshots, snippet=seed)
        concepts = ["bit manipulation", "input validation"]
        for cat, diff in (("function", "easy"), ("class", "hard"), ("program", "medium")):
            prop = ref_property(P.CATEGORIES[cat], "Python", diff, concepts)
            assert P.prompt_ci(concepts, cat, diff, shots, official.system["C->I"]) == \
                ref_prompt(system, "C->I", rshots, property=prop)
        instruction = "Write a Python function `clamp(x, lo, hi)` that limits `x` to the closed range."
        assert P.prompt_ir(instruction, shots[:1], official.system["I->R"]) == \
            ref_prompt(system, "I->R", rshots[:1], instruction=instruction)
        assert P.prompt_ir(instruction, shots, official.system["I->R"], llama3=True) == \
            ref_prompt_llama3(system, rshots, instruction)


@needs_file
def test_the_stages_build_their_prompts_from_the_configured_file(official, cfg):
    """generate.fewshot reaches the stage: its examples and its own system line."""
    from selfalign.generate import response_jobs
    from selfalign.records import Instruction

    cfg["generate"]["fewshot"] = str(OFFICIAL)
    ins = Instruction(id="i-1", parent_id="c-1", seed_id="s-1", concepts=["x"], category="function",
                      difficulty="easy", instruction="Write `f(x)` that returns x.", fewshot_ids=[])
    job = response_jobs(cfg, [ins], official, set())[0]
    assert job.prompt.startswith(official.system["I->R"] + "\n\n## Example 1\n<instruction>\n")
    assert P.SYSTEM_IR not in job.prompt


def test_paper_config_pins_the_official_file_at_045354e():
    cfg = yaml.safe_load((REPO_ROOT / "config" / "paper.yaml").read_text())
    url = cfg["generate"]["fewshot"]
    assert url == ("https://raw.githubusercontent.com/bigcode-project/selfcodealign/"
                   f"045354e1f60ed01b0652ff9716359bb73d246740/prompts/self-ossinstruct-fewshot.txt#sha256={SHA}")


@pytest.fixture
def served():
    """The official file's folder on a local HTTP server (offline: 127.0.0.1 only)."""
    if not OFFICIAL.is_file():
        pytest.skip(f"official few-shot file not at {OFFICIAL} (SELFALIGN_OFFICIAL)")
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(OFFICIAL_DIR)))
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/{OFFICIAL.name}", server
    server.shutdown()
    server.server_close()


def test_a_pinned_url_is_fetched_once_checked_and_cached(served, tmp_path):
    url, server = served
    fs = load_set(f"{url}#sha256={SHA}", tmp_path)
    assert len(fs.examples) == 21 and fs.sha256 == SHA
    cached = list((tmp_path / "fewshot").iterdir())
    assert len(cached) == 1 and hashlib.sha256(cached[0].read_bytes()).hexdigest() == SHA
    server.shutdown()                               # the second read needs no network
    server.server_close()
    assert load_set(f"{url}#sha256={SHA}", tmp_path).examples == fs.examples
    cached[0].write_text("tampered")                 # a changed cache entry is fetched again: here, it fails
    with pytest.raises(FewShotError, match="could not fetch"):
        load_set(f"{url}#sha256={SHA}", tmp_path)


def test_a_url_with_another_hash_or_none_is_refused(served, tmp_path):
    url, _ = served
    with pytest.raises(FewShotError, match="not the pinned"):
        load_set(f"{url}#sha256={'0' * 64}", tmp_path)
    with pytest.raises(FewShotError, match="needs #sha256"):
        fetch(url, "", tmp_path)
    assert not (tmp_path / "fewshot").exists() or not any((tmp_path / "fewshot").iterdir())


@needs_file
def test_a_file_url_works_too(tmp_path):
    assert len(load_set(f"{OFFICIAL.as_uri()}#sha256={SHA}", tmp_path).examples) == 21


def test_config_refuses_an_unpinned_url():
    from selfalign.config import ConfigError, resolve
    with pytest.raises(ConfigError, match="generate.fewshot"):
        resolve({"generate": {"fewshot": "https://example.org/fewshot.txt"}})
    resolve({"generate": {"fewshot": f"https://example.org/fewshot.txt#sha256={SHA}"}})
    resolve({"generate": {"fewshot": "../shared/reference/official/self-ossinstruct-fewshot.txt"}})


def test_a_malformed_official_file_is_named(tmp_path):
    bad = "### System: I->R\na\n\n### System: C->I\nb\n\n### System: S->C\nc\n\n### System: S->I\nd\n\n" \
          "### Example 1\n[Code]\nx = 1\n\n[Property]\ncategory: function implementation\n\n[Instruction]\nDo.\n"
    with pytest.raises(FewShotError, match="example 1: expected"):
        parse_official(bad, "bad.txt")
    with pytest.raises(FewShotError, match="four '### System"):
        parse_official("### Example 1\n[Code]\n", "bad.txt")
