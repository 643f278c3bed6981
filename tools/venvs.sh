#!/usr/bin/env bash
# Creates (once) and reuses one virtual environment per supported Blender version,
# in a cache folder outside the clone so that fresh clones reuse them.
# Sourced by tools/test.sh, tools/demo.sh and benchmarks; quiet when the cache is warm.

GT_CACHE="${GT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ground_truth}"
GT_BPY_VERSIONS="${GT_BPY_VERSIONS:-4.2.23 4.5.15 5.0.1}"
# The bpy wheels of 4.2, 4.5 and 5.0 are built for CPython 3.11.
if [ -z "${GT_PYTHON:-}" ]; then
    if command -v python3.11 >/dev/null 2>&1; then
        GT_PYTHON=python3.11
    else
        GT_PYTHON=python3
    fi
fi
# Test and lint tools only: the extension itself needs nothing beyond bpy and numpy.
GT_TEST_PACKAGES="pytest==8.3.4 pillow==11.0.0 OpenEXR==3.3.2 pycocotools==2.0.8 ruff==0.17.6 PyYAML==6.0.2"
# The bpy 4.5 and 5.0 wheels need numpy 1.26; 4.2 would take numpy 2 from another package.
GT_NUMPY="numpy==1.26.4"

gt_venv() {
    # gt_venv VERSION -> prints the python of a ready environment with bpy==VERSION.
    local version="$1"
    local dir="$GT_CACHE/venv-bpy-$version"
    local spec="bpy==$version $GT_NUMPY $GT_TEST_PACKAGES"
    local stamp="$dir/.ground-truth-packages"
    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$spec" ]; then
        echo "Setting up $dir (bpy $version; a few minutes the first time)..." >&2
        if ! "$GT_PYTHON" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
            echo "The bpy $version wheel needs Python 3.11; set GT_PYTHON to one." >&2
            return 1
        fi
        if [ ! -x "$dir/bin/python" ]; then
            "$GT_PYTHON" -m venv "$dir" >&2 || return 1
        fi
        # shellcheck disable=SC2086  # the spec is a list of words
        "$dir/bin/python" -m pip install --quiet --disable-pip-version-check $spec >&2 \
            || return 1
        echo "$spec" > "$stamp"
    fi
    echo "$dir/bin/python"
}
