#!/usr/bin/env bash
# Install what the pipeline (and, on request, the tests) need, idempotently:
#   1. system packages, installed with apt-get when missing and we are root; otherwise named:
#        required (`make run`):  bubblewrap (the sandbox), util-linux (unshare/setpriv/prlimit),
#                                nodejs (pyright's runtime)
#        cluster (`make test`, or --cluster / SELFALIGN_CLUSTER_PACKAGES=1): slurm-wlm, munge, for
#                                the one SLURM test; without them (or without root) it is skipped
#                                with the reason, and nothing else needs them;
#   2. a virtual environment in .venv;
#   3. llama-cpp-python, built ONCE into a wheel cache (~11 min on 2 cores) and reused after;
#   4. the package itself with the cpu, train, eval and test extras. torch: the CPU wheel
#      (torch==X+cpu, from the PyTorch CPU index https://download.pytorch.org/whl/cpu unless a
#      local wheel is already findable) on machines without an NVIDIA GPU, so a CPU install never
#      downloads CUDA libraries; PyPI's default (CUDA) build where `nvidia-smi -L` lists a GPU.
#      SELFALIGN_TORCH=cpu|cuda overrides the detection; SELFALIGN_TORCH_INDEX the CPU index.
# Options: --cluster (cluster packages too), --system-only (step 1 only), --torch-args (print
# the pip arguments step 4 would add for torch, and exit).
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${SELFALIGN_VENV:-.venv}
WHEELS=${SELFALIGN_WHEEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/selfalign/wheels}
LLAMA_VERSION=0.3.36
PY=${PYTHON:-python3}
CLUSTER=${SELFALIGN_CLUSTER_PACKAGES:-0}
TORCH_INDEX=${SELFALIGN_TORCH_INDEX:-https://download.pytorch.org/whl/cpu}
MODE=all
for arg in "$@"; do
  case "$arg" in
    --cluster) CLUSTER=1 ;;
    --system-only) MODE=system ;;
    --torch-args) MODE=torch ;;
    *) echo "setup: unknown option $arg (known: --cluster --system-only --torch-args)" >&2; exit 2 ;;
  esac
done
case "${SELFALIGN_TORCH:-auto}" in
  auto|cpu|cuda) ;;
  *) echo "setup: SELFALIGN_TORCH must be cpu, cuda or auto, not $SELFALIGN_TORCH" >&2; exit 2 ;;
esac
t0=$(date +%s)
log() { printf '[setup %4ss] %s\n' "$(( $(date +%s) - t0 ))" "$*"; }
is_root() { [ "$(id -u)" = 0 ]; }

# --- torch: which wheel -------------------------------------------------------------------
torch_args() {   # prints one pip argument per line
  local version variant py
  version=$(sed -n 's/^ *"torch==\([^"+; ]*\).*/\1/p' pyproject.toml | head -1)
  [ -n "$version" ] || return 0
  variant=${SELFALIGN_TORCH:-auto}
  if [ "$variant" = auto ]; then
    if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L 2>/dev/null | grep -q GPU; then variant=cuda; else variant=cpu; fi
  fi
  [ "$variant" = cuda ] && return 0          # PyPI's Linux wheel is the CUDA build
  echo "torch==$version+cpu"
  py=$PY; [ -x "$VENV/bin/python" ] && py=$VENV/bin/python
  # no index needed when the CPU wheel is installed already or a local one is findable
  # (pip's configured --find-links: a mirror, an offline machine's wheel directory)
  if [ "$("$py" -c 'import importlib.metadata as m; print(m.version("torch"))' 2>/dev/null)" = "$version+cpu" ] ||
     "$py" -m pip --disable-pip-version-check install -q --dry-run --ignore-installed --no-deps --no-index \
       "torch==$version+cpu" >/dev/null 2>&1; then
    return 0
  fi
  echo "--extra-index-url"
  echo "$TORCH_INDEX"
}
if [ "$MODE" = torch ]; then torch_args; exit 0; fi

# --- 1. system packages ------------------------------------------------------------------
missing=()
command -v bwrap   >/dev/null 2>&1 || missing+=(bubblewrap)
command -v setpriv >/dev/null 2>&1 || missing+=(util-linux)
command -v node    >/dev/null 2>&1 || missing+=(nodejs)
cluster_missing=()
if [ "$CLUSTER" = 1 ]; then
  command -v slurmctld >/dev/null 2>&1 || cluster_missing+=(slurm-wlm)
  command -v munged    >/dev/null 2>&1 || cluster_missing+=(munge)
fi
if ((${#missing[@]} + ${#cluster_missing[@]})) && is_root && command -v apt-get >/dev/null 2>&1; then
  log "installing system packages: ${missing[*]} ${cluster_missing[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" "${cluster_missing[@]}" >/dev/null
  missing=() cluster_missing=()
fi
if ((${#missing[@]})); then
  echo "setup: missing system packages: ${missing[*]}" >&2
  echo "setup: install them with your package manager (e.g. sudo apt-get install ${missing[*]}) and re-run" >&2
  exit 1
fi
if ((${#cluster_missing[@]})); then
  echo "setup: not installed: ${cluster_missing[*]} (only the SLURM test needs them; it will be skipped with the reason)." >&2
  echo "setup: to run it: sudo apt-get install ${cluster_missing[*]}, then run the tests as root" >&2
fi
[ "$MODE" = system ] && { log "system packages ready"; exit 0; }

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
  mapfile -t TORCH_ARGS < <(torch_args)
  # qwen: the second CPU model (config/cpu-qwen.yaml, config/cpu-replication.yaml and its CI variant)
  log "installing selfalign[cpu,train,eval,test,qwen] into $VENV (torch: ${TORCH_ARGS[*]:-PyPI default build})"
  "${PIP[@]}" install --find-links "$WHEELS" -e ".[cpu,train,eval,test,qwen]" "${TORCH_ARGS[@]}"
  touch "$stamp"
fi
log "ready"
