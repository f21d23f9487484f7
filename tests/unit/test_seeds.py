import pytest

from selfalign import seeds as S
from selfalign.seeds import corpus, extract, filters, judge, typecheck
from selfalign.textsim import near_duplicates

GOOD = '''def scale(values, factor):
    """Multiply every value by factor."""
    return [v * factor for v in values]
'''


def test_extracts_top_level_functions_with_docstrings():
    text = GOOD + '''
def no_doc(x):
    return x

class K:
    def method(self):
        """Methods are not top-level functions."""
        return 1

@staticmethod
def decorated(a):
    """Decorated top-level function."""
    return a

def single_quoted(a):
    \'\'\'Not a triple-double-quoted docstring: the official query skips it.\'\'\'
    return a

def raw_prefixed(a):
    r"""A prefixed string is not matched by the official query either."""
    return a
'''
    seeds, broken = extract.extract_functions(text, "m.py")
    assert [s.name for s in seeds] == ["scale", "decorated"]
    assert seeds[0].docstring == "Multiply every value by factor." and seeds[0].lines == (1, 3)
    assert seeds[1].seed.startswith("def decorated")
    assert broken == 0


def test_broken_function_is_counted_not_fatal():
    seeds, broken = extract.extract_functions('def f(x):\n    """Doc."""\n    return x +\n', "bad.py")
    assert seeds == [] and broken == 1


@pytest.mark.parametrize("code,keep", [
    (GOOD, True),
    ('def f(x):\n    """D."""\n    print(x)\n', False),
    ('def f(x):\n    """D."""\n    return None\n', True),       # a return with an argument (official)
    ('def f(x):\n    """D."""\n    if x:\n        return\n    return 0\n', True),
])
def test_returns_value(code, keep):
    assert filters.returns_value(code) is keep


def test_argument_check_lines_words_imports():
    # filter_dataset.py:262-267 is a text check of `def ...():` lines, not an argument count
    assert not filters.has_no_arg_def(GOOD)
    assert filters.has_no_arg_def('import re\n\n\ndef f():\n    """d"""\n    return 1')
    assert not filters.has_no_arg_def('def f() -> int:\n    """d"""\n    return 1')      # kept, as the official
    assert not filters.has_no_arg_def('async def f():\n    """d"""\n    return 1')
    assert not filters.has_no_arg_def('def f(*a, k=1, **kw):\n    """d"""\n    def g():\n        return 1\n    return g')
    assert filters.n_lines(GOOD) == 4
    assert filters.has_banned_word(GOOD + "    # Todo later\n", ["todo"]) and filters.has_banned_word("debug(x)", ["bug"])
    assert not filters.has_banned_word(GOOD, ["todo", "fixme", "bug"])
    # filter_dataset.py:230-233, 248-251: lower-cased substrings `import X` / `from X`
    assert filters.has_banned_import('import os\n\n\ndef f(p):\n    """d"""\n    return os.sep', ["os"])
    assert filters.has_banned_import('def f(p):\n    """d"""\n    from Sys import argv\n    return argv', ["sys"])
    assert filters.has_banned_import('import ossaudiodev\n\ndef f(p):\n    return p', ["os"])   # a substring
    assert not filters.has_banned_import('def f(p):\n    """d"""\n    return sys.argv', ["sys"])  # no import line
    assert not filters.has_banned_import(GOOD, ["os", "sys"])


def test_stage_runs_the_filters_in_the_official_order(cfg):
    """seed_gathering/README.md: near-dedup, then the return filter, autoimport, pyright
    (high_quality_subset.py), then filter_dataset.py's text checks on the autoimported code: a seed
    that uses `os` without importing it is caught by the import line autoimport adds."""
    cfg["seeds"]["filters"].update(judge=False, typecheck=False)
    uses_os = 'def here(name):\n    """Path of name in the current folder."""\n    return os.path.join(os.getcwd(), name)\n'
    no_arg = 'def answer() -> int:\n    """The answer."""\n    return 42\n'
    seeds, funnel = S.run_seed_stage(cfg, corpus=[("a.py", uses_os), ("b.py", GOOD), ("c.py", no_arg)])
    steps = [(x["step"], x["dropped"]) for x in funnel.as_list()]
    assert [n for n, _ in steps] == ["extracted", "dedup", "returns_value", "autoimport", "banned_words",
                                     "banned_imports", "decontaminate", "max_lines", "min_args"]
    assert dict(steps)["banned_imports"] == 1 and sorted(x.name for x in seeds) == ["answer", "scale"]


