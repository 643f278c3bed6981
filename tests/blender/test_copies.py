"""Every copy drawn by an instancer gets its own instance ID, from the same render.

Checked against Blender's ray casting through pixel centres: the oracle's hit says
which copy (its instance matrix) a pixel shows.
"""

import json

import bmesh
import bpy
import numpy as np
import pytest
from mathutils import Vector

from ground_truth import compat
from ground_truth.codecs import png

from helpers import add_camera, add_plane, label

WIDTH, HEIGHT = 64, 48


def pebble(scene, name="Pebble", size=0.5, collection=None):
    mesh = bpy.data.meshes.new(name)
    bm = bmesh.new()
    bmesh.ops.create_cube(bm, size=size)
    bm.to_mesh(mesh)
    bm.free()
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


@pytest.mark.parametrize(
    ("build", "count"),
    [(collection_copies, 20), (particle_copies, 50), (geometry_nodes_copies, 200)],
)
def test_every_copy_has_its_own_id_matching_the_oracle(scene, out_dir, build, count):
    camera = top_down(scene)
    build(scene)
    scene.frame_start, scene.frame_end = 1, 2
    assert bpy.ops.ground_truth.render(animation=True) == {"FINISHED"}

    meta = json.loads((out_dir / "meta" / "000001.json").read_text())
    copies = [i for i in meta["instances"] if i.get("instancer")]
    assert len(copies) == count
    assert len({i["id"] for i in copies}) == count
    instance = png.read_png(out_dir / "instance" / "000001.png")
    oracle = oracle_copies(scene, camera, meta)
    padded = np.pad(oracle, 1, mode="edge")
    interior = np.stack(
        [padded[r : r + HEIGHT, c : c + WIDTH] == oracle for r in range(3) for c in range(3)]
    ).all(axis=0)
    assert (oracle[interior] >= 0).all()
    np.testing.assert_array_equal(instance[interior], oracle[interior])
    visible = {i["id"] for i in copies if i["visible_pixels"]}
    assert len(visible) > count // 2
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
