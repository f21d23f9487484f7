#!/usr/bin/env bash
# Install what the pipeline (and, on request, the tests) need, idempotently:
#   1. system packages, installed with apt-get when missing and we are root; otherwise named:
#        required (`make run`):  bubblewrap (the sandbox), util-linux (unshare/setpriv/prlimit),
#                                nodejs (pyright's runtime)
#        cluster (`make test`, or --cluster / SELFALIGN_CLUSTER_PACKAGES=1): slurm-wlm, munge, for
#                                the one SLURM test, and valgrind, EvalPerf's instruction counter
#                                where perf counters are not exposed; without them (or without
#                                root) those tests are skipped with the reason;
#   2. a virtual environment in .venv;
#   3. llama-cpp-python, built ONCE per cache key into a wheel cache (~5-11 min on 2 cores).
#      The build is PORTABLE, never tuned to the building CPU: on x86-64 it needs AVX2, FMA, F16C
#      and BMI2 (x86-64-v3: Intel Haswell 2013+, AMD Zen 1+); AVX-512 and AMX are off (llama.cpp's
#      default native build on an AMX CPU segfaulted at its first decode). aarch64: llama.cpp's
#      generic armv8 build. The cache key (in the wheel directory's name) covers the version, the
#      machine, Python, the compiler and every CMake flag, and pip's own cache is bypassed, so a
#      build with other flags is never handed back. A new build is installed and checked in a
#      subprocess (`python -m selfalign doctor`: load the CPU model, decode a few tokens) BEFORE
#      it enters the cache; a failed check is one line naming the signal.
#      SELFALIGN_LLAMA_NATIVE=1: llama.cpp's native build instead (opt-in); if its check fails,
#      setup says so and falls back to the portable build.
#   4. the package itself with the cpu, train, eval and test extras. torch: the CPU wheel
#      (torch==X+cpu, from the PyTorch CPU index https://download.pytorch.org/whl/cpu unless a
#      local wheel is already findable) on machines without an NVIDIA GPU, so a CPU install never
#      downloads CUDA libraries; PyPI's default (CUDA) build where `nvidia-smi -L` lists a GPU.
#      SELFALIGN_TORCH=cpu|cuda overrides the detection; SELFALIGN_TORCH_INDEX the CPU index.
# SELFALIGN_FRESH=1: what a fresh machine does: a new venv, no pip cache, and an empty wheel cache
# (`SELFALIGN_FRESH=1 make test` puts every cache in a new directory; see the Makefile).
# Options: --cluster (cluster packages too), --system-only (step 1 only), --torch-args (print
# the pip arguments step 4 would add for torch, and exit), --llama-key (print the llama.cpp
# build's cache directory and flags, and exit), --check-llama (exit non-zero unless the venv's
# llama-cpp-python is a checked build of today's key: what .ci/run asserts).
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${SELFALIGN_VENV:-.venv}
WHEELS=${SELFALIGN_WHEEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/selfalign/wheels}
LLAMA_VERSION=0.3.36
PY=${PYTHON:-python3}
CLUSTER=${SELFALIGN_CLUSTER_PACKAGES:-0}
TORCH_INDEX=${SELFALIGN_TORCH_INDEX:-https://download.pytorch.org/whl/cpu}
FRESH=${SELFALIGN_FRESH:-0}
MODE=all
for arg in "$@"; do
  case "$arg" in
    --cluster) CLUSTER=1 ;;
    --system-only) MODE=system ;;
    --torch-args) MODE=torch ;;
    --llama-key) MODE=llama-key ;;
    --check-llama) MODE=check-llama ;;
    *) echo "setup: unknown option $arg (known: --cluster --system-only --torch-args --llama-key --check-llama)" >&2; exit 2 ;;
  esac
done
case "${SELFALIGN_TORCH:-auto}" in
  auto|cpu|cuda) ;;
  *) echo "setup: SELFALIGN_TORCH must be cpu, cuda or auto, not $SELFALIGN_TORCH" >&2; exit 2 ;;
esac
if [ "$FRESH" = 1 ] && [ "$MODE" = all ]; then
  # `SELFALIGN_FRESH=1 make test` gives every cache a new empty XDG_CACHE_HOME (Makefile); run by
  # hand, the wheel cache must be empty too, or this would not be a fresh machine's install
  if [ -n "$(ls -A "$WHEELS" 2>/dev/null)" ]; then
    echo "setup: SELFALIGN_FRESH=1 needs an empty wheel cache, and $WHEELS is not: run it as SELFALIGN_FRESH=1 make test (or make run), or set XDG_CACHE_HOME to an empty directory" >&2
    exit 2
  fi
  export PIP_NO_CACHE_DIR=1
