"""What distinct copy IDs cost: Render Ground Truth against a plain render of the same
scene, with copies on screen and without.

Run with any Python that has the bpy module (``tools/venvs.sh`` makes one):
``python benchmarks/copies.py [--frames 3] [--repeats 3] [--samples 32]``.

It prints, for three scenes at 640x480 (a ground, a tilted camera, a sun):

1. with copies of labelled objects on screen, made by collection instances (150
   instances of a three-object collection: 450 copies), particle hair drawn as objects
   (1,500 copies) and a geometry-nodes scatter (Distribute Points on Faces, 1,200
   copies with Blender's hashed persistent IDs), each with Cycles' denoiser on and off:
   the plain render's and Render Ground Truth's seconds per frame, and the median ratio
   of pairs of runs (with its range) of wall time and of process CPU time; every other
   pair runs Ground Truth first, so that a drift of the machine's speed cancels out;
2. with no copies (five labelled objects): the fixed cost per frame beyond the render,
   compared frame by frame at one sample and in labels-only mode (``fixed_cost.py``).

The Ground Truth runs write RGB, depth, class and instance maps, meta and COCO (the
preview picture off); the plain runs save the PNG.
"""

import argparse
import math
import os
import shutil
import statistics
import sys
import tempfile
import time

import bpy

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "demo"))

import render_demo  # noqa: E402  (the demo scene's helpers)

WIDTH, HEIGHT = 640, 480


def base_scene(samples):
    """A 12 m ground, a sun and a camera looking down at it, nothing labelled yet."""
    scene, objects = render_demo.build_scene(WIDTH, HEIGHT, samples)
    for name in ("cube", "sphere", "cone"):
        bpy.data.objects.remove(objects[name])
    scene.ground_truth.output_preview = False
    scene.frame_start, scene.frame_end = 1, 1000
    return scene


def label(objects, name):
    bpy.ops.ground_truth.add_class(name=name)
    for ob in bpy.context.view_layer.objects:
        ob.select_set(ob in objects)
    bpy.ops.ground_truth.assign_class()


def shape(name, make, material, collection=None):
    bmesh = render_demo.bpy_bmesh()
    mesh = bpy.data.meshes.new(name)
    bm = bmesh.new()
    make(bmesh, bm)
    bm.to_mesh(mesh)
    bm.free()
    mesh.materials.append(material)
    ob = bpy.data.objects.new(name, mesh)
    (collection or bpy.context.scene.collection).objects.link(ob)
    return ob


def rock(material, collection=None, size=0.12):
    return shape(
        "Rock",
        lambda bmesh, bm: bmesh.ops.create_icosphere(bm, subdivisions=2, radius=size),
        material,
        collection,
    )


def collection_scene(samples):
    scene = base_scene(samples)
    red = render_demo.material("Red", (0.8, 0.1, 0.05))
    kit = bpy.data.collections.new("Kit")
    scene.collection.children.link(kit)
    parts = [
        shape("Crate", lambda b, bm: b.ops.create_cube(bm, size=0.18), red, kit),
        rock(red, kit, 0.1),
        shape(
            "Cone",
            lambda b, bm: b.ops.create_cone(
                bm, cap_ends=True, segments=24, radius1=0.08, radius2=0.0, depth=0.2
            ),
            red,
            kit,
        ),
    ]
    parts[0].location.x, parts[2].location.x = -0.15, 0.15
    label(parts, "Kit")
    scene.view_layers[0].layer_collection.children["Kit"].exclude = True
    side = math.ceil(math.sqrt(150))
    for index in range(150):
        empty = bpy.data.objects.new(f"Kit {index}", None)
        empty.instance_type = "COLLECTION"
        empty.instance_collection = kit
        row, column = divmod(index, side)
        empty.location = (column * 0.42 - 2.5, row * 0.3 - 1.2, 0.1)
        empty.rotation_euler.z = 0.7 * index
        scene.collection.objects.link(empty)
    return scene


