"""Every copy drawn by an instancer gets its own instance ID, from the same render.

Checked against Blender's ray casting through pixel centres: the oracle's hit says
which copy (its instance matrix) a pixel shows. Every way copies are made and every
kind of source is covered; the IDs are the same in every process and in a farm
render finalized afterwards.
"""

import json
import os
import subprocess
import sys

import bmesh
import bpy
import numpy as np
import pytest
from mathutils import Vector

from ground_truth import compat
from ground_truth.codecs import png
from ground_truth.scene.classes import planned_instances

from helpers import IS_5, add_camera, add_plane, label

WIDTH, HEIGHT = 64, 48


def pebble(scene, name="Pebble", size=0.5, collection=None, material=True):
    mesh = bpy.data.meshes.new(name)
    bm = bmesh.new()
    bmesh.ops.create_cube(bm, size=size)
    bm.to_mesh(mesh)
    bm.free()
    if material:
        material = bpy.data.materials.new(name)
        compat.use_nodes(material)
        mesh.materials.append(material)
    ob = bpy.data.objects.new(name, mesh)
    (collection or scene.collection).objects.link(ob)
    return ob


def top_down(scene, extent=12.0):
    scene.render.resolution_x, scene.render.resolution_y = WIDTH, HEIGHT
    scene.cycles.filter_width = 0.01
    return add_camera(scene, location=(0.0, 0.0, 20.0), ortho_scale=extent)


