#!/usr/bin/env bash
# Builds the extension zip into dist/ (or the folder given) with Blender's own extension
# tool, taken from the bpy 5.0 module: no Blender install needed.
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/venvs.sh
python=$(gt_venv "${GT_DEMO_BPY:-5.0.1}")
out="${1:-dist}"
mkdir -p "$out"
tool=$("$python" -c 'import bpy, os; print(os.path.join(bpy.utils.system_resource("SCRIPTS"), "addons_core", "bl_pkg", "cli", "blender_ext.py"))')
exec "$python" "$tool" build --source-dir . --output-dir "$out"
