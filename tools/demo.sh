#!/usr/bin/env bash
# Renders the bundled demo scene's ground truth: bash tools/demo.sh [OUTPUT_DIR]
# Sets up a Blender 5.0 (bpy module) environment the first time (tools/venvs.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/venvs.sh
python=$(gt_venv "${GT_DEMO_BPY:-5.0.1}")
exec "$python" demo/render_demo.py "$@"
