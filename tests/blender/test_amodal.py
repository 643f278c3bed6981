"""Amodal masks, visible fractions and truncation from real renders, against oracles.

The oracle casts Blender's own rays (``BVHTree.FromObject`` of each object alone, in
its own frame) through every pixel centre of the camera's view frame, and again 0.002
px to each side: a pixel whose five rays disagree lies on an edge (Cycles' first sample
is 5e-4 px from the centre) and is left out of the comparison. The orthographic scenes
put every box edge on a pixel boundary (10 pixels per metre), so their counts are
exact. Every scene keeps Cycles' default pixel filter.
"""

import contextlib
import io
import json

import bpy
import numpy as np
import pytest
from mathutils import Matrix, Vector
from mathutils.bvhtree import BVHTree
from pycocotools.coco import COCO

from ground_truth import compat
from ground_truth.dataset import reader
from ground_truth.render import finalize

from helpers import add_box, add_camera, add_plane, label

NUDGES = ((0.0, 0.0), (0.002, 0.0), (-0.002, 0.0), (0.0, 0.002), (0.0, -0.002))


def cast(scene, shape, parts, nudge=(0.0, 0.0)):
    """Pixels whose camera ray through (c + 0.5 + dx, r + 0.5 + dy) hits one of ``parts``
    ((evaluated object, 4x4 world matrix) pairs) within the clip range."""
    camera = scene.camera
    height, width = shape
    frame = [camera.matrix_world @ c for c in camera.data.view_frame(scene=scene)]
    top_right, bottom_right, bottom_left, top_left = frame
    centre = camera.matrix_world.translation
    forward = (camera.matrix_world.to_3x3() @ Vector((0.0, 0.0, -1.0))).normalized()
    ortho = camera.data.type == "ORTHO"
    depsgraph = bpy.context.evaluated_depsgraph_get()
    trees = [(BVHTree.FromObject(ob, depsgraph), Matrix(matrix)) for ob, matrix in parts]
    near, far = camera.data.clip_start, camera.data.clip_end
    hits = np.zeros(shape, dtype=bool)
    for row in range(height):
        v = (row + 0.5 + nudge[1]) / height
        left, right = top_left.lerp(bottom_left, v), top_right.lerp(bottom_right, v)
        for column in range(width):
            point = left.lerp(right, (column + 0.5 + nudge[0]) / width)
            origin = point - forward * 1000.0 if ortho else centre
            direction = forward if ortho else (point - centre).normalized()
            for tree, matrix in trees:
                inverse = matrix.inverted()
                local_direction = (inverse.to_3x3() @ direction).normalized()
                location = tree.ray_cast(inverse @ origin, local_direction)[0]
                while location is not None:
                    depth = (matrix @ location - centre).dot(forward)  # planar depth
                    if depth > far:
                        break
                    if depth >= near:
                        hits[row, column] = True
                        break
                    location = tree.ray_cast(location + local_direction * 1e-5, local_direction)[0]
                if hits[row, column]:
                    break
    return hits


def oracle(scene, shape, parts):
    """(mask, sure): the pixel-centre oracle mask and where all nudged rays agree."""
    masks = [cast(scene, shape, parts, nudge) for nudge in NUDGES]
    sure = np.all([m == masks[0] for m in masks], axis=0)
    return masks[0], sure


def own_parts(*objects):
    depsgraph = bpy.context.evaluated_depsgraph_get()
    return [(ob.evaluated_get(depsgraph), ob.matrix_world.copy()) for ob in objects]


def render_frame(scene, out_dir, frame=1):
    scene.ground_truth.output_amodal = True
    scene.frame_start = scene.frame_end = frame
    assert bpy.ops.ground_truth.render(animation=True) == {"FINISHED"}
    return reader.load_frame(out_dir, frame, keys=("instance", "meta", "amodal"))


def by_object(sample):
    return {i["object"]: i for i in sample["meta"]["instances"] if "instancer" not in i}


