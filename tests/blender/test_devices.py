"""The Cycles device of headless runs, against the real Cycles add-on preferences.

On a machine without a GPU every GPU kind must be refused with the reason and nothing changed;
on one with GPUs (the checks read what Cycles' own device query reports) the kind's devices,
and only those, are ticked and a frame renders on them.
"""

import os
import subprocess
import sys
import textwrap

import bpy
import pytest

from ground_truth.errors import GroundTruthError
from ground_truth.render import devices

from helpers import add_box, add_camera


@pytest.fixture
def prefs():
    """The Cycles preferences, with their device state put back after the test."""
    prefs = devices.cycles_preferences()
    prefs.refresh_devices()
    saved_type = prefs.compute_device_type
    saved_use = [(entry.type, entry.id, entry.use) for entry in prefs.devices]
    yield prefs
    saved = {(kind, device_id) for kind, device_id, _use in saved_use}
    for index in reversed(range(len(prefs.devices))):
        if (prefs.devices[index].type, prefs.devices[index].id) not in saved:
            prefs.devices.remove(index)
    prefs.compute_device_type = saved_type
    for entry in prefs.devices:
        for kind, device_id, use in saved_use:
            if (entry.type, entry.id) == (kind, device_id):
                entry.use = use


def preference_state(prefs):
    return prefs.compute_device_type, sorted((e.type, e.id, e.use) for e in prefs.devices)


def render_one_frame(scene):
    add_camera(scene)
    add_box(scene, "Box", (0.0, 0.0, 0.0), (1.0, 1.0, 1.0))
    bpy.ops.render.render()
    return bpy.data.images["Render Result"]


def test_cpu_sets_the_scene_and_leaves_the_preferences(scene, prefs):
    scene.cycles.device = "GPU"
    before = preference_state(prefs)
    choice = devices.use_device(scene, "cpu")
    assert scene.cycles.device == "CPU"
    assert choice.kind == "CPU" and not choice.changed_preferences
    cpu_names = [d[0] for d in prefs.get_device_list("CPU") if d[1] == "CPU"]
    assert choice.devices == tuple(cpu_names) and cpu_names
    assert preference_state(prefs) == before
    assert render_one_frame(scene) is not None
    devices.restore_device(scene, choice)
    assert scene.cycles.device == "GPU"


@pytest.mark.parametrize("kind", devices.GPU_KINDS)
def test_gpu_kind_uses_exactly_the_detected_devices_or_is_refused(scene, prefs, kind):
    # A device remembered from another machine: never ticked, never enough to accept the kind.
    stale = prefs.devices.add()
    stale.id, stale.name, stale.type, stale.use = f"{kind}_stale_0000", "Old GPU", kind, True
    scene.cycles.device = "CPU"
    detected = [d for d in prefs.get_device_list(kind) if d[1] == kind]
    before = preference_state(prefs)
    if not detected:
        with pytest.raises(GroundTruthError) as error:
            devices.use_device(scene, kind)
        message = str(error.value)
        assert message.startswith(f"No {kind} device found (Cycles sees: ")
        assert "CPU (" in message and "render with --device CPU" in message
        assert "Old GPU" not in message
        assert scene.cycles.device == "CPU"
        assert preference_state(prefs) == before
        return
    choice = devices.use_device(scene, kind)
    assert scene.cycles.device == "GPU"
    assert prefs.compute_device_type == kind
    ticked = sorted((e.type, e.id) for e in prefs.devices if e.use)
    assert ticked == sorted((kind, d[2]) for d in detected)
    assert choice.devices == tuple(d[0] for d in detected)
    assert prefs.has_active_device()
    assert render_one_frame(scene) is not None
    devices.restore_device(scene, choice)
    assert scene.cycles.device == "CPU"
    assert preference_state(prefs) == before


def test_unknown_kind_is_refused_with_the_choices(scene, prefs):
    before = preference_state(prefs)
    with pytest.raises(GroundTruthError, match="Unknown device 'VULKAN': choose one of CPU, CUDA"):
        devices.use_device(scene, "vulkan")
    assert preference_state(prefs) == before


def test_refusal_names_the_variable_hiding_the_gpus(scene, prefs, monkeypatch):
    if [d for d in prefs.get_device_list("CUDA") if d[1] == "CUDA"]:
        pytest.skip("this machine has a CUDA device: the refusal is checked in a fresh process")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3")
    with pytest.raises(
        GroundTruthError, match=r"driver and CUDA_VISIBLE_DEVICES='3' \(only the GPUs it names"
    ):
        devices.use_device(scene, "CUDA")


PROBE = textwrap.dedent(
    """
    import json, sys
    sys.path.insert(0, sys.argv[1])
    import bpy
    from ground_truth.errors import GroundTruthError
    from ground_truth.render import devices
    scene = bpy.context.scene
    try:
        choice = devices.use_device(scene, "CUDA")
        print(json.dumps({"devices": list(choice.devices)}))
    except GroundTruthError as error:
        print(json.dumps({"error": str(error)}))
    """
)


def test_cuda_visible_devices_set_empty_hides_every_cuda_gpu(tmp_path):
    # The runtime reads the variable once, when Cycles first asks: hence a fresh process.
    link_dir = next(p for p in sys.path if os.path.islink(os.path.join(p, "ground_truth")))
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}
    result = subprocess.run(
        [sys.executable, "-c", PROBE, link_dir],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    last = result.stdout.strip().splitlines()[-1]
    assert '"error": "No CUDA device found (Cycles sees: ' in last, result.stdout + result.stderr
    assert "CUDA_VISIBLE_DEVICES=''" in last
