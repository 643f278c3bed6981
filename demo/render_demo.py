"""Build the classic demo scene and render its ground truth.

Run through ``bash tools/demo.sh [OUTPUT_DIR]``, or with any Python that has the bpy
module: ``python demo/render_demo.py OUTPUT_DIR``. The scene is a floor and three
labelled objects with distinct materials under an area light, seen by a camera at
(0, -4.97, 2.46) tilted 75 degrees. It is saved as ``OUTPUT_DIR/demo.blend`` too.
"""

import argparse
import math
import os
import sys
import tempfile

import bpy

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def import_extension():
    """Import the repository as the ``ground_truth`` package and register it."""
    # A link named ground_truth outside the clone, as Blender names the installed folder.
    link_dir = tempfile.mkdtemp(prefix="gt-import-")
    os.symlink(REPO, os.path.join(link_dir, "ground_truth"))
    sys.path.insert(0, link_dir)
    import ground_truth

    ground_truth.register()
    return ground_truth


def material(name, color, roughness=0.5, metallic=0.0):
    from ground_truth import compat  # importable once import_extension() ran

    mat = bpy.data.materials.new(name)
    compat.use_nodes(mat)
    bsdf = next(n for n in mat.node_tree.nodes if n.type == "BSDF_PRINCIPLED")
    bsdf.inputs["Base Color"].default_value = (*color, 1.0)
    bsdf.inputs["Roughness"].default_value = roughness
    bsdf.inputs["Metallic"].default_value = metallic
    return mat


def mesh_object(scene, name, build, location, mat, smooth=False):
    import bmesh  # importable only once bpy is

    mesh = bpy.data.meshes.new(name)
    bm = bmesh.new()
    build(bm)
    bm.to_mesh(mesh)
    bm.free()
    if smooth:
        for polygon in mesh.polygons:
            polygon.use_smooth = True
    mesh.materials.append(mat)
    ob = bpy.data.objects.new(name, mesh)
    ob.location = location
    scene.collection.objects.link(ob)
    return ob


def bpy_bmesh():
    import bmesh

    return bmesh


def build_scene(width, height, samples):
    """The classic scene: a floor, a cube, a sphere and a cone, an area light, a tilted camera."""
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    scene.render.engine = "CYCLES"
    scene.cycles.device = "CPU"
    scene.cycles.samples = samples
    scene.render.resolution_x, scene.render.resolution_y = width, height
    scene.render.resolution_percentage = 100

    from ground_truth import compat  # importable once import_extension() ran

    world = bpy.data.worlds.new("World")
    compat.use_nodes(world)
    world.node_tree.nodes["Background"].inputs["Color"].default_value = (0.05, 0.06, 0.08, 1)
    scene.world = world

    floor = mesh_object(
        scene,
        "Floor",
        lambda bm: bpy_bmesh().ops.create_grid(bm, x_segments=1, y_segments=1, size=20.0),
        (0.0, 0.0, 0.0),
        material("Floor", (0.55, 0.55, 0.5), roughness=0.8),
    )
    cube = mesh_object(
        scene,
        "Cube",
        lambda bm: bpy_bmesh().ops.create_cube(bm, size=1.0),
        (-1.05, 0.3, 0.5),
        material("Red plastic", (0.8, 0.08, 0.05), roughness=0.35),
    )
    cube.rotation_euler.z = math.radians(25.0)
    sphere = mesh_object(
        scene,
        "Sphere",
        lambda bm: bpy_bmesh().ops.create_uvsphere(bm, u_segments=48, v_segments=24, radius=0.6),
        (0.15, 1.0, 0.6),
        material("Gold", (0.9, 0.65, 0.2), roughness=0.25, metallic=1.0),
        smooth=True,
    )
    cone = mesh_object(
        scene,
        "Cone",
        lambda bm: bpy_bmesh().ops.create_cone(
            bm, cap_ends=True, segments=48, radius1=0.5, radius2=0.0, depth=1.2
        ),
        (1.1, -0.25, 0.6),
        material("Blue matte", (0.1, 0.25, 0.8), roughness=0.9),
        smooth=True,
    )

    light_data = bpy.data.lights.new("Area", "AREA")
    light_data.energy = 600.0
    light_data.size = 3.0
    light = bpy.data.objects.new("Area", light_data)
    light.location = (2.0, -2.0, 4.0)
    light.rotation_euler = (math.radians(35.0), 0.0, math.radians(45.0))
    scene.collection.objects.link(light)

    camera = bpy.data.objects.new("Camera", bpy.data.cameras.new("Camera"))
    camera.location = (0.0, -4.97, 2.46)
    camera.rotation_euler = (math.radians(75.0), 0.0, 0.0)
    scene.collection.objects.link(camera)
    scene.camera = camera
    return scene, {"floor": floor, "cube": cube, "sphere": sphere, "cone": cone}


def label_scene(scene, objects):
    """Define the classes and label the three objects, as a user does in the panel.

    The floor stays unlabelled: it reads 0 in the class and instance maps.
    """
    for class_name, names in (
        ("Box", ["cube"]),
        ("Ball", ["sphere"]),
        ("Cone", ["cone"]),
    ):
        bpy.ops.ground_truth.add_class(name=class_name)
        for ob in bpy.context.view_layer.objects:
            ob.select_set(False)
        for name in names:
            objects[name].select_set(True)
        bpy.ops.ground_truth.assign_class()


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", nargs="?", default=os.path.join(REPO, "demo_output"))
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=480)
    parser.add_argument("--samples", type=int, default=32)
    args = parser.parse_args(argv)
    output = os.path.abspath(args.output)

    import_extension()
    scene, objects = build_scene(args.width, args.height, args.samples)
    label_scene(scene, objects)
    os.makedirs(output, exist_ok=True)
    scene.ground_truth.output_dir = "//"  # the dataset lies next to the saved .blend
    bpy.ops.wm.save_as_mainfile(filepath=os.path.join(output, "demo.blend"))
    bpy.ops.ground_truth.render()

    print(f"\nGround truth of the demo scene ({args.width}x{args.height}, {args.samples} samples):")
    for kind, name in (
        ("rgb", "rgb/000001.png"),
        ("depth (float32 metres)", "depth/000001.exr"),
        ("class map (uint16)", "class/000001.png"),
        ("instance map (uint16)", "instance/000001.png"),
        ("camera, poses, boxes", "meta/000001.json"),
        ("COCO annotations", "annotations/coco_instances.json"),
        ("preview", "preview/000001.png"),
        ("dataset description", "dataset.json"),
        ("scene", "demo.blend"),
    ):
        path = os.path.join(output, name)
        mark = "" if os.path.exists(path) else "  (missing!)"
        print(f"  {kind:24s} {path}{mark}")


if __name__ == "__main__":
    main(sys.argv[1:])