def amodal_mask(sample, ident):
    mask = sample["amodal"].get(ident)
    return np.zeros(sample["instance"].shape, dtype=bool) if mask is None else mask


def perspective_view(scene, width=48, height=36):
    scene.render.resolution_x, scene.render.resolution_y = width, height
    camera = add_camera(scene, location=(3.5, -6.0, 4.5))
    camera.rotation_euler = (
        (Vector((0.0, 0.0, 0.6)) - camera.location).to_track_quat("-Z", "Y").to_euler()
    )
    return camera


@pytest.mark.parametrize("samples", [1, 4])
@pytest.mark.parametrize("on_floor", [False, True], ids=["floating", "on_floor"])
def test_a_fully_visible_box_reads_exactly_one(scene, out_dir, samples, on_floor):
    scene.cycles.samples = samples
    perspective_view(scene, 64, 48)
    box = add_box(scene, "Box", (0.0, 0.0, 0.6 if on_floor else 1.3), (1.6, 1.1, 1.2))
    box.rotation_euler.z = 0.5
    if on_floor:
        add_plane(scene, "Floor")
    label([box], "Box")
    sample = render_frame(scene, out_dir)
    entry = by_object(sample)["Box"]
    assert entry["visible_pixels"] > 200
    assert entry["visible_fraction"] == 1.0
    assert entry["truncation"] == 0.0
    assert entry["amodal_pixels"] == entry["visible_pixels"]
    assert entry["amodal_bbox"] == entry["bbox"]
    np.testing.assert_array_equal(
        amodal_mask(sample, box.pass_index), sample["instance"] == box.pass_index
    )


def test_amodal_masks_equal_rays_cast_against_each_object_alone(scene, out_dir):
    perspective_view(scene)
    add_plane(scene, "Floor")
    back = add_box(scene, "Back", (0.0, 0.6, 0.6), (1.8, 1.2, 1.2))
    front = add_box(scene, "Front", (0.3, -1.1, 0.5), (1.2, 0.8, 1.0))
    front.rotation_euler.z = 0.4
    label([back, front], "Box")
    sample = render_frame(scene, out_dir)
    shape = sample["instance"].shape
    for ob in (back, front):
        expected, sure = oracle(scene, shape, own_parts(ob))
        mask = amodal_mask(sample, ob.pass_index)
        assert (~sure).sum() <= 3
        np.testing.assert_array_equal(mask[sure], expected[sure])
        visible = sample["instance"] == ob.pass_index
        assert not (visible & ~mask).any()
        entry = by_object(sample)[ob.name]
        assert entry["visible_fraction"] == round(visible.sum() / mask.sum(), 6)
    entries = by_object(sample)
    assert 0.3 < entries["Back"]["visible_fraction"] < 0.9  # the front box hides part of it
    assert entries["Front"]["visible_fraction"] == 1.0


def ortho_view(scene):
    """64 x 48 pixels over 6.4 m, 10 pixels per metre: u = 32 + 10 x, v = 24 - 10 y."""
    scene.render.resolution_x, scene.render.resolution_y = 64, 48
    return add_camera(scene, location=(0.0, 0.0, 10.0), ortho_scale=6.4)


def test_a_box_half_hidden_is_half_visible_and_not_cut_off(scene, out_dir):
    ortho_view(scene)
    back = add_box(scene, "Back", (0.0, 0.0, 0.0), (2.0, 2.0, 1.0))
    front = add_box(scene, "Front", (1.0, 0.0, 2.0), (2.0, 2.0, 1.0))  # over back's x >= 0
    label([back, front], "Box")
    sample = render_frame(scene, out_dir)
    entry = by_object(sample)["Back"]
    assert (entry["amodal_pixels"], entry["visible_pixels"]) == (400, 200)
    assert entry["visible_fraction"] == 0.5 and entry["truncation"] == 0.0
    assert entry["amodal_bbox"] == [22, 14, 20, 20] and entry["bbox"] == [22, 14, 10, 20]
    expected = np.zeros(sample["instance"].shape, dtype=bool)
    expected[14:34, 22:42] = True
    np.testing.assert_array_equal(amodal_mask(sample, back.pass_index), expected)


