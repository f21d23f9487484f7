import pytest

from selfalign import prompts as P


@pytest.fixture(scope="module")
def shots():
    return P.load_fewshot()


def test_fewshot_mix_matches_paper(shots):
    from collections import Counter
    assert len(shots) >= 21
    cats = Counter(s.category for s in shots)
    assert cats["function"] >= 15 and cats["class"] >= 2 and cats["program"] >= 4
    assert len({s.id for s in shots}) == len(shots)


def test_prompts_end_where_the_model_writes(shots):
    assert P.prompt_sc("def f(x):\n    return x", shots[:2]).endswith("### Concepts\n")
    assert P.prompt_ci(["a", "b"], "class", "hard", shots[:2]).endswith("### Task\n")
    assert "- difficulty: hard" in P.prompt_ci(["a"], "class", "hard", shots[:1])
    assert P.prompt_ir("Do X.", shots[:1]).endswith("### Response\n")
    assert P.prompt_si("def g(): pass", "program", "easy", shots[:1]).endswith("### Task\n")


def test_same_seed_same_prompts(shots):
    a = [P.pick_shots(P.item_rng(42, "concepts", i), shots, 8) for i in range(5)]
    b = [P.pick_shots(P.item_rng(42, "concepts", i), shots, 8) for i in range(5)]
    c = [P.pick_shots(P.item_rng(43, "concepts", i), shots, 8) for i in range(5)]
    assert a == b and a != c


def test_property_draw_follows_weights():
    import random
    rng = random.Random(0)
    draws = [P.draw_properties(rng, {"function": 0.5, "class": 0.25, "program": 0.25}, {"easy": 1, "medium": 1, "hard": 0})
             for _ in range(4000)]
    share = sum(c == "function" for c, _ in draws) / len(draws)
    assert 0.45 < share < 0.55
    assert all(d != "hard" for _, d in draws)


def test_parse_concepts():
    assert P.parse_concepts(" recursion, memoization , recursion\nmore") == ["recursion", "memoization"]
    with pytest.raises(P.ParseError):
        P.parse_concepts("   \n")


def test_parse_instruction():
    assert P.parse_instruction("Write a function that adds two numbers.\n### Properties\n- x") == \
        "Write a function that adds two numbers."
    with pytest.raises(P.ParseError):
        P.parse_instruction("short")


GOOD = """Sum the list.

```python
def total(xs):
    return sum(xs)
```

### Tests
```python
assert total([1, 2]) == 3
```
"""


def test_parse_response_good():
    resp, tests, code, tcode = P.parse_response(GOOD)
    assert code.startswith("def total") and tcode == "assert total([1, 2]) == 3"
    assert "### Tests" not in resp


@pytest.mark.parametrize("text,why", [
    ("no code at all\n### Tests\n```python\nassert 1\n```", "no code block"),
    ("```python\ndef f(): pass\n```", "no tests section"),
    ("```python\ndef f(): pass\n```\n### Tests\nassert f()", "tests have no code block"),
    ("```python\ndef f(): pass\n```\n### Tests\n```python\nprint(f())\n```", "no assert"),
    ("```python\ndef f(): pass\n```\n### Tests\n```python\nassert f(", "tests have no code block"),  # truncated
])
def test_parse_response_malformed(text, why):
    with pytest.raises(P.ParseError, match=why):
        P.parse_response(text)


def test_sft_template_roundtrip():
    p = P.sft_prompt("  Do the thing.\n")
    assert p.startswith(P.SFT_SYSTEM) and p.endswith("### Response\n") and "### Instruction\nDo the thing.\n" in p


def test_parse_response_accepts_header_variants():
    for header in ("### Test", "## Tests:", "### tests"):
        _, _, code, tcode = P.parse_response(GOOD.replace("### Tests", header))
        assert code.startswith("def total") and tcode.startswith("assert")