def test_near_duplicate_pair_and_distinct_kept():
    a = '''def summarize(rows, key, default=0):
    """Return count, total, minimum and maximum of row[key] over the rows that have it."""
    count, total = 0, 0
    low, high = None, None
    for row in rows:
        if key not in row:
            continue
        value = row[key]
        count += 1
        total += value
        low = value if low is None or value < low else low
        high = value if high is None or value > high else high
    if count == 0:
        return default, default, default, default
    return count, total, low, high
'''
    b = a.replace("over the rows that have it", "over rows having that key")
    c = '''def parse_pairs(text):
    """Split 'k=v;k2=v2' into a dict."""
    return dict(item.split("=", 1) for item in text.split(";") if item)
'''
    assert near_duplicates([a, b, c], threshold=0.5, num_perm=128, shingle=5) == [False, True, False]


def test_decontamination_is_a_substring_match_of_docstrings_and_solutions(cfg):
    """seed_gathering/filter_dataset.py:236-255: HumanEval docstrings and canonical solutions,
    case-sensitive substring; generic code shares n-grams with HumanEval but is kept."""
    from selfalign.benchdata import load_humaneval
    from selfalign.decontam import build
    he = {r["task_id"]: r for r in load_humaneval()}
    dec, report = build(cfg, "seeds")
    assert report["humaneval"] == 164 and report["mbpp"].startswith("skipped")
    body = he["HumanEval/0"]["canonical_solution"]
    disguised = 'def close_pair(numbers, threshold):\n    """Tell whether two values lie close together."""\n' + body
    assert dec.contaminated(disguised)
    from selfalign.decontam import humaneval_docstring
    doc = humaneval_docstring(he["HumanEval/2"]["prompt"])      # its docstring, doctests included
    assert doc.startswith("Given a positive floating point number")
    assert dec.contaminated(f'def part(x):\n    """{doc}\n    """\n    return x % 1.0\n')
    assert not dec.contaminated(f'def part(x):\n    """{doc[:60]}"""\n    return x % 1.0\n')
    generic = 'def span(s):\n    """Length."""\n    for i in range ( 0 , len ( s ) ) :\n        pass\n    return len(s)\n'
    assert not dec.contaminated(generic) and not dec.contaminated(GOOD)
    # the generic HumanEval solutions the official keeps
    assert not dec.contaminated('def add(x, y):\n    """Add."""\n    return x + y\n')


def test_local_corpus_skips_bad_files(tmp_path):
    (tmp_path / "ok.py").write_text(GOOD)
    (tmp_path / "bin.py").write_bytes(b"\x00\x01binary")
    (tmp_path / "latin.py").write_bytes("s = 'caf\xe9'".encode("latin-1"))
    (tmp_path / "huge.py").write_text("x = 1\n" * 1000)
    stats = corpus.CorpusStats()
    files = list(corpus.iter_local_corpus(tmp_path, max_bytes=500, stats=stats))
    assert [f for f, _ in files] == ["ok.py"]
    assert (stats.skipped_binary, stats.skipped_encoding, stats.skipped_size) == (1, 1, 1)


def test_empty_corpus_dir_is_a_clear_error(tmp_path):
    with pytest.raises(S.SeedError, match="holds no .py files"):
        list(corpus.iter_local_corpus(tmp_path))


def test_stage_names_the_filter_that_emptied_it(cfg, tmp_path):
    cfg["seeds"]["filters"].update(typecheck=False, judge=False)
    corpus = [("a.py", 'def f(x):\n    """Print x."""\n    print(x)\n')]
    with pytest.raises(S.SeedError, match="filter 'returns_value' removed the last 1"):
        S.run_seed_stage(cfg, corpus=corpus)


@pytest.mark.skipif(__import__("shutil").which("node") is None,
                    reason="needs the system package nodejs (pyright's runtime; without it pyright tries the network)")
def test_pyright_flags_errors_and_bisects():
    errs = typecheck.pyright_errors([GOOD, 'def f(x):\n    """d"""\n    return undefined_name + x\n'], batch_size=10)
    assert errs == [0, 1] or (errs[0] == 0 and errs[1] >= 1)


@pytest.mark.skipif(__import__("shutil").which("node") is None,
                    reason="needs the system package nodejs (pyright's runtime; without it pyright tries the network)")