def test_a_box_half_outside_the_image_is_half_cut_off_and_fully_visible(scene, out_dir):
    ortho_view(scene)
    box = add_box(scene, "Box", (3.2, 0.0, 0.0), (2.0, 1.0, 1.0))  # x 2.2..4.2: u 54..74
    label([box], "Box")
    sample = render_frame(scene, out_dir)
    entry = by_object(sample)["Box"]
    assert (entry["amodal_pixels"], entry["visible_pixels"]) == (100, 100)
    assert entry["truncation"] == 0.5 and entry["visible_fraction"] == 1.0
    assert entry["amodal_bbox"] == [54, 19, 10, 10]


def test_an_object_out_of_view_is_wholly_cut_off(scene, out_dir):
    ortho_view(scene)
    aside = add_box(scene, "Aside", (5.0, 0.0, 0.0), (1.0, 1.0, 1.0))  # u 77..87
    behind = add_box(scene, "Behind", (0.0, 0.0, 20.0), (1.0, 1.0, 1.0))  # behind the camera
    label([aside, behind], "Box")
    sample = render_frame(scene, out_dir)
    entries = by_object(sample)
    assert entries["Aside"]["truncation"] == 1.0 and entries["Aside"]["amodal_pixels"] == 0
    assert entries["Behind"]["truncation"] is None and entries["Behind"]["amodal_bbox"] is None
    assert entries["Aside"]["visible_fraction"] == entries["Behind"]["visible_fraction"] == 0.0
    assert sample["amodal"] == {}


def test_parented_parts_make_one_amodal_mask(scene, out_dir):
    perspective_view(scene)
    body = add_box(scene, "Body", (0.0, 0.0, 0.5), (1.6, 1.0, 1.0))
    wheel = add_box(scene, "Wheel", (1.2, 0.0, 0.4), (0.6, 0.6, 0.8), parent=body)
    rig = bpy.data.objects.new("Rig", None)
    scene.collection.objects.link(rig)
    rig.location = (-1.2, 1.6, 0.0)
    arm = add_box(scene, "Arm", (0.0, 0.0, 0.5), (0.4, 1.4, 1.0), parent=rig)
    hand = add_box(scene, "Hand", (0.6, -0.4, 0.3), (0.6, 0.4, 0.6), parent=rig)
    label([body, rig], "Thing")
    sample = render_frame(scene, out_dir)
    shape = sample["instance"].shape
    for owner, parts in ((body, (body, wheel)), (rig, (arm, hand))):
        expected, sure = oracle(scene, shape, own_parts(*parts))
        mask = amodal_mask(sample, owner.pass_index)
        assert expected.sum() > 50 and (~sure).sum() <= 3
        np.testing.assert_array_equal(mask[sure], expected[sure])
        assert not ((sample["instance"] == owner.pass_index) & ~mask).any()


def test_an_animated_object_follows_its_frames(scene, out_dir):
    perspective_view(scene)
    mover = add_box(scene, "Mover", (0.0, 0.0, 0.5), (1.0, 1.0, 1.0))
    wall = add_box(scene, "Wall", (0.0, -1.3, 0.8), (1.0, 0.2, 1.6))
    mover.location = (-1.5, 0.0, 0.0)
    mover.keyframe_insert("location", frame=1)
    mover.location = (1.0, 0.0, 0.3)
    mover.rotation_euler.z = 0.7
    mover.keyframe_insert("location", frame=3)
    mover.keyframe_insert("rotation_euler", frame=3)
    label([mover, wall], "Box")
    scene.ground_truth.output_amodal = True
    scene.frame_start, scene.frame_end = 1, 3
    assert bpy.ops.ground_truth.render(animation=True) == {"FINISHED"}
    masks = []
    for frame in (1, 3):
        sample = reader.load_frame(out_dir, frame, keys=("instance", "amodal"))
        scene.frame_set(frame)
        expected, sure = oracle(scene, sample["instance"].shape, own_parts(mover))
        mask = amodal_mask(sample, mover.pass_index)
        assert expected.sum() > 50 and (~sure).sum() <= 3
        np.testing.assert_array_equal(mask[sure], expected[sure])
        masks.append(mask)
    assert (masks[0] != masks[1]).sum() > 50


