#!/usr/bin/env bash
# Install everything the pipeline and the tests need, idempotently:
#   1. system packages (bubblewrap for the sandbox, util-linux for unshare/setpriv/prlimit,
#      node for pyright, slurm-wlm + munge for the cluster test) when missing and we are root;
#   2. a virtual environment in .venv;
#   3. llama-cpp-python, built ONCE into a wheel cache (~11 min on 2 cores) and reused after;
#   4. the package itself with the cpu, train, eval and test extras (torch pinned to the CPU wheel).
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${SELFALIGN_VENV:-.venv}
WHEELS=${SELFALIGN_WHEEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/selfalign/wheels}
LLAMA_VERSION=0.3.36
PY=${PYTHON:-python3}
t0=$(date +%s)
log() { printf '[setup %4ss] %s\n' "$(( $(date +%s) - t0 ))" "$*"; }

# --- 1. system packages ------------------------------------------------------------------
missing=()
command -v bwrap   >/dev/null 2>&1 || missing+=(bubblewrap)
command -v setpriv >/dev/null 2>&1 || missing+=(util-linux)
command -v node    >/dev/null 2>&1 || missing+=(nodejs)
# a real single-node SLURM for the cluster test (tests/workflow/test_slurm.py)
command -v slurmctld >/dev/null 2>&1 || missing+=(slurm-wlm)
command -v munged  >/dev/null 2>&1 || missing+=(munge)
if ((${#missing[@]})); then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    log "installing system packages: ${missing[*]}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "setup: missing system packages: ${missing[*]}" >&2
    echo "setup: install them with your package manager (e.g. sudo apt-get install ${missing[*]}) and re-run" >&2
    exit 1
  fi
fi

# --- 2. virtual environment --------------------------------------------------------------
if [ ! -x "$VENV/bin/python" ]; then
  log "creating $VENV"
  "$PY" -m venv "$VENV"
fi
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check -q)

# --- 3. llama-cpp-python wheel, built once ------------------------------------------------
mkdir -p "$WHEELS"
if ! ls "$WHEELS"/llama_cpp_python-"$LLAMA_VERSION"-*.whl >/dev/null 2>&1; then
  log "building llama-cpp-python $LLAMA_VERSION into $WHEELS (first install only, ~11 min on 2 cores)"
  # Skip everything but the library: tests, examples, tools, server and curl are not used.
  CMAKE_ARGS="-DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAMA_CURL=OFF" \
  CMAKE_BUILD_PARALLEL_LEVEL=$(nproc) \
    "${PIP[@]}" wheel --no-deps "llama-cpp-python==$LLAMA_VERSION" -w "$WHEELS"
fi

# --- 4. the package ------------------------------------------------------------------------
stamp="$VENV/.selfalign-installed"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  log "installing selfalign[cpu,train,eval,test] into $VENV"
  # torch==2.13.0 is pinned in pyproject: on CPU machines pip takes the CPU wheel, never a CUDA build.
  "${PIP[@]}" install --find-links "$WHEELS" -e ".[cpu,train,eval,test]"
  touch "$stamp"
fi
log "ready"
