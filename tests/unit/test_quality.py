from selfalign.prompts import code_blocks, load_fewshot
from selfalign.select.quality import code_similarity, copy_reason, exercises_response_code

EX = {e.id: e for e in load_fewshot()}


def _code(ex):
    return "\n\n".join(code_blocks(ex.response))


def test_verbatim_copy_is_dropped():
    ex = EX["fs03"]
    assert copy_reason("Group words.", _code(ex), "assert 1", [], [ex], 0.8, 0.8).startswith("response copies fs03")


def test_renamed_copy_is_dropped():
    ex = EX["fs03"]
    renamed = _code(ex).replace("anagram_groups", "cluster_words").replace("groups", "buckets").replace("word", "w")
    assert code_similarity(renamed, _code(ex)) > 0.95
    assert copy_reason("Cluster strings.", renamed, "assert 1", [], [ex], 0.8, 0.8) == "response copies fs03"


def test_different_solution_to_similar_task_is_kept():
    ex = EX["fs03"]
    other = '''def anagram_groups(words):
    from collections import defaultdict
    index = defaultdict(list)
    order = []
    for w in words:
        key = tuple(sorted(w.lower()))
        if key not in index:
            order.append(key)
        index[key].append(w)
    return [index[k] for k in order]
'''
    assert copy_reason("Group anagrams in order of appearance.", other, "assert anagram_groups([]) == []",
                       [], [ex], 0.8, 0.8) == ""


def test_copied_instruction_is_dropped():
    ex = EX["fs01"]
    text = ex.instruction.replace("clean_config", "clean_config_input")
    assert copy_reason(text, "def f(): return 1", "assert f()", [ex], [], 0.8, 0.8) == "instruction copies fs01"


def test_copied_tests_are_dropped():
    ex = EX["fs02"]
    tests = "\n".join(code_blocks(ex.tests)).replace("convert_speeds", "kmh_to_ms")
    code = "def kmh_to_ms(v):\n    out = []\n    for x in v:\n        out.append(round(x * 1000 / 3600, 2))\n    return out"
    assert copy_reason("Convert speeds.", code, tests,
                       [], [ex], 0.8, 0.8) == "tests copy fs02"


CODE = "def area(w, h):\n    return w * h\n\nclass Box:\n    def volume(self):\n        return 1\n"


def test_sanity_accepts_direct_and_indirect_calls():
    assert exercises_response_code(CODE, "assert area(2, 3) == 6")
    assert exercises_response_code(CODE, "b = Box()\nassert b.volume() == 1")
    assert exercises_response_code(CODE, "r = area(1, 1)\nassert r == 1")


def test_sanity_rejects_constant_and_unrelated_asserts():
    assert not exercises_response_code(CODE, "assert 1 + 1 == 2")
    assert not exercises_response_code(CODE, "assert len([1, 2]) == 2")
    assert not exercises_response_code(CODE, "area(1, 2)\nprint('ok')")
    assert not exercises_response_code("x = ", "assert area(1, 1)")
