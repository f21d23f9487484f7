# The README's two commands are `make run` and `make test`; both install what they need first.
VENV ?= .venv
SNAKEMAKE = $(VENV)/bin/snakemake
CORES ?= all

.PHONY: setup run test smoke dry clean
setup:
	bash scripts/setup.sh

run: setup
	$(SNAKEMAKE) --cores $(CORES)

test: setup
	$(VENV)/bin/python -m pytest -ra

# The smallest real end-to-end run (what CI runs inside the tests as well).
smoke: setup
	$(SNAKEMAKE) --cores $(CORES) --configfile config/ci.yaml

dry: setup
	$(SNAKEMAKE) -n --cores $(CORES)

clean:
	rm -rf results figures paper logs benchmarks report.html
