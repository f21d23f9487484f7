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
    assert P.prompt_sc("def f(x):\n    return x", shots[:2]).endswith("## Example 3\n### Snippet\ndef f(x):\n    return x\n\n### Concepts")
    assert P.prompt_ci(["a", "b"], "class", "hard", shots[:2]).endswith("concepts: a, b\n\n### Task")
    assert "\ndifficulty: hard\n" in P.prompt_ci(["a"], "class", "hard", shots[:1])
    assert P.prompt_ir("Do X.", shots[:1]).endswith("## Example 2\n<instruction>\nDo X.\n</instruction>\n\n<response>")
    assert P.prompt_si("def g(): pass", shots[:1]).endswith("## Example 2\n### Snippet\ndef g(): pass\n\n### Task")


def test_official_layout_of_an_ir_prompt(shots):
    """self_ossinstruct.py:185-310: system line, "## Example N" blocks with the tagged
    instruction/response/tests of our own few-shot data, then the open example."""
    ex = shots[0]
    p = P.prompt_ir("Write `f`.", [ex])
    assert p.startswith(P.SYSTEM_IR + "\n\n## Example 1\n<instruction>\n" + ex.instruction + "\n</instruction>\n\n<response>\n")
    assert f"{ex.response}\n</response>\n\n<tests>\n{ex.tests}\n</tests>\n\n## Example 2\n" in p
    assert p.count("## Example") == 2 and P.STOP_IR == ["## Example", "</tests>"]


def test_si_prompt_has_no_properties(shots):
    p = P.prompt_si("def g(x):\n    return x", shots[:3])
    assert "category" not in p and "difficulty" not in p and "### Properties" not in p
    assert p.count("### Task\n") == 3 and p.count("## Example") == 4


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


# what a model writes after "<response>" when it stops at "</tests>" (the stop string is cut off)
GOOD = """
Sum the list.

```python
def total(xs):
    return sum(xs)
```
</response>

<tests>
```python
assert total([1, 2]) == 3
```
"""


def test_parse_response_good():
    resp, tests, code, tcode = P.parse_response(GOOD)
    assert code.startswith("def total") and tcode == "assert total([1, 2]) == 3"
    assert "</response>" not in resp and "<tests>" not in tests and resp.startswith("Sum the list.")


@pytest.mark.parametrize("text,why", [
    ("no code at all\n</response>\n\n<tests>\n```python\nassert 1\n```", "response has no python block"),
    ("```python\ndef f(): pass\n```", "no tests section"),
    # sanitize_data.py:92: exactly "</response>\n\n<tests>"
    ("```python\ndef f(): pass\n```\n</response>\n<tests>\n```python\nassert f()\n```", "no tests section"),
    ("```python\ndef f(): pass\n```\n</response>\n\n<tests>\nassert f()", "tests have no python block"),
    # at least one ```python block on each side (sanitize_data.py:143-146): ```py or untagged is not one
    ("```py\ndef f(): pass\n```\n</response>\n\n<tests>\n```python\nassert f()\n```", "response has no python block"),
    ("```python\ndef f(): pass\n```\n</response>\n\n<tests>\n```\nassert f()\n```", "tests have no python block"),
    ("```python\ndef f(): pass\n```\n</response>\n\n<tests>\n```python\nprint(f())\n```", "no assert"),
    ("```python\ndef f(): pass\n```\n</response>\n\n<tests>\n```python\nassert f(", "tests have no python block"),
    ("```python\ndef f(): pass\n```\n</response>\n\n<tests>\n```python\ndef test():\n    assert f()\n```", "only define"),
    (GOOD + "</response>\n\n<tests>\n```python\nassert 2\n```", "several tests sections"),
])
def test_parse_response_malformed(text, why):
    with pytest.raises(P.ParseError, match=why):
        P.parse_response(text)


def test_a_bash_block_before_the_python_block_pairs_as_the_official():
    """Issue 25's example: every fence is paired whatever its tag (utils.py:150-192), so the bash
    block cannot shift the pairing of the python one."""
    text = "First:\n```bash\npip install x\n```\nThen:\n```python\ndef f(x): ...```"
    assert P.code_blocks(text) == ["pip install x", "def f(x): ..."]
    assert P.code_blocks(text, "python") == ["def f(x): ..."]
    assert P.code_blocks("```Python\nx = 1\n```\n```\ny\n```", "python") == ["x = 1"]
    assert P.code_blocks("```python\nopen\n") == []                     # unclosed: no block


def test_every_block_of_the_completion_runs_as_the_official():
    """execution_filter.py:134-152 runs every block (any tag) of the response and of the tests;
    the format check still needs a python block on each side."""
    text = ("Install it:\n```bash\npip install x\n```\nThen:\n```python\ndef f(x):\n    return x\n```\n"
            "</response>\n\n<tests>\n```python\nassert f(1) == 1\n```\nOutput:\n```\nok\n```\n")
    _, _, code, tcode = P.parse_response(text)
    assert code == "pip install x\n\ndef f(x):\n    return x"       # bash runs too, and fails (as the official)
    assert tcode == "assert f(1) == 1\n\nok"