def particle_scene(samples):
    scene = base_scene(samples)
    source = rock(render_demo.material("Grey", (0.5, 0.5, 0.5)), size=0.05)
    source.location = (0.0, 0.0, -50.0)  # the original out of view
    label([source], "Rock")
    emitter = render_demo.mesh_object(
        scene,
        "Meadow",
        lambda bm: render_demo.bpy_bmesh().ops.create_grid(
            bm, x_segments=30, y_segments=30, size=2.5
        ),
        (0.0, 0.3, 0.01),
        render_demo.material("Soil", (0.3, 0.2, 0.1)),
    )
    settings = emitter.modifiers.new("Rocks", "PARTICLE_SYSTEM").particle_system.settings
    settings.type = "HAIR"
    settings.count = 1500
    settings.hair_length = 0.1
    settings.render_type = "OBJECT"
    settings.instance_object = source
    settings.particle_size = 1.0
    return scene


def scatter_scene(samples):
    scene = base_scene(samples)
    source = rock(render_demo.material("Stone", (0.6, 0.55, 0.5)), size=0.05)
    source.location = (0.0, 0.0, -50.0)
    label([source], "Stone")
    field = render_demo.mesh_object(
        scene,
        "Field",
        lambda bm: render_demo.bpy_bmesh().ops.create_grid(
            bm, x_segments=1, y_segments=1, size=2.5
        ),
        (0.0, 0.3, 0.01),
        render_demo.material("Grass", (0.2, 0.4, 0.1)),
    )
    group = bpy.data.node_groups.new("Scatter", "GeometryNodeTree")
    group.interface.new_socket("Geometry", in_out="INPUT", socket_type="NodeSocketGeometry")
    group.interface.new_socket("Geometry", in_out="OUTPUT", socket_type="NodeSocketGeometry")
    nodes, links = group.nodes, group.links
    inputs, outputs = nodes.new("NodeGroupInput"), nodes.new("NodeGroupOutput")
    distribute = nodes.new("GeometryNodeDistributePointsOnFaces")
    distribute.inputs["Density"].default_value = 1200 / 25.0
    info = nodes.new("GeometryNodeObjectInfo")
    info.inputs["Object"].default_value = source
    instance = nodes.new("GeometryNodeInstanceOnPoints")
    join = nodes.new("GeometryNodeJoinGeometry")
    links.new(inputs.outputs[0], distribute.inputs["Mesh"])
    links.new(distribute.outputs["Points"], instance.inputs["Points"])
    links.new(info.outputs["Geometry"], instance.inputs["Instance"])
    links.new(instance.outputs["Instances"], join.inputs[0])
    links.new(inputs.outputs[0], join.inputs[0])
    links.new(join.outputs[0], outputs.inputs[0])
    field.modifiers.new("Scatter", "NODES").node_group = group
    return scene


def plain_scene(samples, count=5):
    """No instancing: five labelled objects in a row, or ``count`` in a grid facing the
    camera (as many as a warehouse of boxes or a shelf of products has)."""
    scene = base_scene(samples)
    material = render_demo.material("Red", (0.8, 0.1, 0.05))
    objects = []
    side = math.ceil(math.sqrt(count))
    for index in range(count):
        if count == 5:
            ob = rock(material, size=0.3)
            ob.location = (index * 0.8 - 1.6, 0.3, 0.3)
        else:
            ob = rock(material, size=1.5 / side)
            row, column = divmod(index, side)
            ob.location = (column / side * 3.2 - 1.6, 0.3, row / side * 2.4 - 0.6)
        objects.append(ob)
    label(objects, "Thing")
    return scene


def count_copies(scene):
    depsgraph = bpy.context.evaluated_depsgraph_get()
    return sum(1 for i in depsgraph.object_instances if i.is_instance)