def test_pyright_runs_as_bare_pyright_in_the_harness_interpreter():
    """high_quality_subset.py:38-46 runs `pyright` with no configuration: the default ("standard")
    mode flags an incompatible override, which "basic" does not; third-party imports resolve
    against the harness's interpreter (numpy is installed with it)."""
    override = ('class A:\n    def m(self, x: int) -> int:\n        return x\n\n\nclass B(A):\n'
                '    def m(self, x: str) -> str:\n        return x\n\n\ndef make(a):\n    """d"""\n    return B()\n')
    uses_numpy = 'import numpy as np\n\n\ndef total(v):\n    """d"""\n    return float(np.sum(v))\n'
    assert typecheck.pyright_errors([override, uses_numpy], batch_size=10) == [1, 0]


def test_judge_prompt_is_the_official_issue_thread():
    import random
    data = judge.load_judge_data()
    assert len(data["shots"]) == 7
    seed_code = 'import re\n\n\ndef words(text):\n    """Return the words of `text`."""\n    return re.findall(r"\\w+", text)\n'
    p = judge.judge_prompt(seed_code, 7, random.Random(1), data)
    assert p.count("<issue_start>username_0:") == 8 and p.count("Upvotes: 200") == 7
    assert "enough information alone to re-implement the function" in p
    assert p.endswith('```\n\nHere is my description of this program:\n```\nReturn the words of `text`.\n```\n\n'
                      + data["question"].strip() + "\nUpvotes: 100<issue_comment>username_1: Sure, no problem. "
                      "I will be able to help.\nMy answer is:")
    query = p[p.rindex("<issue_start>"):]
    assert '"""' not in query and "return re.findall" in query       # the docstring is shown apart
    # shots are shuffled per prompt
    orders = {judge.judge_prompt(seed_code, 7, random.Random(k), data)[:300] for k in range(6)}
    assert len(orders) > 1


def test_judgement_counts_yes_against_no():
    assert judge.parse_judgement(" Yes") == "yes" and judge.parse_judgement(" No, not enough") == "no"
    assert judge.parse_judgement(" yes or no") == "no"      # a tie is no (filter_dataset.py:356-364)
    assert judge.parse_judgement(" maybe") is None


def test_split_docstring():
    doc, body = judge.split_docstring('def f(x):\n    """Square x.\n\n    Returns an int.\n    """\n    return x * x\n')
    # the first line has no indent, so nothing is dedented (filter_dataset.py:309-329 alike)
    assert doc == "Square x.\n\n    Returns an int." and '"""' not in body and "return x * x" in body
    doc, _ = judge.split_docstring('def f(x):\n    """\n    Square x.\n    """\n    return x * x\n')
    assert doc == "Square x."


def test_seed_using_re_passes_pyright_after_autoimport():
    code = 'def words(text):\n    """Return the words of `text`."""\n    return re.findall(r"\\w+", text)\n'
    fixed, status = typecheck.infer_imports(code)
    assert status == "fixed" and fixed.startswith("import re")
    assert typecheck.pyright_errors([code, fixed], batch_size=10) == [1, 0] or typecheck.pyright_errors([fixed])[0] == 0
    assert typecheck.infer_imports(GOOD) == (GOOD, "unchanged")


def test_stage_runs_autoimport_before_the_type_check(cfg):
    cfg["seeds"]["filters"].update(judge=False, decontaminate=False, dedup=False)
    corpus = [("a.py", 'def words(text):\n    """Return the words of `text`."""\n    return re.findall(r"\\w+", text)\n'),
              ("b.py", GOOD)]
    seeds, funnel = S.run_seed_stage(cfg, corpus=corpus)
    steps = {s["step"]: s for s in funnel.as_list()}
    assert steps["autoimport"]["fixed"] == 1 and steps["autoimport"]["unchanged"] == 1
    assert steps["typecheck"]["dropped"] == 0 and len(seeds) == 2
    assert seeds[0].seed.startswith("import re")
    cfg["seeds"]["autoimport"] = False
    seeds, funnel = S.run_seed_stage(cfg, corpus=corpus)
    assert [x.name for x in seeds] == ["scale"]      # undefined `re` fails pyright without autoimport


