import pytest

from selfalign import seeds as S
from selfalign.textsim import Decontaminator, near_duplicates

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
'''
    seeds, broken = S.extract_functions(text, "m.py")
    assert [s.name for s in seeds] == ["scale", "decorated"]
    assert seeds[0].docstring == "Multiply every value by factor." and seeds[0].lines == (1, 3)
    assert seeds[1].seed.startswith("def decorated")
    assert broken == 0


def test_broken_function_is_counted_not_fatal():
    seeds, broken = S.extract_functions('def f(x):\n    """Doc."""\n    return x +\n', "bad.py")
    assert seeds == [] and broken == 1


@pytest.mark.parametrize("code,keep", [
    (GOOD, True),
    ('def f(x):\n    """D."""\n    print(x)\n', False),
    ('def f(x):\n    """D."""\n    return None\n', False),
    ('def f(x):\n    """D."""\n    if x:\n        return\n    return 0\n', True),
])
def test_returns_value(code, keep):
    assert S.returns_value(code) is keep


def test_arg_count_lines_words_imports():
    assert S.n_args(GOOD) == 2 and S.n_args('def f(*a, k=1, **kw):\n    """d"""\n    return 1') == 3
    assert S.n_lines(GOOD) == 4
    assert S.has_banned_word(GOOD + "    # TODO later\n", ["TODO"]) and not S.has_banned_word("debug", ["bug"])
    assert S.uses_banned_import('def f(p):\n    """d"""\n    import os\n    return os.sep', ["os"])
    assert S.uses_banned_import('def f(p):\n    """d"""\n    return sys.argv', ["sys"])
    assert not S.uses_banned_import(GOOD, ["os", "sys"])


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


def test_humaneval_solution_in_disguise_is_decontaminated():
    from selfalign.benchdata import benchmark_texts, load_humaneval
    he = {r["task_id"]: r for r in load_humaneval()}
    texts, report = benchmark_texts(["humaneval"], {}, {})
    assert report["humaneval"] == 164
    dec = Decontaminator(texts, n=10, min_shared=1)
    # HumanEval/0's canonical solution under another name and docstring
    body = he["HumanEval/0"]["canonical_solution"]
    disguised = 'def close_pair(numbers, threshold):\n    """Tell whether two values lie close together."""\n' + body
    assert dec.contaminated(disguised)
    assert not dec.contaminated(GOOD)


def test_local_corpus_skips_bad_files(tmp_path):
    (tmp_path / "ok.py").write_text(GOOD)
    (tmp_path / "bin.py").write_bytes(b"\x00\x01binary")
    (tmp_path / "latin.py").write_bytes("s = 'caf\xe9'".encode("latin-1"))
    (tmp_path / "huge.py").write_text("x = 1\n" * 1000)
    stats = S.CorpusStats()
    files = list(S.iter_local_corpus(tmp_path, max_bytes=500, stats=stats))
    assert [f for f, _ in files] == ["ok.py"]
    assert (stats.skipped_binary, stats.skipped_encoding, stats.skipped_size) == (1, 1, 1)


def test_empty_corpus_dir_is_a_clear_error(tmp_path):
    with pytest.raises(S.SeedError, match="holds no .py files"):
        list(S.iter_local_corpus(tmp_path))


def test_stage_names_the_filter_that_emptied_it(cfg, tmp_path):
    cfg["seeds"]["filters"].update(typecheck=False, judge=False)
    corpus = [("a.py", 'def f(x):\n    """Print x."""\n    print(x)\n')]
    with pytest.raises(S.SeedError, match="filter 'returns_value' removed the last 1"):
        S.run_seed_stage(cfg, corpus=corpus)


@pytest.mark.skipif(__import__("shutil").which("node") is None,
                    reason="needs the system package nodejs (pyright's runtime; without it pyright tries the network)")
def test_pyright_flags_errors_and_bisects():
    errs = S.pyright_errors([GOOD, 'def f(x):\n    """d"""\n    return undefined_name + x\n'], batch_size=10)
    assert errs == [0, 1] or (errs[0] == 0 and errs[1] >= 1)


def test_judge_prompt_and_parse():
    p = S.judge_prompt("def f(x):\n    return x", shots=3)
    assert p.count("### Function") == 4 and p.endswith("### Good seed (yes/no):")
    assert S.parse_judgement(" Yes.") == "yes" and S.parse_judgement("no way") == "no"
    assert S.parse_judgement("maybe") is None


def test_mbpp_test_split_from_local_file(tmp_path):
    import json

    from selfalign.benchdata import benchmark_texts
    code = "def remove_odd(l):\n    return [x for x in l if x % 2 == 0 and x is not None and x >= 0]"
    rows = [{"task_id": 11, "text": "Write a python function to remove odd numbers from a given list.", "code": code},
            {"task_id": 600, "text": "Training split task, not used for decontamination at all here.", "code": "pass"}]
    p = tmp_path / "mbpp.jsonl"
    p.write_text("\n".join(json.dumps(r) for r in rows))
    texts, report = benchmark_texts(["mbpp", "ds1000"], {"mbpp": str(p), "ds1000": None}, {})
    assert report["mbpp"] == 1 and report["ds1000"].startswith("skipped: ds1000 data not found")
    assert Decontaminator(texts, n=10).contaminated("def keep_even(l):\n    " + code.split("\n", 1)[1])


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
