"""DS-1000 (2024 release, ``../shared/benchdata/ds1000``) calibrated against the release's own
harness: run the upstream way (test_ds1000.py: code_context + ``test_execution(code)`` [+
``test_string(code)``], 120 s) with DS-1000's libraries (the ``ds1000`` environment, TensorFlow and
PyTorch included, under the sandbox's 4 GiB address-space limit), every ``reference_code`` passes
but problem 819 (it downloads California housing: offline it fails, as upstream's does), and the
reference of a problem 500 further on fails.

CI scores a stratified subset (the first 2 problems of each of the 7 libraries, the seaborn-data
problem 650 and the offline failure 819); ``SELFALIGN_CALIBRATION_FULL=1`` scores all 1000 (the measured run is in README.md).
Needs the environment: ``python -m selfalign evaluate env build ds1000``.
"""
import dataclasses
import os

import pytest

from selfalign.evaluate import loader

from test_calibration import BENCHDATA

pytestmark = [pytest.mark.integration, pytest.mark.calibration]

DATA = BENCHDATA / "ds1000" / "ds1000.jsonl.gz"
SEABORN = BENCHDATA / "ds1000" / "seaborn-data"
FULL = os.environ.get("SELFALIGN_CALIBRATION_FULL") == "1"
OFFLINE_FAILS = {"819"}          # fetch_california_housing() downloads its data
SEABORN_PROBLEM = "650"          # sns.load_dataset("penguins")


@pytest.fixture(scope="module")
def ds1000():
    from selfalign.config import resolve
    from selfalign.evaluate.envs import site_for
    if not DATA.exists():
        pytest.skip(f"calibration data not found at {DATA} (the real release; set SELFALIGN_BENCHDATA)")
    cfg = resolve({})
    cfg["evaluate"]["data"].update(ds1000=str(DATA), ds1000_seaborn=str(SEABORN))
    if not site_for("ds1000", cfg)[0]:
        pytest.skip("DS-1000's library environment is not built (python -m selfalign evaluate env build ds1000)")
    b = loader("ds1000")(cfg)
    if FULL:
        return b
    by_lib: dict[str, list] = {}
    for p in b.problems:
        by_lib.setdefault(p.meta["group"], []).append(p)
    pick = [p for ps in by_lib.values() for p in ps[:2]] + [p for p in b.problems if p.task_id in OFFLINE_FAILS | {SEABORN_PROBLEM}]
    return dataclasses.replace(b, problems=pick)


def test_ds1000_reference_passes_another_problems_fails(ds1000, score):
    """One scoring run, two samples a problem: its reference_code, and the reference of the problem
    half the list further on (another library, mostly). CI: ~35 s on 2 cores (TensorFlow imports
    in ~10 s); the only check of DS-1000's harness on its release, TensorFlow/PyTorch included."""
    assert ds1000.info["missing_library"] == {} and ds1000.info["prompts_not_in_release_format"] == []
    ps = ds1000.problems
    shift = len(ps) // 2
    other = dict(zip([p.task_id for p in ps], ps[shift:] + ps[:shift]))
    res = score(ds1000, {p.task_id: [p.meta["canonical_solution"], other[p.task_id].meta["canonical_solution"]]
                         for p in ps})
    verdicts = {r["task_id"]: [s["suites"]["base"] for s in r["samples"]] for r in res["problems"]}
    bad = sorted(t for t, v in verdicts.items() if v[0] != "pass")
    assert bad == sorted(OFFLINE_FAILS), {t: verdicts[t] for t in bad}    # measured: 999 of 1000 (README)
    wrong = sorted(t for t, v in verdicts.items() if v[1] == "pass")
    assert len(wrong) <= (0.02 * len(ps) if FULL else 0), wrong
    if not FULL:
        assert {lib: v["problems"] for lib, v in res["summary"]["by_library"].items()} == {
            "Matplotlib": 3, "Numpy": 2, "Pandas": 2, "Pytorch": 2, "Scipy": 2, "Sklearn": 3, "Tensorflow": 2}