def test_a_block_across_the_split_belongs_to_the_solution():
    """The pairing is the whole completion's: an unclosed fence in the response swallows the split,
    and the program that runs holds "</response>" (a syntax error, as in the official's one script)."""
    text = ("```python\ndef f():\n    return 1\n```\n```\nnote\n</response>\n\n<tests>\n"
            "```python\nassert f() == 1\n```\n")
    _, _, code, tcode = P.parse_response(text)
    assert "</response>" in code and tcode == ""


def test_parse_response_ignores_text_past_a_missed_stop():
    _, tests, _, tcode = P.parse_response(GOOD + "</tests>\n\n## Example 3\n<instruction>\nmore")
    assert tcode == "assert total([1, 2]) == 3" and "Example" not in tests


def test_sft_template_roundtrip():
    p = P.sft_prompt("  Do the thing.\n")
    assert p.startswith(P.SFT_SYSTEM) and p.endswith("### Response\n") and "### Instruction\nDo the thing.\n" in p


def test_loop_cut_finds_the_first_copy_of_a_repeated_block():
    text = "x = 1\nassert f(1) == 2\nassert f(2) == 3\n" + "assert f(2) == 3\n" * 5 + "assert f("
    cut = P.loop_cut(text, 4)
    assert text[:cut] == "x = 1\nassert f(1) == 2\nassert f(2) == 3\n"
    two = "a = g()\n" + "print(a)\nprint(b)\n" * 4
    assert two[:P.loop_cut(two, 4)] == "a = g()\nprint(a)\nprint(b)\n"
    assert P.loop_cut("a\nb\nc\nd\ne\n", 2) is None and P.loop_cut("x\n" * 3, 4) is None
    counting = "def p(n):\n    return n\n" + "".join(f"Second largest: {k}.\n" for k in range(13, 30))
    assert counting[:P.loop_cut(counting, 4)] == "def p(n):\n    return n\nSecond largest: 13.\n"


def test_close_open_fence():
    assert P.close_open_fence("```python\nassert f(1)\n") == "```python\nassert f(1)\n```"
    assert P.close_open_fence("```python\nx\n```\n") == "```python\nx\n```\n"


def test_runnable_block_cuts_a_main_that_reads_input_as_the_official():
    """execution_filter.py:135-149: only in a block mentioning input, cut at the first main guard
    (this exact spelling) to the end of the block; every block stripped."""
    from selfalign.codeblocks import runnable_block
    code = ("def add(a, b):\n    return a + b\n\nif __name__ == '__main__':\n    x = int(input())\n"
            "\n    print(add(x, 1))\n\nVALUE = add(1, 2)\n")
    assert runnable_block(code) == "def add(a, b):\n    return a + b"   # the rest of the block goes too
    keep = '\ndef f():\n    return 1\n\nif __name__ == "__main__":\n    print(f())\n'
    assert runnable_block(keep) == keep.strip()     # no input(): it cannot block, it stays
    odd = "x = input\nif __name__=='__main__':\n    pass\n"
    assert runnable_block(odd) == odd.strip()       # another spelling is not cut (as the official)


# what Llama-3 writes after "### Response 2\n" (the official LLAMA3 variant)
LLAMA3 = """Sum the list.

```python
def total(xs):
    return sum(xs)
```

### Tests 2
```python
assert total([1, 2]) == 3
```"""


def test_llama3_variant_splits_its_tests_as_the_official():
    """sanitize_data.py:93-122: "### Tests <digit>\\n" once, else the first of the listed phrases."""
    resp, tests, code, tcode = P.parse_response(LLAMA3, llama3=True)
    assert resp.endswith("```") and "### Tests" not in resp and tcode == "assert total([1, 2]) == 3"
    assert code == "def total(xs):\n    return sum(xs)"
    phrase = LLAMA3.replace("### Tests 2\n", "To test the function, run:\n")
    _, tests, _, tcode = P.parse_response(phrase, llama3=True)
    assert tests.startswith("To test the function") and tcode == "assert total([1, 2]) == 3"
    with pytest.raises(P.ParseError, match="several tests sections"):
        P.parse_response(LLAMA3 + "\n### Tests 3\n```python\nassert 1\n```", llama3=True)
    with pytest.raises(P.ParseError, match="no tests section"):
        P.parse_response(LLAMA3.replace("### Tests 2\n", ""), llama3=True)
    with pytest.raises(P.ParseError, match="no tests section"):
        P.parse_response(LLAMA3)                                        # the tagged parse needs the tags


def test_llama3_prompt_numbers_its_sections(shots):
    p = P.prompt_ir("Do X.", shots[:1], llama3=True)
    assert p.startswith(P.SYSTEM_IR + P.LLAMA3_SYSTEM_SUFFIX + "\n\n## Example 1\n### Instruction 1 \n")
    assert f"{shots[0].response}\n\n### Tests 1\n{shots[0].tests}\n\n## Example 2\n" in p
    assert p.endswith("## Example 2\n### Instruction 2 \nDo X.\n\n### Response 2")


def test_llama3_format_follows_the_generating_models_family(cfg):
    from selfalign.generate import llama3_format
    assert not llama3_format(cfg)                                        # gemma3
    assert llama3_format({**cfg, "model": "llama3-8b"})
    assert llama3_format({**cfg, "teacher": "llama3-8b"})
    cfg["generate"]["responses"]["format"] = "llama3"
    assert llama3_format(cfg)
    cfg["generate"]["responses"]["format"] = "tagged"
    assert not llama3_format({**cfg, "model": "llama3-8b"})
