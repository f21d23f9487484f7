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
