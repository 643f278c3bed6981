#!/usr/bin/env bash
# The test command: lint, the bpy-free tests, the Blender tests on 4.2, 4.5 and 5.0, then the
# exports read by their consumers.
# Sets up its virtual environments itself (tools/venvs.sh). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/venvs.sh

status=0
lint_python=""
for version in $GT_BPY_VERSIONS; do
    python=$(gt_venv "$version")
    lint_python="$python"
done

echo "== ruff =="
"$lint_python" -m ruff check . || status=1
"$lint_python" -m ruff format --check . || status=1

echo "== bpy-free tests =="
"$lint_python" -m pytest tests --ignore=tests/blender -q -p no:cacheprovider "$@" || status=1

for version in $GT_BPY_VERSIONS; do
    echo "== Blender (bpy $version) =="
    "$(gt_venv "$version")" -m pytest tests/blender -q -p no:cacheprovider "$@" || status=1
done

# The exports read by the tools that train on them (test-time packages, their own venv).
source tools/consumers.sh
echo "== Exports read by Ultralytics, Datumaro and pycocotools =="
GT_BPY_PYTHON="$(gt_venv 5.0.1)" "$(gt_consumer_venv)" -m pytest tests/export -q \
    -p no:cacheprovider "$@" || status=1

if [ "$status" -eq 0 ]; then
    echo "All tests passed on bpy $GT_BPY_VERSIONS."
else
    echo "Some tests FAILED (see above)." >&2
fi
exit "$status"