def test_random_snippets_are_fragments_of_5_to_30_lines(cfg):
    cfg["seeds"].update(kind="random_snippets", count=3)
    text = "\n".join(f"value_{i} = compute({i})" for i in range(250)) + "\n"
    seeds, funnel = S.run_seed_stage(cfg, corpus=[("big.py", text), ("tiny.py", "x = 1\n")])
    steps = [s["step"] for s in funnel.as_list()]
    assert steps == ["extracted", "sample"] or steps == ["extracted"]
    assert funnel.as_list()[0]["kept"] == 2   # 100-line chunks from the end; the 50-line head is left out
    for x in seeds:
        n = x.seed.count("\n")
        assert 5 <= n <= 30 and x.seed.startswith("value_") and x.docstring == ""
    again, _ = S.run_seed_stage(cfg, corpus=[("big.py", text), ("tiny.py", "x = 1\n")])
    assert [x.seed for x in again] == [x.seed for x in seeds]


def test_mbpp_test_split_from_local_file(tmp_path):
    import json

    from selfalign.decontam import SubstringMatcher, benchmark_strings
    code = "def remove_odd(l):\n    return [x for x in l if x % 2 == 0 and x is not None and x >= 0]"
    rows = [{"task_id": 11, "text": "Write a python function to remove odd numbers from a given list.", "code": code},
            {"task_id": 600, "text": "Training split task, not used for decontamination at all here.", "code": "pass"}]
    p = tmp_path / "mbpp.jsonl"
    p.write_text("\n".join(json.dumps(r) for r in rows))
    strings, report = benchmark_strings(["mbpp", "ds1000"], {"mbpp": str(p), "ds1000": None}, {})
    assert report["mbpp"] == 1 and report["ds1000"].startswith("skipped: ds1000 data not found")
    assert strings["mbpp_solutions"] == [code] and len(strings["mbpp_docstrings"]) == 1
    m = SubstringMatcher(strings, case_sensitive=False)
    assert m.match("Please WRITE A PYTHON FUNCTION TO REMOVE ODD NUMBERS FROM A GIVEN LIST.")[0] == "mbpp_docstrings"
    assert not m.contaminated("training split task, not used")


def test_seeds_file_reuses_another_runs_seeds_and_funnel(tmp_path):
    import json

    from selfalign.records import Seed, iter_jsonl, write_json_atomic, write_jsonl_atomic
    from selfalign.seeds import copy_seeds

    src = tmp_path / "other" / "seeds.jsonl"
    write_jsonl_atomic(src, [Seed(id="s1", seed="def f(x):\n    return x\n", docstring="d", source="a.py", lines=(1, 2))])
    write_json_atomic(src.with_name("seeds.funnel.json"), {"stage": "seeds", "steps": [
        {"stage": "seeds", "step": "judge", "kept": 1, "dropped": 3}]})
    n = copy_seeds(src, tmp_path / "seeds.jsonl", tmp_path / "seeds.funnel.json")
    assert n == 1 and [d["id"] for d in iter_jsonl(tmp_path / "seeds.jsonl")] == ["s1"]
    steps = json.loads((tmp_path / "seeds.funnel.json").read_text())["steps"]
    assert [s["step"] for s in steps] == ["judge", "from_file"]
    with pytest.raises(FileNotFoundError, match="seeds.file .*missing.jsonl does not exist"):
        copy_seeds(tmp_path / "missing.jsonl", tmp_path / "x.jsonl", tmp_path / "x.json")


def test_seeds_file_takes_the_published_seed_set_format(tmp_path):
    """seeds.file = hf:bigcode/python-stack-v1-functions-filtered-sc2 on GPUs; the same code on a
    local copy in that format (content, sha1, id; content = autoimport output)."""
    import json

    from selfalign.records import iter_jsonl
    rows = [{"content": 'import re\n\n\ndef words(text):\n    """Return the words of `text`."""\n'
                        '    return re.findall(r"\\w+", text)\n', "sha1": "ab" * 20, "id": 0},
            {"content": "x = (", "sha1": "cd" * 20, "id": 1}]
    src = tmp_path / "published.jsonl"
    src.write_text("\n".join(json.dumps(r) for r in rows))
    assert copy_seeds_path(src, tmp_path) == 1
    seeds = list(iter_jsonl(tmp_path / "seeds.jsonl"))
    assert seeds[0]["name"] == "words" and seeds[0]["docstring"] == "Return the words of `text`."
    assert seeds[0]["seed"].startswith("import re") and seeds[0]["id"] == "seed-" + "ab" * 6
    step = json.loads((tmp_path / "seeds.funnel.json").read_text())["steps"][-1]
    assert step["step"] == "from_file" and step["format"] == "published" and step["dropped"] == 1


