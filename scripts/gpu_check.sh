#!/usr/bin/env bash
# The GPU check of the plan (issue 27), for a machine with one NVIDIA GPU and no network, in under
# 10 minutes: the training path (`python -m selfalign train`) with the paper's recipe (full
# fine-tuning, bf16, Adafactor, batch 1, 1280 tokens) on Gemma-3-270M's exact architecture (random
# weights, a tokenizer trained on our few-shot data: nothing to download), without and with
# activation checkpointing, each run's peak GPU memory beside the plan's estimate
# (bench/gpu_memory_check.py). Needs a Python with CUDA torch, transformers, accelerate, tokenizers,
# pyyaml and jsonschema: PYTHON=/path/to/python, else .venv/bin/python, else python3.
#
#   scripts/gpu_check.sh            # results in $OUT (default /tmp/gpu_check): env.txt, run/, report
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/gpu_check}
mkdir -p "$OUT"
PY=${PYTHON:-}
if [ -z "$PY" ]; then
  for c in .venv/bin/python python3; do
    if [ -x "$c" ] || command -v "$c" >/dev/null 2>&1; then PY=$c; break; fi
  done
fi
{
  date -u +%FT%TZ
  git rev-parse --short HEAD 2>/dev/null || true
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv || echo "nvidia-smi: not found"
  "$PY" -c 'import torch, transformers, accelerate; print("torch", torch.__version__, "cuda", torch.version.cuda, "transformers", transformers.__version__, "accelerate", accelerate.__version__, "cuda available", torch.cuda.is_available())'
} 2>&1 | tee "$OUT/env.txt"
if ! "$PY" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 3)'; then
  echo "gpu_check: $PY has no CUDA torch (or no GPU is visible); nothing ran" | tee -a "$OUT/env.txt"
  exit 3
fi
export CUDA_VISIBLE_DEVICES=${CUDA_VISIBLE_DEVICES:-0} TOKENIZERS_PARALLELISM=false
timeout 540 env PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" "$PY" bench/gpu_memory_check.py --out "$OUT/run" \
  2>&1 | tee "$OUT/report.txt"
