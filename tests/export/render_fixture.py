"""Render the export tests' dataset: the demo scene, animated, with a few hard cases.

Run with a Python that has the bpy module (``tools/venvs.sh``'s ``gt_venv 5.0.1``)::

    python tests/export/render_fixture.py OUTPUT_DIR [--width 160 --height 120 --samples 4]

The scene is ``demo/render_demo.py``'s (floor, cube, sphere, cone, camera, light) plus:

- a torus standing up facing the camera (class ``Torus Ring``): a mask with a hole;
- a thin unlabelled pole in front of the sphere, which splits the sphere's mask in two;
- the floor labelled as class ``Floor``, marked ``"stuff": true`` in ``dataset.json``
  after the render (the panel setting for it comes later; older datasets have no flag);
- a class removed from the middle of the table, so class IDs are 1, 2, 3, 5, 6.

Frames 0, 2, ..., 14 (8 frames, starting at 0 with step 2). The cube slides left out of
the picture (truncated, then gone), the sphere slides right behind the pole, the cone
turns and comes closer. Visible fractions are on, so meta and COCO carry them.

With ``--bop`` (the BOP export's dataset) the frames are 0, 7 and 14, Amodal Masks and
Object Models are on, and the scene gets the hard cases of models: the cube scaled
unevenly (its scale goes into its model), a second cone drawing the cone's mesh (one
model for both), and a handle parented to the torus (one instance of two parts).
"""

import argparse
import importlib.util
import json
import math
import os
import sys

import bpy

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIRST, LAST, STEP = 0, 14, 2