def crate(scene):
    """A labelled crate with a material (copies get their IDs through it)."""
    box = add_box(scene, "Crate", (0.0, 0.0, 0.0), (1.2, 1.0, 1.0))
    material = bpy.data.materials.new("Crate")
    compat.use_nodes(material)
    box.data.materials.append(material)
    label([box], "Crate")
    return box


def collection_copies(scene, positions):
    """The crate in an excluded collection, drawn by one empty per position."""
    source = bpy.data.collections.new("Crates")
    scene.collection.children.link(source)
    box = crate(scene)
    scene.collection.objects.unlink(box)
    source.objects.link(box)
    scene.view_layers[0].layer_collection.children["Crates"].exclude = True
    for index, location in enumerate(positions):
        empty = bpy.data.objects.new(f"Copy {index}", None)
        empty.instance_type = "COLLECTION"
        empty.instance_collection = source
        empty.location = location
        empty.rotation_euler.z = 0.3 * index
        scene.collection.objects.link(empty)
    return box


def geometry_nodes_copies(scene, positions):
    """The crate out of view, instanced on the points of a mesh by geometry nodes."""
    box = crate(scene)
    box.location = (100.0, 0.0, 0.0)
    points = bpy.data.meshes.new("Points")
    points.from_pydata(list(positions), [], [])
    scatter = bpy.data.objects.new("Scatter", points)
    scene.collection.objects.link(scatter)
    group = bpy.data.node_groups.new("Scatter", "GeometryNodeTree")
    group.interface.new_socket("Geometry", in_out="INPUT", socket_type="NodeSocketGeometry")
    group.interface.new_socket("Geometry", in_out="OUTPUT", socket_type="NodeSocketGeometry")
    nodes, links = group.nodes, group.links
    inputs, outputs = nodes.new("NodeGroupInput"), nodes.new("NodeGroupOutput")
    info = nodes.new("GeometryNodeObjectInfo")
    info.inputs["Object"].default_value = box
    instances = nodes.new("GeometryNodeInstanceOnPoints")
    links.new(inputs.outputs[0], instances.inputs["Points"])
    links.new(info.outputs["Geometry"], instances.inputs["Instance"])
    links.new(instances.outputs["Instances"], outputs.inputs[0])
    scatter.modifiers.new("Scatter", "NODES").node_group = group
    return box


@pytest.mark.parametrize("build", [collection_copies, geometry_nodes_copies])
def test_copies_get_their_own_amodal_masks(scene, out_dir, build):
    perspective_view(scene)
    box = build(scene, [(0.0, 0.8, 0.5), (0.4, -0.5, 0.7)])
    sample = render_frame(scene, out_dir)
    copies = [i for i in sample["meta"]["instances"] if i.get("instancer")]
    assert len(copies) == 2 and len({c["id"] for c in copies}) == 2
    source = box.evaluated_get(bpy.context.evaluated_depsgraph_get())
    fractions = []
    for copy in copies:
        parts = [(source, np.array(copy["pose_world"]))]
        expected, sure = oracle(scene, sample["instance"].shape, parts)
        mask = amodal_mask(sample, copy["id"])
        assert expected.sum() > 50 and (~sure).sum() <= 3
        np.testing.assert_array_equal(mask[sure], expected[sure])
        visible = sample["instance"] == copy["id"]
        assert not (visible & ~mask).any()
        assert copy["visible_fraction"] == round(visible.sum() / mask.sum(), 6)
        fractions.append(copy["visible_fraction"])
    assert sorted(fractions)[0] < 0.95 and sorted(fractions)[1] == 1.0  # one hides the other


