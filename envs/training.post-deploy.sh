#!/usr/bin/env bash
# Snakemake runs this inside the new environment once it is created: install this package (editable,
# so the environment runs the checkout's code; its dependencies are the env file's pins).
set -euo pipefail
: "${SELFALIGN_ROOT:?is set by the Snakefile to the repository holding it}"
python -m pip install --no-deps -e "$SELFALIGN_ROOT"