fi
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

# --- llama.cpp: build flags and their cache key --------------------------------------------
LLAMA_BASE_ARGS="-DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAMA_CURL=OFF"
llama_isa_args() {   # $1: portable | native
  if [ "$1" = native ]; then echo "-DGGML_NATIVE=ON"; return; fi
  case "$(uname -m)" in
    x86_64|amd64) echo "-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON -DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF" ;;
    *) echo "-DGGML_NATIVE=OFF" ;;
  esac
}
llama_dir() {        # $1: flavour -> the wheel cache directory of today's key
  local py cc key
  py=$("$PY" -c 'import sys; print(sys.implementation.cache_tag)' 2>/dev/null || echo unknown)
  cc=$( (cc --version 2>/dev/null || echo none) | head -1)
  key=$(printf '%s\n' "$LLAMA_VERSION" "$(uname -m)" "$py" "$cc" "$LLAMA_BASE_ARGS" "$(llama_isa_args "$1")" |
        sha256sum | cut -c1-12)
  # a native build is also tied to the CPU it was built on
  [ "$1" = native ] && key=$key-$( (grep -m1 '^flags' /proc/cpuinfo 2>/dev/null || uname -m) | sha256sum | cut -c1-8)
  echo "$WHEELS/llama-cpp-python-$LLAMA_VERSION-$1-$key"
}
LLAMA_FLAVOUR=portable
[ "${SELFALIGN_LLAMA_NATIVE:-0}" = 1 ] && LLAMA_FLAVOUR=native
if [ "$MODE" = llama-key ]; then
  echo "dir $(llama_dir $LLAMA_FLAVOUR)"
  echo "flags $LLAMA_BASE_ARGS $(llama_isa_args $LLAMA_FLAVOUR)"
  exit 0