def test_seeds_file_hub_spec_names_the_dataset_when_offline(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    with pytest.raises(S.SeedError, match="bigcode/python-stack-v1-functions-filtered-sc2:train"):
        S.copy_seeds("hf:bigcode/python-stack-v1-functions-filtered-sc2", tmp_path / "s.jsonl", tmp_path / "f.json")


def copy_seeds_path(src, d):
    return S.copy_seeds(src, d / "seeds.jsonl", d / "seeds.funnel.json")


class _FakeJudge:
    """Answers from a script; a prompt over `limit` characters gets nothing (as llama.cpp does)."""

    def __init__(self, answers, limit=10**9, too_long=("length", 0)):
        self.answers, self.limit, self.prompts, self.too_long = list(answers), limit, [], too_long

    def generate(self, prompts, n=1, temperature=0.0, max_tokens=5, stop=None, seed=None, progress=None):
        from selfalign.backends.base import Completion
        self.prompts += prompts
        out = []
        for p in prompts:
            if len(p) > self.limit:
                out.append([Completion("", self.too_long[0], self.too_long[1], 0)])
            else:
                out.append([Completion(self.answers.pop(0), "stop", 0, 1)])
        return out


def test_judge_counts_answers_and_prompts_too_long():
    from selfalign.records import Seed
    mk = lambda i, body: Seed(id=f"s{i}", seed=f'def f{i}(x):\n    """Doc {i}."""\n{body}', docstring="d", source="a", lines=(1, 3))
    seeds = [mk(0, "    return x\n"), mk(1, "    return x\n"), mk(2, "    return x\n" * 400), mk(3, "    return x\n")]
    fake = _FakeJudge([" Yes", " No", " hmm"], limit=8000)
    keep, counts = judge.judge_seeds(fake, seeds, 4, 1, 5, 42, shuffle=False)
    assert keep == [True, False, False, False]
    assert counts == {"unparseable_answers": 1, "prompt_too_long": 1}
    # one fixed order: every prompt shares the four example threads
    heads = {p[:p.rindex("<issue_start>")] for p in fake.prompts}
    assert len(heads) == 1
    fake = _FakeJudge([" Yes"] * 4)
    judge.judge_seeds(fake, seeds, 7, 1, 5, 42, shuffle=True)
    assert len({p[:p.rindex("<issue_start>")] for p in fake.prompts}) > 1


def test_mbpp_and_ds1000_strings_are_used_unstripped(tmp_path):
    """src/star_align/decontamination/benchmark_data.py:31-41, 65-72 use MBPP texts and solutions and
    DS-1000 prompts as they are (only HumanEval's and GSM8K's are stripped)."""
    import json

    from selfalign.decontam import benchmark_strings
    (tmp_path / "mbpp.jsonl").write_text(json.dumps({"task_id": 11, "text": "Sum a list. ", "code": "def s(l):\r\n  return sum(l)\r\n"}))
    (tmp_path / "ds.jsonl").write_text(json.dumps({"prompt": "Problem:\nSort a frame.\n<code>\nBEGIN SOLUTION\n<code>"}))
    strings, _ = benchmark_strings(["mbpp", "ds1000"], {"mbpp": str(tmp_path / "mbpp.jsonl"), "ds1000": str(tmp_path / "ds.jsonl")})
    assert strings["mbpp_docstrings"] == ["Sum a list. "] and strings["mbpp_solutions"] == ["def s(l):\r\n  return sum(l)\r\n"]
    assert strings["ds1000_prompts"] == ["Problem:\nSort a frame.\n<code>\n"]


def test_judge_counts_vllms_prompt_too_long_as_over_long_not_unparseable():
    """vLLM does not send an over-long prompt: it answers finish_reason prompt_too_long with the
    prompt's token count (selfalign/backends/vllm.py), not llama.cpp's empty "length"."""
    from selfalign.backends.base import PROMPT_TOO_LONG
    from selfalign.records import Seed
    mk = lambda i, body: Seed(id=f"s{i}", seed=f'def f{i}(x):\n    """Doc {i}."""\n{body}', docstring="d", source="a", lines=(1, 3))
    seeds = [mk(0, "    return x\n"), mk(1, "    return x\n" * 400)]
    fake = _FakeJudge([" Yes"], limit=8000, too_long=(PROMPT_TOO_LONG, 3000))
    keep, counts = judge.judge_seeds(fake, seeds, 4, 1, 5, 42, shuffle=False)
    assert keep == [True, False]
    assert counts == {"unparseable_answers": 0, "prompt_too_long": 1}
