"""How generation work is cut into groups for resumable, batch-exact runs."""
from selfalign.generate import Job, job_groups


def _jobs(prompts, done=()):
    return [Job(i, p, make=lambda c: [], key=f"k{i}", done=i in done) for i, p in enumerate(prompts)]


def test_groups_are_cut_from_all_jobs_in_prompt_order():
    jobs = _jobs(["d", "a", "c", "b", "e"])
    groups = job_groups(jobs, 2)
    assert [[j.prompt for j in g] for g in groups] == [["a", "b"], ["c", "d"], ["e"]]


def test_resume_reruns_a_partly_done_group_whole_and_skips_finished_groups():
    prompts = ["d", "a", "c", "b", "e"]
    first = job_groups(_jobs(prompts), 2)
    # "a" and "b" finished, "c" finished but not "d": group 1 is skipped, group 2 is the same group again
    after = job_groups(_jobs(prompts, done={1, 3, 2}), 2)
    assert [[j.prompt for j in g] for g in after] == [["c", "d"], ["e"]]
    assert [j.prompt for j in after[0]] == [j.prompt for j in first[1]]
    assert [j.done for j in after[0]] == [True, False]


def test_no_group_size_sends_only_the_work_left():
    groups = job_groups(_jobs(["b", "a", "c"], done={0}), None)
    assert [[j.prompt for j in g] for g in groups] == [["a", "c"]]
    assert job_groups(_jobs(["a"], done={0}), 2) == [] and job_groups(_jobs(["a"], done={0}), None) == []


# --------------------------------------------------------------------- I->R samples and the loop guard
from selfalign.backends.base import Completion  # noqa: E402
from selfalign.generate import parse_sample  # noqa: E402

RESPONSE = "\nAdd them.\n\n```python\ndef add(a, b):\n    return a + b\n```\n</response>\n\n<tests>\n```python\n"


def test_a_finished_sample_parses_and_a_truncated_one_is_dropped():
    fields, why, extra = parse_sample(Completion(RESPONSE + "assert add(1, 2) == 3\n```\n", "stop", 900, 40))
    assert why == "" and fields["test_code"] == "assert add(1, 2) == 3" and extra == {}
    _, why, _ = parse_sample(Completion(RESPONSE + "assert add(1, 2) == 3\n", "length", 900, 384))
    assert why == "truncated"


def test_prompt_too_long_is_its_own_drop_reason():
    assert parse_sample(Completion("", "length", 2048, 0))[1] == "prompt_too_long"


def test_loop_guard_cuts_a_sample_that_loops_in_its_tests():
    looping = RESPONSE + "assert add(1, 2) == 3\n" + "assert add(2, 2) == 4\n" * 40 + "assert add(2,"
    c = Completion(looping, "length", 900, 384)
    assert parse_sample(c, 0)[1] == "truncated"            # paper settings: no guard
    fields, why, extra = parse_sample(c, 4)
    assert why == "" and fields["test_code"] == "assert add(1, 2) == 3\nassert add(2, 2) == 4"
    assert extra["loop_cut"] > 0


def test_a_sample_the_live_guard_stopped_parses_as_the_post_hoc_guard_cuts_it():
    """The llama.cpp engine stops a looping sequence at its k-th copy (finish "loop"): the record is
    what the post-hoc guard makes of the sample that ran on to its token limit."""
    k = 4
    stopped = RESPONSE + "assert add(1, 2) == 3\n" + "assert add(2, 2) == 4\n" * k
    ran_on = RESPONSE + "assert add(1, 2) == 3\n" + "assert add(2, 2) == 4\n" * 40 + "assert add(2,"
    live, why, extra = parse_sample(Completion(stopped, "loop", 900, 120), k)
    assert why == "" and (live, extra) == parse_sample(Completion(ran_on, "length", 900, 384), k)[::2]
    assert parse_sample(Completion("no code at all\n" * k, "loop", 900, 20), k)[1] == "loop"


def test_loop_guard_drops_a_response_that_loops_before_its_tests():
    looping = "\nAdd them.\n\n```python\ndef add(a, b):\n    return a + b\n" + "print(add(1, 2))\n" * 60
    assert parse_sample(Completion(looping, "length", 900, 384), 4)[1] == "loop"
    assert parse_sample(Completion(looping, "length", 900, 384), 0)[1] == "truncated"


def test_direct_instruction_prompts_carry_no_properties(cfg):
    from selfalign.generate import instruction_jobs
    from selfalign.prompts import load_fewshot
    from selfalign.records import Seed
    cfg["generate"]["seed_path"] = "direct"
    seed = Seed(id="s1", seed="def f(x):\n    return x\n", docstring="d", source="a.py", lines=(1, 2))
    job = instruction_jobs(cfg, [seed], load_fewshot(), set())[0]
    assert "category" not in job.prompt and job.prompt.endswith("### Task")
    rec = job.make([Completion("\nWrite a function that returns its argument unchanged.\n\n", "stop")])[0]
    assert rec.ok and rec.category == "" and rec.difficulty == "" and rec.concepts == []
