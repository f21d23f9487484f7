from selfalign.prompts import load_fewshot
from selfalign.records import Execution, Instruction, Response
from selfalign.selection import augment_with_asserts, select_sft

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


def test_pass_mode_keeps_one_passing_original_response(cfg):
    cfg["select"]["augment_asserts_prob"] = 0.0
    ins, rs, ex = _data()
    sft, funnel = select_sft(cfg, ins, rs, ex, SHOTS)
    assert [s.response_id for s in sft] == ["i0-r0"]
    st = steps(funnel)
    assert st["fewshot_copy"]["dropped"] == 1 and st["test_sanity"]["dropped"] == 1
    assert st["passing"]["dropped"] == 1 and st["sft"]["kept"] == 1


def test_fail_mode_keeps_failing(cfg):
    cfg["select"].update(mode="fail", augment_asserts_prob=0.0)
    ins, rs, ex = _data()
    sft, _ = select_sft(cfg, ins, rs, ex, SHOTS)
    assert [s.response_id for s in sft] == ["i0-r1"] and sft[0].verdict == "fail"


def test_choice_is_seeded(cfg):
    cfg["select"].update(mode="random", augment_asserts_prob=0.0, test_sanity=False)
    ins, rs, ex = _data()
    a = [s.response_id for s in select_sft(cfg, ins, rs, ex, SHOTS)[0]]
    b = [s.response_id for s in select_sft(cfg, ins, rs, ex, SHOTS)[0]]
    assert a == b


def test_decontamination_drops_benchmark_text(cfg):
    cfg["select"]["augment_asserts_prob"] = 0.0
    ins, rs, ex = _data()
    bench = ["Write `cube(n)` returning n to the third power of the given integer please now"]
    sft, funnel = select_sft(cfg, ins, rs, ex, SHOTS, benchmark_texts=bench)
    assert sft == [] and steps(funnel)["decontaminate"]["dropped"] == 1


def test_augmentation_appends_asserts():
    out = augment_with_asserts("Do it.", "x = 1\nassert f(1) == 2\n  assert f(2) == 3")
    assert out.endswith("```python\nassert f(1) == 2\nassert f(2) == 3\n```")
    assert augment_with_asserts("Do it.", "print(1)") == "Do it."
