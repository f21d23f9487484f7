from selfalign.prompts import load_fewshot
from selfalign.records import Execution, Instruction, Response
from selfalign.select.sanitize import augment_with_asserts
from selfalign.select import select_sft

SHOTS = load_fewshot()


def _ins(i, text):
    return Instruction(id=f"i{i}", parent_id="c", seed_id=f"s{i}", concepts=["x"], category="function",
                       difficulty="easy", instruction=text, fewshot_ids=[])


def _resp(i, k, code, tests, shots=()):
    return Response(id=f"i{i}-r{k}", instruction_id=f"i{i}", instruction="", response=f"Idea.\n```python\n{code}\n```",
                    tests=f"```python\n{tests}\n```", code=code, test_code=tests, fewshot_ids=list(shots))


def _exe(r, verdict):
    return Execution(id=r.id, instruction_id=r.instruction_id, verdict=verdict, exit_code=0 if verdict == "pass" else 1,
                     duration_s=0.1)


def _data():
    ins = [_ins(0, "Write `cube(n)` returning n to the third power."),
           _ins(1, "Write `label(n)` that returns 'even' or 'odd' for an integer n."),
           _ins(2, "Write a function that returns the longest word of a sentence, first one on ties.")]
    rs = [_resp(0, 0, "def cube(n):\n    return n ** 3", "assert cube(2) == 8"),
          _resp(0, 1, "def cube(n):\n    return n * n * n", "assert cube(3) == 27"),
          _resp(1, 0, "def label(n):\n    return 'even' if n % 2 == 0 else 'odd'", "assert 1 == 1"),     # insane tests
          _resp(2, 0, "\n\n".join(__import__('selfalign.prompts', fromlist=['x']).code_blocks(SHOTS[6].response)),
                "assert longest_palindromic_word('a') == 'a'", shots=[SHOTS[6].id])]                   # few-shot copy
    for r, ins_ in zip(rs, [ins[0], ins[0], ins[1], ins[2]]):
        r.instruction = ins_.instruction
    ex = [_exe(rs[0], "pass"), _exe(rs[1], "fail"), _exe(rs[2], "pass"), _exe(rs[3], "pass")]
    return ins, rs, ex


def steps(funnel):
    return {s["step"]: s for s in funnel.as_list()}


def _ours_on(cfg):
    cfg["select"].update(test_sanity=True)
    cfg["select"]["fewshot_copy"]["enabled"] = True


def test_pass_mode_keeps_one_passing_original_response(cfg):
    _ours_on(cfg)
    ins, rs, ex = _data()
    sft, funnel = select_sft(cfg, ins, rs, ex, SHOTS)
    assert [s.response_id for s in sft] == ["i0-r0"]
    st = steps(funnel)
    assert st["fewshot_copy"]["dropped"] == 1 and st["test_sanity"]["dropped"] == 1
    assert st["passing"]["dropped"] == 1 and st["sft"]["kept"] == 1


def test_fail_mode_keeps_failing(cfg):
    _ours_on(cfg)
    cfg["select"].update(mode="fail")
    ins, rs, ex = _data()
    sft, _ = select_sft(cfg, ins, rs, ex, SHOTS)
    assert [s.response_id for s in sft] == ["i0-r1"] and sft[0].verdict == "fail"


def test_choice_is_seeded(cfg):
    cfg["select"].update(mode="random")
    ins, rs, ex = _data()
    a = [s.response_id for s in select_sft(cfg, ins, rs, ex, SHOTS)[0]]
    b = [s.response_id for s in select_sft(cfg, ins, rs, ex, SHOTS)[0]]
    assert a == b


def test_decontamination_drops_benchmark_text(cfg):
    from selfalign.decontam import SubstringMatcher
    _ours_on(cfg)
    ins, rs, ex = _data()
    dec = SubstringMatcher({"bench": ["RETURNING N TO THE THIRD POWER"]}, case_sensitive=False)
    sft, funnel = select_sft(cfg, ins, rs, ex, SHOTS, dec)
    assert sft == [] and steps(funnel)["decontaminate"]["dropped"] == 1


def _pair(i, instruction, code, tests="assert f(1) == 1", response=None):
    r = _resp(i, 0, code, tests)
    r.instruction = instruction
    if response is not None:
        r.response = response
    return _ins(i, instruction), r, _exe(r, "pass")


def _run(cfg, pairs):
    ins, rs, ex = zip(*pairs)
    return select_sft(cfg, list(ins), list(rs), list(ex), SHOTS)


