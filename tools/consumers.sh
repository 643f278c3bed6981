#!/usr/bin/env bash
# The consumers of Ground Truth's exports, for tests only: creates (once) and reuses a
# Python 3.11 virtual environment with Ultralytics, Datumaro, pycocotools and what the BOP
# toolkit's readers need (imageio, pypng, scipy; the toolkit itself is not on PyPI: the
# tests take it from ../shared/consumers/bop_toolkit), in $GT_CACHE/venv-consumers. Sourced like tools/venvs.sh (which it sources for GT_CACHE,
# GT_PYTHON and gt_venv); quiet when the cache is warm.
#
#   source tools/consumers.sh
#   GT_BPY_PYTHON="$(gt_venv 5.0.1)" "$(gt_consumer_venv)" -m pytest tests/export -q
#
# Versions, all pinned through a constraints file so that dependencies cannot move them:
# - numpy 2.4: Datumaro 1.13 needs numpy >= 2.2 (the bpy venvs keep numpy < 2, so the
#   extension's code is tested on both); both OpenCV wheels (Ultralytics asks for
#   opencv-python, Datumaro for opencv-python-headless; they share the cv2 folder) at the
#   same version, so whichever installs last leaves the same files.
# - torch 2.14.1 with torchvision 0.29.1: PyPI's torchvision wheels for Linux x86_64 are
#   built against the CUDA build of torch of the same release; beside the CPU-only torch
#   2.13.0 wheel, torchvision 0.28.0 fails to import ("operator torchvision::nms does not
#   exist": its C++ ops need libtorch_cuda), and Ultralytics' validator imports it. The CUDA
#   build runs on the CPU; on this machine pip takes both from the local wheel store.

if [ -z "${GT_CACHE:-}" ] || ! declare -F gt_venv >/dev/null; then
    # shellcheck source=tools/venvs.sh
    source "$(dirname "${BASH_SOURCE[0]}")/venvs.sh"
fi

GT_CONSUMER_CONSTRAINTS="numpy==2.4.6
torch==2.14.1
torchvision==0.29.1
opencv-python==4.14.0.94
opencv-python-headless==4.14.0.94
ultralytics==8.4.190
datumaro==1.13.12
pycocotools==2.0.11
imageio==2.38.1
pypng==0.20220715.0
scipy==1.17.1
pytest==8.3.4"
GT_CONSUMER_PACKAGES="numpy torch torchvision opencv-python opencv-python-headless ultralytics datumaro pycocotools imageio pypng scipy pytest"

gt_consumer_venv() {
    # gt_consumer_venv -> prints the python of a ready consumer environment.
    local dir="$GT_CACHE/venv-consumers"
    local spec="$GT_CONSUMER_PACKAGES | $(echo "$GT_CONSUMER_CONSTRAINTS" | tr '\n' ' ')"
    local stamp="$dir/.ground-truth-packages"
    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$spec" ]; then
        echo "Setting up $dir (Ultralytics, Datumaro, torch; several minutes the first time)..." >&2
        if ! "$GT_PYTHON" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
            echo "The consumer environment is made for Python 3.11; set GT_PYTHON to one." >&2
            return 1
        fi
        if [ ! -x "$dir/bin/python" ]; then
            "$GT_PYTHON" -m venv "$dir" >&2 || return 1
        fi
        echo "$GT_CONSUMER_CONSTRAINTS" > "$dir/constraints.txt"
        # shellcheck disable=SC2086  # the package list is a list of words
        "$dir/bin/python" -m pip install --quiet --disable-pip-version-check \
            -c "$dir/constraints.txt" $GT_CONSUMER_PACKAGES >&2 || return 1
        echo "$spec" > "$stamp"
    fi
    echo "$dir/bin/python"
}
