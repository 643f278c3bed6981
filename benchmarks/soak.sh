#!/usr/bin/env bash
# Runs the soak test with the Blender 5.0 bpy module: bash benchmarks/soak.sh [--frames N]
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/venvs.sh
python=$(gt_venv "${GT_BENCH_BPY:-5.0.1}")
"$python" -u benchmarks/soak.py "$@" 2>&1 | grep --line-buffered -v "^Fra:\|^Info:\|render           |\|Freeing memory\|Saved:"
