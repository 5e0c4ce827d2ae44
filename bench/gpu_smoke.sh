#!/usr/bin/env bash
# GPU smoke check of the real GRPO path: a randomly initialised Qwen3-0.6B-shaped policy with our
# tokenizer plays social episodes against a scripted partner for a few TRL GRPO steps (bf16,
# transformers generate); prints step time, tokens/s, peak GPU memory and the versions that ran.
#
#   bash bench/gpu_smoke.sh --prepare        # here (PyPI reachable): tokenizer, configs, wheels -> bench/gpu_smoke/
#   bash bench/gpu_smoke.sh --check-wheels   # here: a fresh venv with only the GPU image's packages + the wheels runs --tiny
#   bash bench/gpu_smoke.sh [--steps N] [--json FILE] [--output-dir DIR] [--tiny] [--vllm colocate]
#                                            # on the GPU machine (carry bench/gpu_smoke): install the wheels, run
#
# On the GPU machine nothing is downloaded: the wheels the machine lacks (TRL, datasets, pydantic,
# PettingZoo, ...) come from bench/gpu_smoke/wheels with pip --no-index; torch, transformers and
# accelerate are the machine's own. Without CUDA it runs on the CPU and says so. SMOKE_TIMEOUT_S
# (default 540) stops the run before a 10-minute limit.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
ASSETS=bench/gpu_smoke

case "${1:-}" in
  --prepare) shift; exec "$PY" bench/gpu_smoke.py prepare "$@" ;;
  --check-wheels) shift; exec "$PY" bench/gpu_smoke.py check-wheels "$@" ;;
esac

if ! "$PY" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)'; then
  echo "error: $("$PY" -V 2>&1) is too old: SocialGym needs Python 3.11+ (set PYTHON=...)" >&2
  exit 2
fi
# what this machine brings (the wheels rely on it)
"$PY" - <<'PYEOF'
import importlib.metadata as m
names = ["torch", "transformers", "accelerate", "pyarrow", "pandas", "fsspec", "huggingface-hub", "numpy"]
def version(name):
    try:
        return m.version(name)
    except m.PackageNotFoundError:
        return "missing"
import platform
print(f"machine: python {platform.python_version()}, " + ", ".join(f"{n} {version(n)}" for n in names))
PYEOF

PIP=("$PY" -m pip install --quiet --disable-pip-version-check --root-user-action=ignore --no-index --find-links "$ASSETS/wheels")
if [[ -f $ASSETS/wheels/requirements.txt ]] && ! "$PY" -c 'import os, sys, sysconfig; sys.exit(0 if os.access(sysconfig.get_paths()["purelib"], os.W_OK) else 1)'; then
  # a read-only environment: the shipped wheels go to a folder of their own, without dependency checks
  SITE=${SMOKE_SITE:-/tmp/socialgym-smoke-site}
  echo "note: $("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])') is read-only: installing the wheels into $SITE" >&2
  "${PIP[@]}" --no-deps --upgrade --target "$SITE" -r "$ASSETS/wheels/pins.txt"
  export PYTHONPATH="$SITE${PYTHONPATH:+:$PYTHONPATH}"
elif [[ -f $ASSETS/wheels/requirements.txt ]]; then
  if ! "${PIP[@]}" -r "$ASSETS/wheels/requirements.txt"; then
    echo "error: $ASSETS/wheels does not cover this machine (Python $("$PY" -c 'import platform; print(platform.python_version())'));" \
      "pip said why above. Rerun 'bash bench/gpu_smoke.sh --prepare' where PyPI is reachable (see bench/gpu_smoke.py:" \
      "PYTHONS, GPU_IMAGE) and carry bench/gpu_smoke again." >&2
    exit 2
  fi
elif ! "$PY" -c 'import trl, pydantic, pettingzoo' 2>/dev/null; then
  echo "error: $ASSETS/wheels is missing and this Python lacks TRL, pydantic or PettingZoo:" \
    "run 'bash bench/gpu_smoke.sh --prepare' where PyPI is reachable and carry bench/gpu_smoke" >&2
  exit 2
fi

export PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false
exec timeout --signal=INT --kill-after=30 "${SMOKE_TIMEOUT_S:-540}" "$PY" bench/gpu_smoke.py run "$@"
