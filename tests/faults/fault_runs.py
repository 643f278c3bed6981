"""The fault suite's helpers: the saved scene's script, the headless command in a child
process, and the checks every dataset must pass after any fault.

A module of its own (not conftest) so that the tests import it by a name no other
folder's conftest shares.
"""

import json
import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

SCENE_SCRIPT = r"""
import math, sys
import bpy
import ground_truth
ground_truth.register()
bpy.ops.wm.read_factory_settings(use_empty=True)
scene = bpy.context.scene
scene.render.engine = "CYCLES"
scene.cycles.device = "CPU"
scene.cycles.samples = int(sys.argv[2])
scene.cycles.use_denoising = False
scene.render.resolution_x, scene.render.resolution_y = 64, 48
scene.frame_start, scene.frame_end = 1, 8

def box(name, location, size):
    mesh = bpy.data.meshes.new(name)
    s = [v / 2 for v in size]
    signs = [(x, y, z) for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)]
    verts = [(x * s[0], y * s[1], z * s[2]) for x, y, z in signs]
    faces = [(0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3)]
    mesh.from_pydata(verts, [], faces)
    ob = bpy.data.objects.new(name, mesh)
    ob.location = location
    scene.collection.objects.link(ob)
    return ob

floor = box("Floor", (0, 0, -0.05), (12, 12, 0.1))
cubes = [box(f"Cube{i}", (i - 1.0, 0.3 * i, 0.5), (0.8, 0.8, 0.8)) for i in range(3)]
for i, cube in enumerate(cubes):
    cube.keyframe_insert("location", frame=1)
    cube.location.x += 0.4 + 0.2 * i
    cube.keyframe_insert("location", frame=8)
light = bpy.data.objects.new("Light", bpy.data.lights.new("Light", "SUN"))
scene.collection.objects.link(light)
camera = bpy.data.objects.new("Camera", bpy.data.cameras.new("Camera"))
camera.location = (0.0, -6.0, 4.0)
camera.rotation_euler = (math.radians(57.0), 0.0, 0.0)
scene.collection.objects.link(camera)
scene.camera = camera
for name, objects in (("Cube", cubes), ("Floor", [floor])):
    bpy.ops.ground_truth.add_class(name=name)
    for ob in bpy.context.view_layer.objects:
        ob.select_set(ob in objects)
    bpy.ops.ground_truth.assign_class()
bpy.ops.wm.save_as_mainfile(filepath=sys.argv[1])
"""


def environment(import_path, **extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLURM_", "JOB_"))}
    env["PYTHONPATH"] = import_path
    env.update(extra)
    return env


def make_scene(import_path, path, samples):
    script = path.parent / "make_scene.py"
    script.write_text(SCENE_SCRIPT)
    done = subprocess.run(
        [sys.executable, str(script), str(path), str(samples)],
        env=environment(import_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return path


def command(import_path, blend, *argv):
    """The argument list that runs ``python -m ground_truth`` on ``blend``."""
    verb, *rest = argv
    return [sys.executable, "-m", "ground_truth", verb, str(blend), *rest]


def run(import_path, blend, *argv, timeout=300, **popen):
    """Run the headless command to its end; returns the CompletedProcess."""
    return subprocess.run(
        command(import_path, blend, *argv),
        env=environment(import_path),
        capture_output=True,
        text=True,
        timeout=timeout,
        **popen,
    )


def assert_dataset_is_true(folder, expect_frames=None):
    """What must hold after any fault: every listed frame loads and matches its record,
    COCO equals a rebuild from the files, and no temporary file, lock, claim or raw
    folder is left."""
    from ground_truth.dataset import coco, reader

    data = reader.read_dataset(folder)
    for frame in data["frames"]:
        sample = reader.load_frame(folder, frame, exr_backend="builtin")
        assert sample["instance"] is not None and sample["depth"] is not None, frame
        assert sample["meta"]["frame"] == frame
    if expect_frames is not None:
        assert data["frames"] == sorted(expect_frames)
    written = json.loads((folder / "annotations" / "coco_instances.json").read_text())
    assert written == coco.coco_from_frames(str(folder))
    assert sorted(i["id"] for i in written["images"]) == data["frames"]
    leftovers = [
        os.path.join(root, name)
        for root, _dirs, names in os.walk(folder)
        for name in names
        if ".tmp-" in name or name.endswith(".claim") or name == ".lock"
    ]
    assert not leftovers, leftovers
    assert not (folder / ".raw").exists()
    return data