def test_same_defined_names_under_different_bodies_keep_one(cfg):
    """sanitize_data.py:380-393: the second response defining `Stack` with `push`/`pop` again is
    dropped though its bodies and instruction differ; different names are kept."""
    a = "class Stack:\n    def __init__(self):\n        self.items = []\n    def push(self, x):\n        self.items.append(x)\n" \
        "    def pop(self):\n        return self.items.pop()"
    b = "class stack:\n    def __init__(self):\n        self._data = list()\n    def push(self, item):\n" \
        "        self._data.insert(0, item)\n    def pop(self):\n        return self._data.pop(0)"
    c = "def queue_sum(q):\n    return sum(q)"
    sft, funnel = _run(cfg, [_pair(0, "Write a stack class with push and pop methods, backed by a list.", a),
                             _pair(1, "Implement a LIFO container type that supports adding and removing items.", b),
                             _pair(2, "Write a function returning the sum of the numbers in a queue.", c)])
    st = steps(funnel)["name_set_dedup"]
    assert st["dropped"] == 1 and st["reasons"] == {"names_seen": 1} and len(sft) == 2
    ids = {s.id for s in sft}
    assert "i2" in ids and len(ids & {"i0", "i1"}) == 1
    cfg["select"]["name_dedup"] = False
    assert len(_run(cfg, [_pair(0, "Write a stack class with push and pop methods, backed by a list.", a),
                          _pair(1, "Implement a LIFO container type that supports adding and removing items.", b)])[0]) == 2


def test_long_instruction_and_incomplete_code_are_dropped(cfg):
    long = "Write a function that adds numbers. " + "Be careful about every detail of the input. " * 30
    sft, funnel = _run(cfg, [
        _pair(0, long, "def add(a, b):\n    return a + b"),
        _pair(1, "Write a function that doubles a number and returns it.", "def double(x):\n    # TODO: negative numbers\n    return 2 * x"),
        _pair(2, "Write a function that negates a boolean value and returns it.", "def neg(x):\n    raise NotImplementedError"),
        _pair(3, "Write a function returning the maximum of two integers given.", "def biggest(a, b):\n    return max(a, b)")])
    st = steps(funnel)
    assert st["long_instruction"]["dropped"] == 1 and st["incomplete_code"]["dropped"] == 2
    assert st["incomplete_code"]["reasons"] == {"todo": 1, "notimplemented": 1}
    assert [s.id for s in sft] == ["i3"]


def test_one_response_per_instruction_is_the_first_passing_in_a_seeded_shuffle(cfg):
    ins = _ins(0, "Write `cube(n)` returning n to the third power.")
    rs = [_resp(0, k, f"def cube(n):\n    return n ** 3  # variant {k}", "assert cube(2) == 8") for k in range(4)]
    for r in rs:
        r.instruction = ins.instruction
    ex = [_exe(r, "pass") for r in rs]
    a, funnel = select_sft(cfg, [ins], rs, ex, SHOTS)
    b, _ = select_sft(cfg, [ins], rs, ex, SHOTS)
    assert len(a) == 1 and a[0].response_id == b[0].response_id
    assert steps(funnel)["one_per_instruction"]["dropped"] == 3


def test_code_representation_and_syntax_errors(cfg):
    from selfalign.select.sanitize import code_representation
    rep = code_representation('import os\n\ndef f(x):\n    """Doc."""\n    return x\n\nprint(f(1))\n')
    assert rep == "def f(x):\n    return x"
    assert code_representation("def f(:\n") is None and code_representation("x = 1") == ""
    sft, funnel = _run(cfg, [_pair(0, "Write a function that returns its argument unchanged.", "def f(x):\n    return x",
                                   response="Idea.\n```python\ndef f(x):\n    return x\n```\n```python\nf(\n```")])
    assert sft == [] and steps(funnel)["code_representation"]["dropped"] == 1


def test_augmentation_is_off_by_default_and_official_when_on(cfg):
    import random
    assert cfg["select"]["augment_asserts_prob"] == 0
    tests = "assert f(1) == 2\nassert f(2) == 3\nassert f(3) == 4"
    outs = {augment_with_asserts("Do it.", tests, random.Random(k), 1.0) for k in range(20)}
    assert all(o.startswith("Do it.\n\nYour code should pass the following assertion") for o in outs)
    assert any(o.count("assert f(") == 1 for o in outs) and any(o.count("assert f(") == 3 for o in outs)
    assert augment_with_asserts("Do it, for example f(1) == 2.", tests, random.Random(0), 1.0) == "Do it, for example f(1) == 2."
    assert augment_with_asserts("Do it.", "print(1)", random.Random(0), 1.0) == "Do it."
    case = augment_with_asserts("Do it.", "x = f(1)\nassert x == 2", random.Random(0), 1.0)
    assert case.endswith("following test case:\n```python\nx = f(1)\nassert x == 2\n```")
