#!/usr/bin/env bash
# Runs the benchmark with the Blender 5.0 bpy module: bash benchmarks/run.sh [--help]
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/venvs.sh
python=$(gt_venv "${GT_BENCH_BPY:-5.0.1}")
"$python" -u benchmarks/benchmark.py "$@" 2>&1 | grep --line-buffered -v "^Fra:\|^Info:\|render           |\|Freeing memory\|Saved:"