def collection_copies(scene, count=20):
    source = bpy.data.collections.new("Crates")
    scene.collection.children.link(source)
    crate = pebble(scene, "Crate", 0.8, collection=source)
    label([crate], "Crate")
    # The source collection is drawn only through its instances, as usual.
    scene.view_layers[0].layer_collection.children["Crates"].exclude = True
    for index in range(count):
        empty = bpy.data.objects.new(f"Crate copy {index}", None)
        empty.instance_type = "COLLECTION"
        empty.instance_collection = source
        empty.location = ((index % 5) * 2.2 - 4.4, (index // 5) * 1.6 - 2.4, 0.5)
        empty.rotation_euler.z = 0.2 * index
        scene.collection.objects.link(empty)
    return crate


def particle_copies(scene, count=50):
    source = pebble(scene, "Pebble", 0.35)
    source.location = (100.0, 0.0, 0.0)  # the original stays out of view
    emitter = add_plane(scene, "Emitter", z=0.0, half=5.0)
    system = emitter.modifiers.new("Pebbles", "PARTICLE_SYSTEM").particle_system.settings
    system.count = count
    system.frame_start = system.frame_end = 1
    system.physics_type = "NO"
    system.render_type = "OBJECT"
    system.instance_object = source
    system.particle_size = 1.0
    system.use_rotation_instance = True
    emitter.show_instancer_for_render = False
    label([source], "Pebble")
    return source


def geometry_nodes_copies(scene, count=200):
    source = pebble(scene, "Stone", 0.25)
    source.location = (100.0, 0.0, 0.0)
    ground = add_plane(scene, "Ground", z=0.0, half=5.5)
    group = bpy.data.node_groups.new("Scatter", "GeometryNodeTree")
    group.interface.new_socket("Geometry", in_out="INPUT", socket_type="NodeSocketGeometry")
    group.interface.new_socket("Geometry", in_out="OUTPUT", socket_type="NodeSocketGeometry")
    nodes, links = group.nodes, group.links
    inputs, outputs = nodes.new("NodeGroupInput"), nodes.new("NodeGroupOutput")
    grid = nodes.new("GeometryNodeMeshGrid")
    grid.inputs["Size X"].default_value = grid.inputs["Size Y"].default_value = 10.0
    grid.inputs["Vertices X"].default_value = 20
    grid.inputs["Vertices Y"].default_value = count // 20
    info = nodes.new("GeometryNodeObjectInfo")
    info.inputs["Object"].default_value = source
    scatter = nodes.new("GeometryNodeInstanceOnPoints")
    links.new(grid.outputs["Mesh"], scatter.inputs["Points"])
    links.new(info.outputs["Geometry"], scatter.inputs["Instance"])
    join = nodes.new("GeometryNodeJoinGeometry")
    links.new(scatter.outputs["Instances"], join.inputs[0])
    links.new(inputs.outputs[0], join.inputs[0])
    links.new(join.outputs[0], outputs.inputs[0])
    ground.modifiers.new("Scatter", "NODES").node_group = group
    label([ground], "Ground")
    return ground


def oracle_copies(scene, camera, meta):
    """Instance ID per pixel centre from ray casting, matching copies by their matrix."""
    depsgraph = bpy.context.evaluated_depsgraph_get()
    corners = [camera.matrix_world @ c for c in camera.data.view_frame(scene=scene)]
    top_right, bottom_right, bottom_left, top_left = corners
    down = Vector((0.0, 0.0, -1.0))
    by_location = [
        (np.array(i["pose_world"])[:3, 3], i["id"], i["object"]) for i in meta["instances"]
    ]
    ids = np.zeros((HEIGHT, WIDTH), dtype=np.int64)
    for row in range(HEIGHT):
        v = (row + 0.5) / HEIGHT
        left, right = top_left.lerp(bottom_left, v), top_right.lerp(bottom_right, v)
        for column in range(WIDTH):
            point = left.lerp(right, (column + 0.5) / WIDTH)
            hit, _loc, _n, _i, ob, matrix = scene.ray_cast(depsgraph, point, down)
            if not hit or ob.name == "Emitter":  # the emitter is not rendered
                continue
            where = np.array(matrix.translation)
            found = [
                (np.abs(location - where).max(), iid)
                for location, iid, name in by_location
                if np.abs(location - where).max() < 1e-4
            ]
            ids[row, column] = min(found)[1] if found else -1
    return ids


def interior_of(oracle):
    """Pixels whose 8 neighbours show the same thing (edges may fall either way)."""
    padded = np.pad(oracle, 1, mode="edge")
    return np.stack(
        [padded[r : r + HEIGHT, c : c + WIDTH] == oracle for r in range(3) for c in range(3)]
    ).all(axis=0)


def assert_matches_oracle(scene, camera, out_dir, frame=1, unmatched=None):
    """The frame's instance map equals the ray-cast oracle at every interior pixel;
    returns the frame's meta. Copies meta does not list (sharing their source's ID)
    read ``unmatched``."""
    meta = json.loads((out_dir / "meta" / f"{frame:06d}.json").read_text())
    scene.frame_set(frame)
    instance = png.read_png(out_dir / "instance" / f"{frame:06d}.png")
    oracle = oracle_copies(scene, camera, meta)
    if unmatched is not None:
        oracle[oracle < 0] = unmatched
    interior = interior_of(oracle)
    assert (oracle[interior] >= 0).all()
    wrong = instance[interior] != oracle[interior]
    assert not wrong.any(), f"{wrong.sum()} of {interior.sum()} interior pixels differ"
    return meta


@pytest.mark.parametrize(
    ("build", "count"),
    [(collection_copies, 20), (particle_copies, 50), (geometry_nodes_copies, 200)],
)
def test_every_copy_has_its_own_id_matching_the_oracle(scene, out_dir, build, count):
    camera = top_down(scene)
    build(scene)
    scene.frame_start, scene.frame_end = 1, 2
    assert bpy.ops.ground_truth.render(animation=True) == {"FINISHED"}

    meta = assert_matches_oracle(scene, camera, out_dir)
    # Meta lists the copies that show, each once, with its pixels.
    copies = [i for i in meta["instances"] if i.get("instancer")]
    instance = png.read_png(out_dir / "instance" / "000001.png")
    shown = set(np.unique(instance)) - {0}
    assert {i["id"] for i in copies} == shown - {i.id for i in planned_instances(scene)}
    assert len({i["id"] for i in copies}) == len(copies) > count // 2
    assert all(i["visible_pixels"] > 0 for i in copies)
    # The next frame: the same copies keep their IDs.
    second = json.loads((out_dir / "meta" / "000002.json").read_text())
    ids = {
        (i["object"], tuple(np.round(np.array(i["pose_world"])[:3, 3], 5))): i["id"]
        for i in meta["instances"]
    }
    again = {
        (i["object"], tuple(np.round(np.array(i["pose_world"])[:3, 3], 5))): i["id"]
        for i in second["instances"]
    }
    assert again == ids
    np.testing.assert_array_equal(png.read_png(out_dir / "instance" / "000002.png"), instance)
    # dataset.json says where every copy ID comes from.
    data = json.loads((out_dir / "dataset.json").read_text())
    listed = {i["id"]: i for i in data["instances"] if "copy" in i}
    assert set(listed) == {i["id"] for i in copies}
    assert all(i["instancer"] and i["object"] for i in listed.values())
    (block,) = data["copy_blocks"] if build is not collection_copies else data["copy_blocks"][:1]
    assert block["first_id"] == 2


# --- every kind of source ------------------------------------------------------------


def no_material(scene):
    """Copies of a source without any material (Object Index alone cannot tell them)."""
    source = pebble(scene, "Bare", 0.8, material=False)
    source.location = (100.0, 0.0, 0.0)
    return _scatter_empties(scene, source, 12)


def nodes_off(scene):
    """A material whose nodes are off (what materials.new gives on 4.2 and 4.5)."""
    source = pebble(scene, "Plain", 0.8)
    material = source.data.materials[0]
    if not IS_5:
        material.use_nodes = False
    source.location = (100.0, 0.0, 0.0)
    return _scatter_empties(scene, source, 12)


def several_slots(scene):
    source = pebble(scene, "Two", 0.8)
    second = bpy.data.materials.new("Two B")
    source.data.materials.append(second)
    for index, polygon in enumerate(source.data.polygons):
        polygon.material_index = index % 2
    source.location = (100.0, 0.0, 0.0)
    return _scatter_empties(scene, source, 12)


def linked_material(scene, library):
    material = bpy.data.materials.new("Library Stone")
    bpy.data.libraries.write(str(library), {material})
    bpy.data.materials.remove(material)
    with bpy.data.libraries.load(str(library), link=True) as (_src, dst):
        dst.materials = ["Library Stone"]
    source = pebble(scene, "Linked", 0.8, material=False)
    source.data.materials.append(dst.materials[0])
    assert source.data.materials[0].library is not None
    source.location = (100.0, 0.0, 0.0)
    return _scatter_empties(scene, source, 12)


def unlinked_source(scene):
    """The source lives in a collection the scene does not link (an asset collection)."""
    assets = bpy.data.collections.new("Assets")
    source = pebble(scene, "Asset", 0.8)
    label([source], "Asset")
    scene.collection.objects.unlink(source)
    assets.objects.link(source)
    empties = []
    for index in range(12):
        empty = bpy.data.objects.new(f"Asset copy {index}", None)
        empty.instance_type = "COLLECTION"
        empty.instance_collection = assets
        empty.location = ((index % 4) * 2.4 - 3.6, (index // 4) * 2.2 - 2.2, 0.5)
        scene.collection.objects.link(empty)
        empties.append(empty)
    return empties


def _scatter_empties(scene, source, count):
    """``count`` collection instances of a collection holding ``source`` (excluded from
    the view layer), the source labelled."""
    holder = bpy.data.collections.new(f"{source.name} holder")
    scene.collection.children.link(holder)
    scene.collection.objects.unlink(source)
    holder.objects.link(source)
    source.location = (0.0, 0.0, 0.0)
    label([source], "Stone")
    scene.view_layers[0].layer_collection.children[holder.name].exclude = True
    empties = []
    for index in range(count):
        empty = bpy.data.objects.new(f"{source.name} copy {index}", None)
        empty.instance_type = "COLLECTION"
        empty.instance_collection = holder
        empty.location = ((index % 4) * 2.4 - 3.6, (index // 4) * 2.2 - 2.2, 0.5)
        empty.rotation_euler.z = 0.3 * index
        scene.collection.objects.link(empty)
        empties.append(empty)
    return empties


def nested_collections(scene):
    """A collection instance inside an instanced collection: 4 x 3 copies."""
    inner = bpy.data.collections.new("Inner")
    outer = bpy.data.collections.new("Outer")
    scene.collection.children.link(inner)
    scene.collection.children.link(outer)
    source = pebble(scene, "Brick", 0.6)
    scene.collection.objects.unlink(source)
    inner.objects.link(source)
    label([source], "Brick")
    for index in range(3):
        empty = bpy.data.objects.new(f"Inner copy {index}", None)
        empty.instance_type = "COLLECTION"
        empty.instance_collection = inner
        empty.location = (index * 1.0 - 1.0, 0.0, 0.0)
        outer.objects.link(empty)
    for name in ("Inner", "Outer"):
        scene.view_layers[0].layer_collection.children[name].exclude = True
    for index in range(4):
        empty = bpy.data.objects.new(f"Outer copy {index}", None)
        empty.instance_type = "COLLECTION"
        empty.instance_collection = outer
        empty.location = ((index % 2) * 4.0 - 2.0, (index // 2) * 2.5 - 1.25, 0.5)
        scene.collection.objects.link(empty)


def nodes_instance_a_collection(scene):
    """Geometry nodes instancing a collection on a grid of points."""
    rocks = bpy.data.collections.new("Rocks")
    scene.collection.children.link(rocks)
    for name, offset in (("Rock A", -0.3), ("Rock B", 0.3)):
        rock = pebble(scene, name, 0.3)
        scene.collection.objects.unlink(rock)
        rocks.objects.link(rock)
        rock.location = (offset, 0.0, 0.0)
    label(list(rocks.objects), "Rock")
    scene.view_layers[0].layer_collection.children["Rocks"].exclude = True
    ground = add_plane(scene, "Field", z=0.0, half=5.0)
    group = bpy.data.node_groups.new("Rock scatter", "GeometryNodeTree")
    group.interface.new_socket("Geometry", in_out="INPUT", socket_type="NodeSocketGeometry")
    group.interface.new_socket("Geometry", in_out="OUTPUT", socket_type="NodeSocketGeometry")
    nodes, links = group.nodes, group.links
    outputs = nodes.new("NodeGroupOutput")
    grid = nodes.new("GeometryNodeMeshGrid")
    grid.inputs["Size X"].default_value = grid.inputs["Size Y"].default_value = 8.0
    grid.inputs["Vertices X"].default_value = grid.inputs["Vertices Y"].default_value = 4
    info = nodes.new("GeometryNodeCollectionInfo")
    info.inputs["Collection"].default_value = rocks
    scatter = nodes.new("GeometryNodeInstanceOnPoints")
    links.new(grid.outputs["Mesh"], scatter.inputs["Points"])
    links.new(info.outputs[0], scatter.inputs["Instance"])
    links.new(scatter.outputs["Instances"], outputs.inputs[0])
    ground.modifiers.new("Rocks", "NODES").node_group = group


def alpha_clipped(scene):
    """Each copy's left half is transparent (alpha 0): where a copy stands over another,
    the render sees the lower copy through it."""
    source = pebble(scene, "Leaf", 1.0)
    material = source.data.materials[0]
    tree = compat.material_nodes(material)
    nodes = tree.nodes
    shader = next(n for n in nodes if n.type == "BSDF_PRINCIPLED")
    coordinates = nodes.new("ShaderNodeTexCoord")
    separate = nodes.new("ShaderNodeSeparateXYZ")
    step = nodes.new("ShaderNodeMath")
    step.operation = "GREATER_THAN"
    step.inputs[1].default_value = 0.0
    tree.links.new(coordinates.outputs["Object"], separate.inputs[0])
    tree.links.new(separate.outputs["X"], step.inputs[0])
    tree.links.new(step.outputs[0], shader.inputs["Alpha"])  # x < 0: clear, x > 0: opaque
    if hasattr(material, "blend_method"):
        material.blend_method = "CLIP"
    source.location = (100.0, 0.0, 0.0)
    empties = _scatter_empties(scene, source, 4)
    # Two pairs: the upper copy half over the lower one.
    for index, empty in enumerate(empties):
        pair, upper = divmod(index, 2)
        empty.rotation_euler.z = 0.0
        empty.location = (pair * 4.0 - 2.0 + 0.5 * upper, 0.0, 0.5 + 1.5 * upper)
    return empties


@pytest.mark.parametrize(
    "build",
    [
        no_material,
        nodes_off,
        several_slots,
        unlinked_source,
        nested_collections,
        nodes_instance_a_collection,
    ],
)
def test_copies_of_every_kind_of_source_are_told_apart(scene, out_dir, build):
    camera = top_down(scene)
    build(scene)
    assert bpy.ops.ground_truth.render() == {"FINISHED"}
    meta = assert_matches_oracle(scene, camera, out_dir)
    copies = [i for i in meta["instances"] if i.get("instancer")]
    assert len(copies) >= 12
    assert len({i["id"] for i in copies}) == len(copies)
    shown = set(np.unique(png.read_png(out_dir / "instance" / "000001.png"))) - {0}
    assert {i["id"] for i in copies if i["visible_pixels"]} == shown & {i["id"] for i in copies}
    assert len(shown & {i["id"] for i in copies}) >= 12


def test_copies_with_a_linked_material_are_told_apart(scene, out_dir, tmp_path):
    camera = top_down(scene)
    linked_material(scene, tmp_path / "library.blend")
    assert bpy.ops.ground_truth.render() == {"FINISHED"}
    meta = assert_matches_oracle(scene, camera, out_dir)
    assert len({i["id"] for i in meta["instances"] if i.get("instancer")}) == 12


def test_alpha_clipped_copies_follow_the_renders_alpha(scene, out_dir):
    top_down(scene)
    empties = alpha_clipped(scene)
    assert bpy.ops.ground_truth.render() == {"FINISHED"}
    meta = json.loads((out_dir / "meta" / "000001.json").read_text())
    by_x = {
        round(float(np.array(i["pose_world"])[0, 3]), 3): i["id"]
        for i in meta["instances"]
        if i.get("instancer")
    }
    instance = png.read_png(out_dir / "instance" / "000001.png")
    # 12 units over 64 columns; rows through the middle of the copies.
    row = instance[HEIGHT // 2]
    column = lambda x: int((x + 6.0) / 12.0 * WIDTH)  # noqa: E731
    for empty in empties[::2]:
        lower = by_x[round(empty.location.x, 3)]
        upper = by_x[round(empty.location.x + 0.5, 3)]
        x = empty.location.x
        # Left of the upper copy's middle (x + 0.5) it is clear: the lower copy shows.
        assert row[column(x + 0.2)] == lower
        # Right of it, the upper copy's opaque half.
        assert row[column(x + 0.8)] == upper
        # The lower copy's own clear left half shows the background.
        assert row[column(x - 0.2)] == 0


def test_an_animated_instancer_keeps_its_copies_ids(scene, out_dir):
    camera = top_down(scene)
    empties = _scatter_empties(scene, pebble(scene, "Mover", 0.8), 8)
    for empty in empties[:4]:
        empty.keyframe_insert("location", frame=1)
        empty.location.x += 0.7
        empty.location.y += 0.4
        empty.keyframe_insert("location", frame=3)
    scene.frame_start, scene.frame_end = 1, 3
    assert bpy.ops.ground_truth.render(animation=True) == {"FINISHED"}
    ids = {}
    for frame in (1, 2, 3):
        meta = assert_matches_oracle(scene, camera, out_dir, frame)
        ids[frame] = {i["instancer"]: i["id"] for i in meta["instances"] if i.get("instancer")}
    assert ids[1] == ids[2] == ids[3]
    assert len(set(ids[1].values())) == 8


def test_the_users_materials_and_layers_are_left_as_they_were(scene, out_dir):
    top_down(scene)
    collection_copies(scene, count=3)
    material = bpy.data.materials["Crate"]
    nodes = sorted(n.name for n in material.node_tree.nodes)
    layers = [layer.name for layer in scene.view_layers]
    assert bpy.ops.ground_truth.render() == {"FINISHED"}
    assert sorted(n.name for n in material.node_tree.nodes) == nodes
    assert [layer.name for layer in scene.view_layers] == layers


def test_objects_drawn_through_their_own_instances_are_not_copies(scene, out_dir):
    top_down(scene)
    text = bpy.data.objects.new("Text", bpy.data.curves.new("Text", "FONT"))
    text.data.body = "GT"
    text.data.size = 4.0
    scene.collection.objects.link(text)
    label([text], "Text")
    assert bpy.ops.ground_truth.render() == {"FINISHED"}
    meta = json.loads((out_dir / "meta" / "000001.json").read_text())
    assert [(i["object"], i.get("instancer")) for i in meta["instances"]] == [("Text", None)]
    assert scene.view_layers.get("Ground Truth Copies") is None


def test_copies_can_share_their_source_id_when_asked(scene, out_dir):
    top_down(scene)
    crate = collection_copies(scene, count=4)
    scene.ground_truth.distinct_copies = False
    assert bpy.ops.ground_truth.render() == {"FINISHED"}
    instance = png.read_png(out_dir / "instance" / "000001.png")
    assert set(np.unique(instance)) == {0, crate.pass_index}
    meta = json.loads((out_dir / "meta" / "000001.json").read_text())
    assert not [i for i in meta["instances"] if i.get("instancer")]


def test_a_class_or_an_instancer_can_let_its_copies_share_ids(scene, out_dir):
    camera = top_down(scene)
    empties = _scatter_empties(scene, pebble(scene, "Shared", 0.8), 8)
    empties[0].ground_truth.share_copies = True
    assert bpy.ops.ground_truth.render() == {"FINISHED"}
    source = bpy.data.objects["Shared"]
    meta = assert_matches_oracle(scene, camera, out_dir, unmatched=source.pass_index)
    instance = png.read_png(out_dir / "instance" / "000001.png")
    copies = {i["instancer"]: i["id"] for i in meta["instances"] if i.get("instancer")}
    assert empties[0].name not in copies and len(copies) == 7
    column = int((empties[0].location.x + 6.0) / 12.0 * WIDTH)
    row = int((6.0 * HEIGHT / WIDTH - empties[0].location.y) / (12.0 * HEIGHT / WIDTH) * HEIGHT)
    assert instance[row, column] == source.pass_index
    # The class: every copy shares.
    scene.ground_truth.classes[0].share_copies = True
    assert bpy.ops.ground_truth.render() == {"FINISHED"}
    instance = png.read_png(out_dir / "instance" / "000001.png")
    assert set(np.unique(instance)) == {0, source.pass_index}


def test_shared_geometry_nodes_copies_read_their_sources_id(scene, out_dir):
    # Cycles gives geometry-nodes copies the instancer's pass index: shared, they are
    # moved to their source's ID all the same.
    top_down(scene)
    ground = geometry_nodes_copies(scene, count=200)
    stone = bpy.data.objects["Stone"]
    label([stone], "Stone")
    scene.ground_truth.classes["Stone"].share_copies = True
    assert bpy.ops.ground_truth.render() == {"FINISHED"}
    instance = png.read_png(out_dir / "instance" / "000001.png")
    # The ground ends short of the image's left and right borders (background, 0).
    assert set(np.unique(instance)) == {0, ground.pass_index, stone.pass_index}
    assert (instance == stone.pass_index).sum() > 200


def copy_scene(path):
    """A saved scene with copies of three kinds, the collection instances moving."""
    scene = bpy.context.scene
    top_down(scene)
    empties = _scatter_empties(scene, pebble(scene, "Box", 0.6), 6)
    for empty in empties[:3]:
        empty.keyframe_insert("location", frame=1)
        empty.location.y += 0.8
        empty.keyframe_insert("location", frame=3)
    particle_copies(scene, count=20)
    geometry_nodes_copies(scene, count=100)
    scene.frame_start, scene.frame_end = 1, 3
    scene.cycles.samples = 1
    bpy.ops.wm.save_as_mainfile(filepath=str(path))


def headless(*argv):
    import ground_truth

    env = dict(os.environ)
    env["PYTHONPATH"] = os.path.dirname(os.path.dirname(os.path.abspath(ground_truth.__file__)))
    done = subprocess.run(
        [sys.executable, *argv], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


def test_every_process_and_a_farm_render_give_a_copy_the_same_id(scene, tmp_path):
    blend = tmp_path / "copies.blend"
    copy_scene(blend)
    one, split, farm = tmp_path / "one", tmp_path / "split", tmp_path / "farm"
    headless("-m", "ground_truth", "render", str(blend), "--output", str(one))
    # Two shards in two processes, the second shard first (frame 2, then frames 1 and 3).
    for shard in ("2/2", "1/2"):
        headless(
            "-m", "ground_truth", "render", str(blend), "--output", str(split), "--shard", shard
        )
    # The farm: the saved setup rendered by plain Blender, then finalized.
    scene.ground_truth.output_dir = str(farm) + "/"
    assert bpy.ops.ground_truth.setup_compositor() == {"FINISHED"}
    farm_blend = tmp_path / "farm.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(farm_blend))
    script = "import bpy, sys; bpy.ops.wm.open_mainfile(filepath=sys.argv[1]); "
    script += "bpy.context.scene.render.filepath = sys.argv[2]; "
    script += "bpy.ops.render.render(animation=True)"
    headless("-c", script, str(farm_blend), str(tmp_path / "plain" / ""))
    headless("-m", "ground_truth", "finalize", str(farm_blend), str(farm))
    datasets = {}
    for name, folder in (("one", one), ("split", split), ("farm", farm)):
        data = json.loads((folder / "dataset.json").read_text())
        maps = [png.read_png(folder / "instance" / f"{f:06d}.png") for f in (1, 2, 3)]
        copies = sorted(
            (i["id"], i["instancer"], tuple(i["copy"]), i["object"])
            for i in data["instances"]
            if "copy" in i
        )
        datasets[name] = (maps, copies, data["copy_blocks"])
    reference_maps, reference_copies, blocks = datasets["one"]
    assert len(reference_copies) > 60  # those in view, of 6 + 20 + 100
    assert len({c[0] for c in reference_copies}) == len(reference_copies)
    assert len(blocks) == 8  # six collection instances, the particles, the scatter
    for name in ("split", "farm"):
        maps, copies, other_blocks = datasets[name]
        assert copies == reference_copies, name
        assert other_blocks == blocks, name
        for frame, (a, b) in enumerate(zip(maps, reference_maps, strict=True), 1):
            assert (a != b).sum() == 0, f"{name}, frame {frame}"


def test_more_copies_than_a_16_bit_map_holds_are_refused_before_rendering(scene, out_dir):
    top_down(scene)
    source = particle_copies(scene, count=70000)
    with pytest.raises(RuntimeError, match="instance map holds"):
        bpy.ops.ground_truth.render()
    assert not out_dir.exists()
    # Letting the particles' copies share their source's ID renders.
    bpy.data.objects["Emitter"].ground_truth.share_copies = True
    assert bpy.ops.ground_truth.render() == {"FINISHED"}
    instance = png.read_png(out_dir / "instance" / "000001.png")
    assert set(np.unique(instance)) == {0, source.pass_index}


def test_a_32_bit_instance_map_holds_more_than_65535_copies(scene, out_dir):
    from ground_truth.dataset import reader

    camera = top_down(scene)
    particle_copies(scene, count=66000)
    bpy.data.objects["Pebble"].scale = (0.05, 0.05, 0.05)
    scene.ground_truth.output_instance = False
    scene.ground_truth.output_instance32 = True
    assert bpy.ops.ground_truth.render() == {"FINISHED"}
    assert not (out_dir / "instance").exists()
    frame = reader.load_frame(out_dir, 1, keys=("instance", "class"))
    ids = frame["instance"]
    assert ids.dtype == np.uint32
    assert ids.max() > 65535  # the last copies' IDs
    data = json.loads((out_dir / "dataset.json").read_text())
    assert data["copy_blocks"] == [{"instancer": "Emitter/Pebbles", "first_id": 2, "size": 66000}]
    # Every pixel of a copy has its class; copies told apart as in the 16-bit map.
    assert (frame["class"][ids > 0] == 1).all()
    meta = json.loads((out_dir / "meta" / "000001.json").read_text())
    visible = {i["id"] for i in meta["instances"] if i["visible_pixels"]}
    assert visible == set(np.unique(ids)) - {0}
    assert len(visible) > 500
    del camera