def amodal_scene(scene):
    perspective_view(scene)
    add_plane(scene, "Floor")
    back = add_box(scene, "Back", (0.0, 0.6, 0.6), (1.8, 1.2, 1.2))
    front = add_box(scene, "Front", (0.3, -1.1, 0.5), (1.2, 0.8, 1.0))
    edge = add_box(scene, "Edge", (2.6, 0.0, 0.5), (1.0, 1.0, 1.0))  # cut by the border
    label([back, front, edge], "Box")
    scene.ground_truth.output_amodal = True
    scene.cycles.samples = 4


def test_labels_only_and_a_farm_render_write_the_same_amodal_files(scene, tmp_path):
    amodal_scene(scene)
    runs = {}
    for name, labels_only in (("full", False), ("labels_only", True)):
        scene.ground_truth.output_dir = str(tmp_path / name) + "/"
        scene.ground_truth.labels_only = labels_only
        assert bpy.ops.ground_truth.render() == {"FINISHED"}
        runs[name] = tmp_path / name
    scene.ground_truth.labels_only = False
    # The farm: Set Up Compositor, save, a plain animation render, then finalize.
    scene.ground_truth.output_dir = str(tmp_path / "farm") + "/"
    assert bpy.ops.ground_truth.setup_compositor() == {"FINISHED"}
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "farm.blend"))
    scene = bpy.context.scene
    scene.render.filepath = str(tmp_path / "plain" / "")
    bpy.ops.render.render(animation=True)
    finalize.finalize(scene, str(tmp_path / "farm"))
    runs["farm"] = tmp_path / "farm"
    documents = {
        name: json.loads((folder / "amodal" / "000001.json").read_text())
        for name, folder in runs.items()
    }
    assert len(documents["full"]["instances"]) == 3
    assert documents["labels_only"] == documents["full"] == documents["farm"]
    fields = ("visible_fraction", "amodal_pixels", "amodal_bbox", "truncation")
    metas = {
        name: [
            {key: i[key] for key in fields}
            for i in json.loads((folder / "meta" / "000001.json").read_text())["instances"]
        ]
        for name, folder in runs.items()
    }
    assert metas["labels_only"] == metas["full"] == metas["farm"]
    truncations = sorted(i["truncation"] for i in metas["full"])
    assert truncations[0] == 0.0 and 0.1 < truncations[-1] < 0.9


def test_pycocotools_reads_the_amodal_fields(scene, out_dir):
    amodal_scene(scene)
    assert bpy.ops.ground_truth.render() == {"FINISHED"}
    sample = reader.load_frame(out_dir, 1, keys=("instance", "amodal"))
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO(str(out_dir / "annotations" / "coco_instances.json"))
    annotations = coco.loadAnns(coco.getAnnIds())
    assert len(annotations) == 3
    for annotation in annotations:
        ident = annotation["instance_id"]
        whole = coco.annToMask({**annotation, "segmentation": annotation["amodal_segmentation"]})
        np.testing.assert_array_equal(whole.astype(bool), sample["amodal"][ident])
        np.testing.assert_array_equal(
            coco.annToMask(annotation).astype(bool), sample["instance"] == ident
        )
        assert annotation["amodal_area"] == sample["amodal"][ident].sum()
        assert 0.0 <= annotation["truncation"] < 1.0
        assert 0.0 < annotation["visible_fraction"] <= 1.0


def test_amodal_masks_are_off_by_default(scene, out_dir):
    ortho_view(scene)
    label([add_box(scene, "Box", (0.0, 0.0, 0.0), (2.0, 2.0, 1.0))], "Box")
    assert bpy.ops.ground_truth.render() == {"FINISHED"}
    assert not (out_dir / "amodal").exists()
    entry = json.loads((out_dir / "meta" / "000001.json").read_text())["instances"][0]
    assert entry["visible_pixels"] == 400
    assert "amodal_bbox" not in entry and "truncation" not in entry
    document = json.loads((out_dir / "annotations" / "coco_instances.json").read_text())
    assert "amodal_segmentation" not in document["annotations"][0]