fi
if [ "$MODE" = check-llama ]; then
  # the venv's llama-cpp-python must be a checked build of today's key: a wheel built with other
  # flags, by another compiler or for another Python is never what the tests run
  installed=$(cat "$VENV/.selfalign-llama" 2>/dev/null || echo none)
  for flavour in portable native; do
    d=$(llama_dir $flavour)
    if [ "$installed" = "$(basename "$d")" ] && [ -f "$d/build-info.json" ]; then
      echo "llama.cpp: $installed, checked $(sed -n 's/^ "checked": "\([^"]*\)".*/\1/p' "$d/build-info.json")"
      exit 0
    fi
  done
  echo "setup: $VENV's llama.cpp build is $installed, not a checked build of today's key ($(basename "$(llama_dir $LLAMA_FLAVOUR)")): run scripts/setup.sh" >&2
  exit 1
fi

# --- 1. system packages ------------------------------------------------------------------
missing=()
command -v bwrap   >/dev/null 2>&1 || missing+=(bubblewrap)
command -v setpriv >/dev/null 2>&1 || missing+=(util-linux)
command -v node    >/dev/null 2>&1 || missing+=(nodejs)
cluster_missing=()
if [ "$CLUSTER" = 1 ]; then
  command -v slurmctld >/dev/null 2>&1 || cluster_missing+=(slurm-wlm)
  command -v munged    >/dev/null 2>&1 || cluster_missing+=(munge)
  command -v valgrind  >/dev/null 2>&1 || cluster_missing+=(valgrind)
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
  echo "setup: not installed: ${cluster_missing[*]} (only the SLURM and EvalPerf-counter tests need them; they will be skipped with the reason)." >&2
  echo "setup: to run it: sudo apt-get install ${cluster_missing[*]}, then run the tests as root" >&2
fi
[ "$MODE" = system ] && { log "system packages ready"; exit 0; }

# --- 2. virtual environment --------------------------------------------------------------
if [ "$FRESH" = 1 ] && [ -d "$VENV" ]; then
  log "SELFALIGN_FRESH=1: removing $VENV; wheel cache $WHEELS (empty), no pip cache"
  rm -rf "$VENV"
fi
if [ ! -x "$VENV/bin/python" ]; then
  log "creating $VENV"
  "$PY" -m venv "$VENV"
fi
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check -q)

# --- 3. llama-cpp-python: built once per key, checked before it is cached --------------------
mkdir -p "$WHEELS"
build_llama() {      # $1: flavour; prints the staging directory holding the new wheel
  local stage="$WHEELS/.build-$1-$$"
  rm -rf "$stage"; mkdir -p "$stage"
  log "building llama-cpp-python $LLAMA_VERSION, $1 ($(llama_isa_args "$1")); first install only, ~5-11 min on 2 cores" >&2
  # --no-cache-dir: pip's wheel cache would hand back an earlier build whatever CMAKE_ARGS say
  CMAKE_ARGS="$LLAMA_BASE_ARGS $(llama_isa_args "$1")" CMAKE_BUILD_PARALLEL_LEVEL=$(nproc) \
    "${PIP[@]}" wheel --no-cache-dir --no-deps "llama-cpp-python==$LLAMA_VERSION" -w "$stage" >&2 || return 1
  echo "$stage"
}
install_llama() {    # $1: a directory holding the wheel: exactly that build goes into the venv
  "${PIP[@]}" install --no-cache-dir --no-deps --force-reinstall "$1"/llama_cpp_python-"$LLAMA_VERSION"-*.whl
}
check_llama() {      # $1: flavour; 0 when the CPU model loads and decodes in a subprocess
  local rc=0 why
  "$VENV/bin/python" -X faulthandler -m selfalign doctor --backend llamacpp --model "${SELFALIGN_CHECK_MODEL:-gemma3-270m}" \
    --tokens 8 --prompts 2 --json >"$WHEELS/.check-$1.json" 2>"$WHEELS/.check-$1.log" || rc=$?
  [ $rc = 0 ] && return 0
  why="exit status $rc"
  [ $rc -gt 128 ] && why="killed by signal $((rc - 128))$([ $rc = 139 ] && echo ' (SIGSEGV)')"
  echo "setup: the $1 llama.cpp build failed its check (load the CPU model, decode 8 tokens): $why; trace: $WHEELS/.check-$1.log" >&2
  return 1
}
publish_llama() {    # $1: flavour, $2: staging dir; moves the checked wheel to its key's directory
  local d; d=$(llama_dir "$1")
  rm -rf "$d"; mv "$2" "$d"
  "$VENV/bin/python" - "$d/build-info.json" "$1" "$LLAMA_BASE_ARGS $(llama_isa_args "$1")" "$WHEELS/.check-$1.json" <<'PY'
import datetime, json, platform, sys
path, flavour, flags, check = sys.argv[1:5]
check = json.loads(open(check).read())
json.dump({"flavour": flavour, "version": check.get("llamacpp_version"), "cmake_args": flags.split(),
           "machine": platform.machine(), "checked": datetime.datetime.now().isoformat(timespec="seconds"),
           "check": check}, open(path, "w"), indent=1)
PY
  basename "$d" > "$VENV/.selfalign-llama"
  log "llama.cpp $1 build checked and cached: $d"
}
ensure_llama() {     # $1: flavour; the venv ends with today's checked build of that flavour
  # Called as `if ! ensure_llama`, where bash ignores `set -e` in the function: every step is checked.
  local d new=
  d=$(llama_dir "$1")
  if [ ! -f "$d/build-info.json" ]; then
    new=$(build_llama "$1") || { echo "setup: building the $1 llama.cpp wheel failed (above)" >&2; return 1; }
  fi
  install_package "${new:-$d}" || return 1
  if [ -n "$new" ]; then
    install_llama "$new" || return 1
    log "checking the new build in a subprocess (load the CPU model, decode 8 tokens)"
    check_llama "$1" || { rm -rf "$new"; return 1; }
    publish_llama "$1" "$new"
  elif [ "$(cat "$VENV/.selfalign-llama" 2>/dev/null)" != "$(basename "$d")" ]; then
    install_llama "$d" || return 1
    basename "$d" > "$VENV/.selfalign-llama"
  fi
}

# --- 4. the package ------------------------------------------------------------------------
install_package() {  # $1: the directory pip finds llama-cpp-python's wheel in
  local stamp="$VENV/.selfalign-installed"
  if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    mapfile -t TORCH_ARGS < <(torch_args)
    # qwen: the second CPU model (config/cpu-qwen.yaml, config/cpu-replication.yaml and its CI variant)
    log "installing selfalign[cpu,train,eval,test,qwen] into $VENV (torch: ${TORCH_ARGS[*]:-PyPI default build})"
    "${PIP[@]}" install --find-links "$1" -e ".[cpu,train,eval,test,qwen]" "${TORCH_ARGS[@]}" || return 1
    touch "$stamp"
  fi
}

if ! ensure_llama "$LLAMA_FLAVOUR"; then
  [ "$LLAMA_FLAVOUR" = native ] || exit 1
  echo "setup: falling back to the portable llama.cpp build" >&2
  ensure_llama portable
fi
log "ready"
