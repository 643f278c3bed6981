#!/usr/bin/env bash
# Frames per minute with one and two worker processes: bash benchmarks/throughput.sh [--help]
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/venvs.sh
python=$(gt_venv "${GT_BENCH_BPY:-5.0.1}")
"$python" -u benchmarks/throughput.py "$@"