def plain_seconds(scene, folder, frames, labels_only=False):
    """(wall, process CPU) seconds per frame of a plain render saving each PNG."""
    cycles = scene.cycles
    saved = cycles.samples, cycles.max_bounces, cycles.use_denoising
    if labels_only:  # what labels-only mode renders
        cycles.samples, cycles.max_bounces, cycles.use_denoising = 1, 0, False
    scene.render.image_settings.file_format = "PNG"
    wall, cpu = time.perf_counter(), time.process_time()
    for frame in frames:
        scene.frame_set(frame)
        scene.render.filepath = os.path.join(folder, f"{frame:06d}.png")
        bpy.ops.render.render(write_still=True)
    result = (time.perf_counter() - wall) / len(frames), (time.process_time() - cpu) / len(frames)
    cycles.samples, cycles.max_bounces, cycles.use_denoising = saved
    return result


def ground_truth_seconds(scene, folder, frames, labels_only=False):
    from ground_truth.render import pipeline

    scene.ground_truth.output_dir = folder + os.sep
    wall, cpu = time.perf_counter(), time.process_time()
    pipeline.render_ground_truth(scene, frames, labels_only=labels_only)
    return (time.perf_counter() - wall) / len(frames), (time.process_time() - cpu) / len(frames)


def pairs_of(scene, work, frames, repeats, labels_only=False):
    """``{"wall": [(plain, ours)], "cpu": [...]}`` seconds per frame."""
    pairs = {"wall": [], "cpu": []}
    for index in range(repeats):
        runs = {}
        order = ("plain", "ours") if index % 2 == 0 else ("ours", "plain")
        for kind in order:
            folder = os.path.join(work, kind)
            shutil.rmtree(folder, ignore_errors=True)
            run = plain_seconds if kind == "plain" else ground_truth_seconds
            runs[kind] = run(scene, folder, frames, labels_only)
        for position, clock in enumerate(("wall", "cpu")):
            pairs[clock].append((runs["plain"][position], runs["ours"][position]))
    return pairs


def ratio_row(label, pairs):
    ratios = sorted(ours / plain for plain, ours in pairs)
    plain = statistics.median(p for p, _ in pairs)
    ours = statistics.median(o for _, o in pairs)
    return (
        f"{label}: plain {plain:6.2f} s/frame, Ground Truth {ours:6.2f} s/frame -> "
        f"{statistics.median(ratios):.3f}x (pairs {ratios[0]:.3f}-{ratios[-1]:.3f}, "
        f"n={len(ratios)})"
    )


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=3, help="frames per timed run")
    parser.add_argument("--repeats", type=int, default=3, help="pairs of runs per row")
    parser.add_argument("--samples", type=int, default=32)
    parser.add_argument("--skip-copies", action="store_true", help="only the fixed cost")
    parser.add_argument("--fixed-frames", type=int, default=60, help="frames per fixed-cost mode")
    args = parser.parse_args(argv)
    render_demo.import_extension()
    work = tempfile.mkdtemp(prefix="gt-copies-bench-")
    frames = list(range(1, args.frames + 1))
    print(
        f"Copies: Blender {bpy.app.version_string}, Cycles CPU, {os.cpu_count()} cores, "
        f"{WIDTH}x{HEIGHT}, {args.samples} samples, {len(frames)} frames per run (target <= 1.05x)"
    )
    scenes = (
        ("collection instances", collection_scene),
        ("particle hair", particle_scene),
        ("geometry-nodes scatter", scatter_scene),
    )
    for name, build in () if args.skip_copies else scenes:
        scene = build(args.samples)
        print(f"{name} ({count_copies(scene)} copies):", flush=True)
        for denoise in (True, False):
            scene.cycles.use_denoising = denoise
            pairs = pairs_of(scene, work, frames, args.repeats)
            state = "denoiser on " if denoise else "denoiser off"
            print(ratio_row(f"  {state}, wall", pairs["wall"]))
            print(ratio_row(f"  {state}, CPU ", pairs["cpu"]), flush=True)
    import fixed_cost  # here: it imports this module's scenes

    fixed_cost.report(args.fixed_frames)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main(sys.argv[1:])
