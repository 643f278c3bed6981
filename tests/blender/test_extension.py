"""The extension as Blender ships it: validate, build, install from the zip, unregister.

The official extension tool is run from the bpy wheel, and the built zip is installed
into a private user folder by a fresh Blender process, the way "Install from Disk" does.
"""

import glob
import importlib
import json
import os
import shutil
import subprocess
import sys
import zipfile

import bpy
import pytest

import ground_truth

from helpers import add_box, add_camera, label

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ADDON_MODULE = "bl_ext.user_default.ground_truth"
RESULT_MARKER = "GROUND_TRUTH_RESULT "
SUBPACKAGES = ("properties", "operators", "panels")

# Runs in a fresh Blender process: installs the zip as a user does, then drives the
# installed add-on through its operators and prints one JSON line after RESULT_MARKER.
INSTALL_SCRIPT = r"""
import json
import os
import sys

zip_path, user_dir, out_dir = sys.argv[1:4]
os.environ["BLENDER_USER_RESOURCES"] = user_dir

import bpy  # first: it puts Blender's own modules (addon_utils) on sys.path

import addon_utils

MODULE = "bl_ext.user_default.ground_truth"
result = {}
result["install"] = sorted(
    bpy.ops.extensions.package_install_files(
        filepath=zip_path, repo="user_default", enable_on_install=True
    )
)
result["enabled"] = MODULE in bpy.context.preferences.addons
result["check"] = list(addon_utils.check(MODULE))
result["module_file"] = sys.modules[MODULE].__file__ if MODULE in sys.modules else None
result["ops"] = dir(bpy.ops.ground_truth)

scene = bpy.context.scene
for ob in list(bpy.data.objects):
    bpy.data.objects.remove(ob)


def box(name, x):
    mesh = bpy.data.meshes.new(name)
    s = 0.5
    verts = [(x + dx * s, dy * s, dz * s) for dx in (-1, 1) for dy in (-1, 1) for dz in (-1, 1)]
    faces = [(0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3)]
    mesh.from_pydata(verts, [], faces)
    ob = bpy.data.objects.new(name, mesh)
    scene.collection.objects.link(ob)
    return ob


camera = bpy.data.objects.new("Camera", bpy.data.cameras.new("Camera"))
camera.location = (0.0, 0.0, 6.0)
scene.collection.objects.link(camera)
scene.camera = camera
a, b, c = box("A", -1.5), box("B", 1.5), box("C", 0.0)

result["add"] = sorted(bpy.ops.ground_truth.add_class(name="Car"))
view_layer = bpy.context.view_layer
for ob in view_layer.objects:
    ob.select_set(ob in (a, b))
view_layer.objects.active = a
result["assign"] = sorted(bpy.ops.ground_truth.assign_class())
result["labels"] = {
    ob.name: [ob.ground_truth.class_id, ob.ground_truth.instance_id, ob.pass_index]
    for ob in (a, b, c)
}
result["classes"] = [[k.id, k.name] for k in scene.ground_truth.classes]

scene.render.engine = "CYCLES"
scene.cycles.device = "CPU"
scene.cycles.samples = 1
scene.cycles.use_denoising = False
scene.render.resolution_x, scene.render.resolution_y = 16, 12
scene.render.resolution_percentage = 100
scene.ground_truth.output_dir = out_dir + "/"
result["render"] = sorted(bpy.ops.ground_truth.render())
result["files"] = sorted(
    os.path.relpath(os.path.join(root, name), out_dir)
    for root, _dirs, names in os.walk(out_dir)
    for name in names
)
print("GROUND_TRUTH_RESULT " + json.dumps(result), flush=True)
"""


def blender_ext_tool():
    """The official extension command-line tool inside the running bpy wheel."""
    scripts = bpy.utils.system_resource("SCRIPTS")
    tool = os.path.join(scripts, "addons_core", "bl_pkg", "cli", "blender_ext.py")
    assert os.path.isfile(tool), f"blender_ext.py not found under {scripts}"
    return tool


