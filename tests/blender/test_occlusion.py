"""What an instance's silhouette is made of: the geometry the render draws for it.

Visible fractions and amodal masks come from the triangles the main thread reads
(``scene/occlusion.py``); these scenes check which parts count. The orthographic views
put every box edge on a pixel boundary (10 pixels per metre), so the counts are exact.
"""

import json

import bpy
import numpy as np
import pytest

from ground_truth.dataset import reader

from helpers import add_box, add_camera, add_plane, label

# Orthographic top-down view: 64x48 pixels over 6.4 m, 10 pixels per metre, the image
# centre above the world origin; u = 32 + 10 x, v = 24 - 10 y.
ORTHO_RES = (64, 48)


def ortho_view(scene):
    scene.render.resolution_x, scene.render.resolution_y = ORTHO_RES
    return add_camera(scene, location=(0.0, 0.0, 10.0), ortho_scale=6.4)


def render_amodal(scene, out_dir):
    """Render frame 1 with amodal output; return (instance map, amodal masks, entries)."""
    scene.ground_truth.output_amodal = True
    assert bpy.ops.ground_truth.render() == {"FINISHED"}
    sample = reader.load_frame(out_dir, 1, keys=("instance", "amodal", "meta"))
    entries = {i["object"]: i for i in sample["meta"]["instances"]}
    return sample["instance"], sample["amodal"], entries


def test_an_instance_counts_all_its_parts(scene, out_dir):
    ortho_view(scene)
    # A mesh parent and its unlabelled child: one instance, 20 x 20 + 10 x 20 pixels.
    parent = add_box(scene, "Body", (0.0, 0.0, 0.0), (2.0, 2.0, 1.0))
    parent.location = (-1.6, 0.0, 0.0)
    parent.rotation_euler.z = np.pi / 2
    add_box(scene, "Wheel", (0.0, -1.6, 0.0), (2.0, 1.0, 1.0), parent=parent)
    # An empty with two child meshes: one instance of 10 x 10 + 10 x 20 pixels,
    # the first child half covered by an occluder.
    rig = bpy.data.objects.new("Rig", None)
    scene.collection.objects.link(rig)
    rig.location = (1.5, 0.0, 0.0)
    add_box(scene, "RigA", (0.0, 1.0, 0.0), (1.0, 1.0, 1.0), parent=rig)
    add_box(scene, "RigB", (0.0, -1.0, 0.0), (1.0, 2.0, 1.0), parent=rig)
    cover = add_box(scene, "Cover", (1.5, 1.25, 2.0), (2.0, 0.5, 0.2))
    label([parent, rig], "Thing")
    label([cover], "Cover")
    instance_map, masks, entries = render_amodal(scene, out_dir)

    body = entries["Body"]
    assert body["amodal_pixels"] == 20 * 20 + 10 * 20 == body["visible_pixels"]
    np.testing.assert_array_equal(masks[body["id"]], instance_map == body["id"])
    assert body["visible_fraction"] == 1.0
    rig_entry = entries["Rig"]
    assert rig_entry["amodal_pixels"] == 10 * 10 + 10 * 20
    assert rig_entry["visible_pixels"] == 10 * 5 + 10 * 20
    assert rig_entry["visible_fraction"] == pytest.approx(250 / 300)


def test_geometry_outside_the_clip_range_is_not_counted(scene, out_dir):
    cam = ortho_view(scene)
    cam.data.clip_start, cam.data.clip_end = 2.0, 25.0  # sees 8 >= z >= -15
    body = add_box(scene, "Body", (0.0, 0.0, 0.0), (2.0, 2.0, 1.0))
    add_box(scene, "TooNear", (1.0, 1.0, 9.0), (2.0, 2.0, 1.0), parent=body)
    add_box(scene, "TooFar", (-2.0, -1.0, -20.0), (1.0, 1.0, 1.0), parent=body)
    # A slab reaching through the near plane: only its part beyond it is seen.
    add_box(scene, "Through", (-2.5, 1.5, 8.0), (1.0, 1.0, 4.0), parent=body)
    label([body], "Box")
    instance_map, masks, entries = render_amodal(scene, out_dir)
    entry = entries["Body"]
    assert entry["amodal_pixels"] == entry["visible_pixels"] == 400 + 100
    np.testing.assert_array_equal(masks[entry["id"]], instance_map == entry["id"])


def test_text_counts_its_evaluated_mesh(scene, out_dir):
    scene.render.resolution_x, scene.render.resolution_y = 160, 60
    add_camera(scene, location=(1.5, 0.3, 10.0), ortho_scale=4.0)
    text = bpy.data.objects.new("Text", bpy.data.curves.new("Text", "FONT"))
    text.data.body = "GT8"
    text.data.extrude = 0.05
    scene.collection.objects.link(text)
    label([text], "Text")
    instance_map, masks, entries = render_amodal(scene, out_dir)
    entry = entries["Text"]
    visible = instance_map == entry["id"]
    assert visible.sum() > 500
    np.testing.assert_array_equal(masks[entry["id"]], visible)
    assert entry["visible_fraction"] == 1.0