def _demo_module():
    spec = importlib.util.spec_from_file_location(
        "render_demo", os.path.join(REPO, "demo", "render_demo.py")
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _torus(scene, demo):
    import bmesh

    mesh = bpy.data.meshes.new("Torus")
    bm = bmesh.new()
    major, minor, ring_segments, tube_segments = 0.45, 0.11, 48, 16
    rings = []
    for i in range(ring_segments):
        u = 2.0 * math.pi * i / ring_segments
        ring = []
        for j in range(tube_segments):
            v = 2.0 * math.pi * j / tube_segments
            radius = major + minor * math.cos(v)
            ring.append(
                bm.verts.new((radius * math.cos(u), radius * math.sin(u), minor * math.sin(v)))
            )
        rings.append(ring)
    for i in range(ring_segments):
        a, b = rings[i], rings[(i + 1) % ring_segments]
        for j in range(tube_segments):
            k = (j + 1) % tube_segments
            bm.faces.new((a[j], b[j], b[k], a[k]))
    bm.to_mesh(mesh)
    bm.free()
    for polygon in mesh.polygons:
        polygon.use_smooth = True
    mesh.materials.append(demo.material("Green", (0.1, 0.7, 0.2), roughness=0.4))
    ob = bpy.data.objects.new("Torus", mesh)
    ob.location = (-0.3, -1.2, 0.85)
    ob.rotation_euler = (math.radians(90.0), 0.0, 0.0)  # stands up, hole towards the camera
    scene.collection.objects.link(ob)
    return ob


def _pole(scene, demo):
    return demo.mesh_object(
        scene,
        "Pole",
        lambda bm: demo.bpy_bmesh().ops.create_cone(
            bm, cap_ends=True, segments=12, radius1=0.05, radius2=0.05, depth=2.6
        ),
        (0.3, 0.35, 1.3),
        demo.material("Grey", (0.3, 0.3, 0.3), roughness=0.6),
    )


def _label(objects):
    names = (
        ("Box", ["cube"]),
        ("Ball", ["sphere"]),
        ("Cone", ["cone", "twin"]),
        ("Spare", []),
        ("Torus Ring", ["torus"]),
        ("Floor", ["floor"]),
    )
    for class_name, keys in names:
        bpy.ops.ground_truth.add_class(name=class_name)
        for ob in bpy.context.view_layer.objects:
            ob.select_set(False)
        for key in keys:
            if key in objects:  # the twin only with --bop
                objects[key].select_set(True)
        if keys:
            bpy.ops.ground_truth.assign_class()
    settings = bpy.context.scene.ground_truth
    settings.active_class_index = [c.name for c in settings.classes].index("Spare")
    bpy.ops.ground_truth.remove_class()


def _animate(scene, objects):
    scene.frame_start, scene.frame_end, scene.frame_step = FIRST, LAST, STEP
    cube, sphere, cone, torus = (objects[k] for k in ("cube", "sphere", "cone", "torus"))
    keys = {
        FIRST: {"cube": -1.05, "sphere": 0.05, "cone_z": 0.0, "cone_y": -0.25, "torus": 0.0},
        LAST: {"cube": -3.6, "sphere": 0.75, "cone_z": 60.0, "cone_y": -0.9, "torus": 25.0},
    }
    for frame, value in keys.items():
        cube.location.x = value["cube"]
        cube.keyframe_insert("location", index=0, frame=frame)
        sphere.location.x = value["sphere"]
        sphere.keyframe_insert("location", index=0, frame=frame)
        cone.rotation_euler.z = math.radians(value["cone_z"])
        cone.keyframe_insert("rotation_euler", index=2, frame=frame)
        cone.location.y = value["cone_y"]
        cone.keyframe_insert("location", index=1, frame=frame)
        torus.rotation_euler.z = math.radians(value["torus"])
        torus.keyframe_insert("rotation_euler", index=2, frame=frame)


def _bop_cases(scene, objects):
    """The model cases of ``--bop``: an uneven scale, a shared mesh, a parented part."""
    objects["cube"].scale = (1.3, 0.7, 1.0)
    twin = bpy.data.objects.new("Cone Twin", objects["cone"].data)
    twin.location = (-0.45, -0.6, 0.6)
    twin.rotation_euler.z = math.radians(40.0)
    scene.collection.objects.link(twin)
    objects["twin"] = twin
    handle = bpy.data.objects.new("Handle", objects["pole"].data.copy())
    handle.scale = (0.8, 0.8, 0.12)
    handle.location = (0.6, 0.0, 0.0)
    handle.rotation_euler.y = math.radians(90.0)
    handle.parent = objects["torus"]
    scene.collection.objects.link(handle)


def _mark_stuff(output, names):
    path = os.path.join(output, "dataset.json")
    with open(path, encoding="utf-8") as file:
        data = json.load(file)
    for item in data["classes"]:
        if item["name"] in names:
            item["stuff"] = True
    with open(path, "w", encoding="utf-8") as file:
        json.dump(data, file, indent=2)
        file.write("\n")


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output")
    parser.add_argument("--width", type=int, default=160)
    parser.add_argument("--height", type=int, default=120)
    parser.add_argument("--samples", type=int, default=4)
    parser.add_argument("--bop", action="store_true", help="the BOP export's dataset")
    args = parser.parse_args(argv)
    output = os.path.abspath(args.output)

    demo = _demo_module()
    demo.import_extension()
    scene, objects = demo.build_scene(args.width, args.height, args.samples)
    scene.cycles.use_denoising = False
    objects["torus"] = _torus(scene, demo)
    objects["pole"] = _pole(scene, demo)
    if args.bop:
        _bop_cases(scene, objects)
    _label(objects)
    _animate(scene, objects)
    settings = scene.ground_truth
    if args.bop:
        scene.frame_step = 7
        settings.output_amodal = True
        settings.output_models = True
    settings.output_dir = output + os.sep
    settings.output_visible_fraction = True
    settings.output_preview = False
    result = bpy.ops.ground_truth.render(animation=True)
    if result != {"FINISHED"}:
        raise SystemExit(f"render returned {result}")
    _mark_stuff(output, {"Floor"})
    print(f"Rendered frames {FIRST}-{LAST}:{scene.frame_step} to {output}")


if __name__ == "__main__":
    main(sys.argv[sys.argv.index("--") + 1 :] if "--" in sys.argv else sys.argv[1:])