def run_tool(*args):
    return subprocess.run(
        [sys.executable, blender_ext_tool(), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def built_zip(tmp_path_factory):
    """The extension zip built by the official tool from the working tree."""
    out = tmp_path_factory.mktemp("build")
    done = run_tool("build", "--source-dir", REPO, "--output-dir", str(out))
    assert done.returncode == 0, done.stdout + done.stderr
    zips = glob.glob(str(out / "*.zip"))
    assert len(zips) == 1, (zips, done.stdout)
    return zips[0]


def test_manifest_validates_with_the_official_tool():
    done = run_tool("validate", REPO)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Success" in done.stdout


def _extension_files(root):
    """What the zip must hold: the manifest, the top-level modules and the Python files of
    the top-level packages (folders with an ``__init__.py``), tests and tools excluded."""
    expected = {"blender_manifest.toml"}
    for name in os.listdir(root):
        path = os.path.join(root, name)
        if name.endswith(".py") and os.path.isfile(path):
            expected.add(name)
        elif name != "tests" and os.path.isfile(os.path.join(path, "__init__.py")):
            expected.update(
                f"{name}/{module}" for module in os.listdir(path) if module.endswith(".py")
            )
    return expected


def test_zip_holds_the_extension_and_nothing_else(built_zip):
    with zipfile.ZipFile(built_zip) as archive:
        names = set(archive.namelist())
        manifest = archive.read("blender_manifest.toml").decode()
    assert names == _extension_files(REPO)
    for package in ("operators", "panels", "properties", "nodes", "render", "scene", "dataset"):
        assert f"{package}/__init__.py" in names, package
    assert 'id = "ground_truth"' in manifest
    assert os.path.getsize(built_zip) < 1_000_000


def test_zip_leaves_out_whatever_else_lies_in_the_working_tree(tmp_path):
    # A copy of the tree with what a user's clone collects: the demo's output, a render,
    # caches, a saved .blend, a file inside a package that is not Python.
    tree = tmp_path / "tree"
    shutil.copytree(
        REPO,
        tree,
        symlinks=True,
        ignore=shutil.ignore_patterns(".git", "__pycache__", "*.pyc", "demo_output", "build"),
    )
    expected = _extension_files(tree)
    (tree / "demo_output" / "rgb").mkdir(parents=True)
    (tree / "demo_output" / "rgb" / "000001.png").write_bytes(os.urandom(2_000_000))
    (tree / "demo_output" / "demo.blend").write_bytes(b"BLENDER")
    (tree / "render" / "__pycache__").mkdir(exist_ok=True)
    (tree / "render" / "__pycache__" / "writer.cpython-311.pyc").write_bytes(b"x")
    (tree / "render" / "notes.txt").write_text("scratch")
    (tree / "scene.blend1").write_bytes(b"BLENDER")
    (tree / "build").mkdir(exist_ok=True)
    (tree / "build" / "stray.py").write_text("")
    out = tmp_path / "out"
    out.mkdir()
    done = run_tool("build", "--source-dir", str(tree), "--output-dir", str(out))
    assert done.returncode == 0, done.stdout + done.stderr
    (built,) = glob.glob(str(out / "*.zip"))
    with zipfile.ZipFile(built) as archive:
        assert set(archive.namelist()) == expected
    assert os.path.getsize(built) < 1_000_000


def test_zip_installs_enables_and_renders_like_a_user_install(built_zip, tmp_path):
    script = tmp_path / "install.py"
    script.write_text(INSTALL_SCRIPT)
    user_dir, out_dir = tmp_path / "user", tmp_path / "dataset"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONSTARTUP")}
    env["BLENDER_USER_RESOURCES"] = str(user_dir)
    done = subprocess.run(
        [sys.executable, str(script), built_zip, str(user_dir), str(out_dir)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd=str(tmp_path),
    )
    log = done.stdout[-4000:] + done.stderr[-4000:]
    assert done.returncode == 0, log
    lines = [line for line in done.stdout.splitlines() if line.startswith(RESULT_MARKER)]
    assert len(lines) == 1, log
    result = json.loads(lines[0][len(RESULT_MARKER) :])

    assert result["install"] == ["FINISHED"]
    assert result["enabled"] is True
    assert result["check"] == [True, True]  # default and loaded
    # The running code is the installed copy, not the working tree.
    assert result["module_file"].startswith(str(user_dir)), result["module_file"]
    installed = os.path.dirname(result["module_file"])
    assert os.path.isfile(os.path.join(installed, "blender_manifest.toml"))
    assert not os.path.exists(os.path.join(installed, "tests"))
    assert {"add_class", "assign_class", "render"} <= set(result["ops"])

    assert result["add"] == ["FINISHED"] and result["assign"] == ["FINISHED"]
    assert result["classes"] == [[1, "Car"]]
    labels = result["labels"]
    assert labels["C"] == [0, 0, 0]
    assert labels["A"][0] == labels["B"][0] == 1
    assert sorted([labels["A"][1], labels["B"][1]]) == [1, 2]
    for name in ("A", "B"):
        assert labels[name][1] == labels[name][2]  # instance ID mirrored to the pass index

    assert result["render"] == ["FINISHED"]
    frame = "000001"
    for expected in (
        f"rgb/{frame}.png",
        f"depth/{frame}.exr",
        f"class/{frame}.png",
        f"instance/{frame}.png",
        f"preview/{frame}.png",
    ):
        assert expected in result["files"], result["files"]
        assert (out_dir / expected).stat().st_size > 0


def _package_classes():
    return [
        cls
        for name in SUBPACKAGES
        for cls in importlib.import_module(f"ground_truth.{name}").classes
    ]


def _package_functions():
    functions = []
    for name, module in list(sys.modules.items()):
        if name == "ground_truth" or name.startswith("ground_truth."):
            functions += [f for f in vars(module).values() if callable(f)]
    return functions


def _handlers_of_package():
    found = []
    for name in dir(bpy.app.handlers):
        handlers = getattr(bpy.app.handlers, name)
        if isinstance(handlers, list):
            found += [
                (name, f)
                for f in handlers
                if getattr(f, "__module__", "").split(".")[0] == "ground_truth"
            ]
    return found


def _keymap_items_of_package():
    keyconfig = bpy.context.window_manager.keyconfigs.addon
    if keyconfig is None:
        return []
    return [
        item.idname
        for keymap in keyconfig.keymaps
        for item in keymap.keymap_items
        if item.idname.startswith("ground_truth.")
    ]


def _state_of_registration():
    return {
        "scene_property": hasattr(bpy.types.Scene, "ground_truth"),
        "object_property": hasattr(bpy.types.Object, "ground_truth"),
        "operators": dir(bpy.ops.ground_truth),
        "registered": sorted(c.__name__ for c in _package_classes() if c.is_registered),
        "types": sorted(c.__name__ for c in _package_classes() if hasattr(bpy.types, c.__name__)),
        "handlers": _handlers_of_package(),
        "timers": [f for f in _package_functions() if bpy.app.timers.is_registered(f)],
        "keymap_items": _keymap_items_of_package(),
    }


def test_unregister_leaves_nothing_and_register_again_works(scene):
    add_camera(scene)
    car = add_box(scene, "Car", (0.0, 0.0, 0.0), (1.0, 1.0, 1.0))
    label([car], "Vehicle")
    scene.ground_truth.output_dir = "/tmp/somewhere/"
    registered = _state_of_registration()
    assert registered["scene_property"] and registered["object_property"]
    assert len(registered["registered"]) == len(_package_classes())
    assert "render" in registered["operators"]

    ground_truth.unregister()
    try:
        state = _state_of_registration()
        assert state == {
            "scene_property": False,
            "object_property": False,
            "operators": [],
            "registered": [],
            "types": [],
            "handlers": [],
            "timers": [],
            "keymap_items": [],
        }
        with pytest.raises(AttributeError):
            scene.ground_truth  # noqa: B018
        types_before = set(dir(bpy.types))
    finally:
        ground_truth.register()

    assert _state_of_registration() == registered
    # Only the extension's own classes came back, nothing else was added.
    added = set(dir(bpy.types)) - types_before
    assert added == set(registered["types"])
    # The data lives in the .blend: re-registering finds it again.
    settings = scene.ground_truth
    assert [(c.id, c.name) for c in settings.classes] == [(1, "Vehicle")]
    assert settings.output_dir == "/tmp/somewhere/"
    assert (car.ground_truth.class_id, car.ground_truth.instance_id) == (1, 1)
    # ...and the operators work again.
    assert bpy.ops.ground_truth.add_class(name="Person") == {"FINISHED"}
    assert [c.name for c in settings.classes] == ["Vehicle", "Person"]


def test_register_twice_in_a_row_after_unregister_is_clean(scene):
    # Enabling, disabling and enabling again (the preferences' checkbox) repeatedly.
    for _ in range(2):
        ground_truth.unregister()
        ground_truth.register()
    assert dir(bpy.ops.ground_truth).count("render") == 1
    # One load handler (settings saved by earlier versions) and one depsgraph handler
    # (copies of labelled objects get their own instance IDs), never appended twice.
    assert sorted(name for name, _f in _handlers_of_package()) == [
        "depsgraph_update_post",
        "load_post",
    ]
    assert bpy.ops.ground_truth.add_class(name="Car") == {"FINISHED"}