def test_geometry_made_by_geometry_nodes_counts(scene, out_dir):
    ortho_view(scene)
    # A plane whose modifier replaces it by cubes on its four corners (instances of the
    # plane's own geometry, not copies of another object).
    plane = add_plane(scene, "Studs", z=0.0, half=1.5)
    group = bpy.data.node_groups.new("Studs", "GeometryNodeTree")
    group.interface.new_socket("Geometry", in_out="INPUT", socket_type="NodeSocketGeometry")
    group.interface.new_socket("Geometry", in_out="OUTPUT", socket_type="NodeSocketGeometry")
    nodes, links = group.nodes, group.links
    inputs, outputs = nodes.new("NodeGroupInput"), nodes.new("NodeGroupOutput")
    cube = nodes.new("GeometryNodeMeshCube")
    cube.inputs["Size"].default_value = (1.0, 1.0, 1.0)
    scatter = nodes.new("GeometryNodeInstanceOnPoints")
    links.new(inputs.outputs[0], scatter.inputs["Points"])
    links.new(cube.outputs["Mesh"], scatter.inputs["Instance"])
    links.new(scatter.outputs["Instances"], outputs.inputs[0])
    plane.modifiers.new("Studs", "NODES").node_group = group
    front = add_box(scene, "Front", (1.5, 1.5, 2.0), (1.0, 1.0, 0.2))  # on one stud
    label([plane], "Studs")
    label([front], "Front")
    instance_map, masks, entries = render_amodal(scene, out_dir)
    entry = entries["Studs"]
    assert entry["amodal_pixels"] == 4 * 10 * 10
    assert entry["visible_pixels"] == 3 * 10 * 10
    assert entry["visible_fraction"] == 0.75
    assert not ((instance_map == entry["id"]) & ~masks[entry["id"]]).any()


def test_parts_the_render_skips_are_skipped(scene, out_dir):
    ortho_view(scene)
    body = add_box(scene, "Body", (0.0, 0.0, 0.0), (2.0, 2.0, 1.0))
    ghost = add_box(scene, "Ghost", (2.0, 0.0, 0.0), (1.0, 1.0, 1.0), parent=body)
    ghost.hide_render = True
    unseen = add_box(scene, "Unseen", (-2.0, 0.0, 0.0), (1.0, 1.0, 1.0), parent=body)
    unseen.visible_camera = False
    stowed = add_box(scene, "Stowed", (0.0, 1.8, 0.0), (1.0, 0.6, 1.0), parent=body)
    hidden = bpy.data.collections.new("Hidden")
    scene.collection.children.link(hidden)
    scene.collection.objects.unlink(stowed)
    hidden.objects.link(stowed)
    hidden.hide_render = True
    # Hidden in the viewport only: not in the viewport depsgraph, but rendered.
    shy = add_box(scene, "Shy", (0.0, -1.8, 0.0), (1.0, 0.6, 1.0), parent=body)
    shy.hide_viewport = True
    gone = add_box(scene, "Gone", (0.0, 0.0, -50.0), (1.0, 1.0, 1.0))  # beyond clip_end
    scene.camera.data.clip_end = 30.0
    label([body, gone], "Box")
    instance_map, masks, entries = render_amodal(scene, out_dir)
    entry = entries["Body"]
    assert entry["amodal_pixels"] == entry["visible_pixels"] == 400 + 10 * 6
    np.testing.assert_array_equal(masks[entry["id"]], instance_map == entry["id"])
    assert set(masks) == {entry["id"]}
    assert entries["Gone"]["truncation"] is None and entries["Gone"]["visible_fraction"] == 0.0


def test_visible_fraction_alone_is_written_to_meta_and_coco(scene, out_dir):
    ortho_view(scene)
    back = add_box(scene, "Back", (0.0, 0.0, 0.0), (2.0, 2.0, 1.0))
    front = add_box(scene, "Front", (1.0, 0.0, 2.0), (2.0, 2.0, 1.0))
    label([back, front], "Box")
    scene.ground_truth.output_visible_fraction = True
    assert bpy.ops.ground_truth.render() == {"FINISHED"}
    meta = json.loads((out_dir / "meta" / "000001.json").read_text())
    fractions = {i["object"]: i["visible_fraction"] for i in meta["instances"]}
    assert fractions == {"Back": 0.5, "Front": 1.0}
    assert all("amodal_bbox" not in i for i in meta["instances"])
    assert not (out_dir / "amodal").exists()
    document = json.loads((out_dir / "annotations" / "coco_instances.json").read_text())
    by_instance = {a["instance_id"]: a["visible_fraction"] for a in document["annotations"]}
    assert by_instance == {back.pass_index: 0.5, front.pass_index: 1.0}
    assert all("amodal_segmentation" not in a for a in document["annotations"])


def test_visible_fraction_is_off_by_default(scene, out_dir):
    ortho_view(scene)
    label([add_box(scene, "Box", (0.0, 0.0, 0.0), (2.0, 2.0, 1.0))], "Box")
    assert bpy.ops.ground_truth.render() == {"FINISHED"}
    meta = json.loads((out_dir / "meta" / "000001.json").read_text())
    assert "visible_fraction" not in meta["instances"][0]
