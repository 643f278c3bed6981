"""Print the Ground Truth panels as text, as the recorder reads them (``dump_text``), in
three states: Blender's startup file as a new user opens it, a small labelled scene, and
after a render.

Run with the Python of a bpy environment (``tools/venvs.sh`` makes them)::

    python tests/blender/dump_panels.py [FOLDER]

``FOLDER`` (default: a new temporary folder) receives the render of the third state.
"""

import importlib.util
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def _import_path():
    # tests/conftest.py makes the repository importable as ``ground_truth``.
    path = os.path.join(os.path.dirname(HERE), "conftest.py")
    spec = importlib.util.spec_from_file_location("ground_truth_tests_conftest", path)
    spec.loader.exec_module(importlib.util.module_from_spec(spec))
    sys.path.insert(0, HERE)


def main(folder):
    _import_path()
    import bpy

    import ground_truth

    from helpers import add_box, label, select_only
    from panel_recorder import draw_all, dump_text

    ground_truth.register()
    bpy.ops.wm.read_factory_settings(use_empty=False)
    scene = bpy.context.scene
    cube = scene.objects["Cube"]
    print("### 1. Blender's startup file: EEVEE, not saved, no classes, the cube active")
    print(dump_text(draw_all(scene, active_object=cube)))

    car = add_box(scene, "Car", (3.0, 0.0, 0.0), (1.0, 1.0, 1.0))
    wheel = add_box(scene, "Wheel", (3.0, 0.0, -0.6), (0.3, 0.3, 0.3), parent=car)
    add_box(scene, "Man", (-3.0, 0.0, 0.0), (0.5, 0.5, 1.8))
    add_box(scene, "Floor", (0.0, 0.0, -1.0), (10.0, 10.0, 0.1))
    label([cube, car], "Vehicle")
    label([scene.objects["Man"]], "Person")
    select_only([wheel])
    print("\n### 2. Labelled: Vehicle (Cube, Car), Person (Man); Wheel (Car's child) active")
    print(dump_text(draw_all(scene, active_object=wheel)))

    settings = scene.ground_truth
    settings.output_dir = folder.rstrip("/") + "/"
    scene.render.engine = "CYCLES"
    scene.cycles.samples = 1
    scene.cycles.use_denoising = False
    scene.cycles.device = "CPU"
    scene.render.resolution_x, scene.render.resolution_y = 32, 24
    scene.render.resolution_percentage = 100
    result = bpy.ops.ground_truth.render()
    print(f"\n### 3. After Render Ground Truth ({sorted(result)[0]}), Cycles, into {folder}")
    print(dump_text(draw_all(scene, active_object=wheel)))
    ground_truth.unregister()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="gt-dump-"))
