"""Per-instance occlusion from real renders: unoccluded silhouettes and visible fractions.

Cycles puts every pixel's first sample, the one the instance map comes from, at the
centre of the pixel filter; every scene renders with a tiny filter (``filter_width``
0.01) so that this is the pixel centre, where the unoccluded silhouette is sampled. The
orthographic scenes put every box edge on a pixel boundary (10 pixels per metre), half
a pixel from any centre, so their counts are exact.
"""

import json
import math

import bpy
import numpy as np
import pytest

from ground_truth.codecs import png
from ground_truth.geometry import silhouette
from ground_truth.labels.tables import InstanceEntry
from ground_truth.scene import frame_info, occlusion

from helpers import add_box, add_camera, label

# Orthographic top-down view: 64x48 pixels over 6.4 m, 10 pixels per metre, the image
# centre above the world origin; u = 32 + 10 x, v = 24 - 10 y.
ORTHO_RES = (64, 48)


def ortho_view(scene):
    scene.render.resolution_x, scene.render.resolution_y = ORTHO_RES
    scene.cycles.filter_width = 0.01
    return add_camera(scene, location=(0.0, 0.0, 10.0), ortho_scale=6.4)


def render_and_count(scene, out_dir):
    """Render frame 1; return (instance map, meta, unoccluded masks by ID)."""
    assert bpy.ops.ground_truth.render() == {"FINISHED"}
    instance_map = png.read_png(out_dir / "instance" / "000001.png")
    meta = json.loads((out_dir / "meta" / "000001.json").read_text())
    depsgraph = bpy.context.evaluated_depsgraph_get()
    table = [InstanceEntry(i["id"], i["object"], i["class_id"]) for i in meta["instances"]]
    inputs = frame_info.instance_inputs(scene, depsgraph, table)
    visible = [i["id"] for i in meta["instances"] if i["visible_pixels"]]
    counts = occlusion.unoccluded_pixels(
        scene, depsgraph, meta["camera"], inputs, instance_map.shape, visible
    )
    masks = occlusion.unoccluded_masks(
        scene, depsgraph, meta["camera"], inputs, instance_map.shape, visible
    )
    assert counts == {ident: int(mask.sum()) for ident, mask in masks.items()}
    assert set(counts) == set(visible)
    return instance_map, meta, masks


def ids_of(meta):
    """Instance ID of each labelled object (entries for instanced copies left out)."""
    return {i["object"]: i["id"] for i in meta["instances"] if "instancer" not in i}


def fraction(instance_map, masks, ident):
    return silhouette.visible_fraction((instance_map == ident).sum(), masks[ident].sum())


def test_back_box_half_hidden_behind_the_front_box(scene, out_dir):
    ortho_view(scene)
    back = add_box(scene, "Back", (0.0, 0.0, 0.0), (2.0, 2.0, 1.0))
    front = add_box(scene, "Front", (1.0, 0.0, 2.0), (2.0, 2.0, 1.0))  # over back's x >= 0
    label([back, front], "Box")
    instance_map, meta, masks = render_and_count(scene, out_dir)
    ids = ids_of(meta)

    # The back box would cover 20 x 20 pixels; the front box hides the right half.
    assert masks[ids["Back"]].sum() == 400
    assert (instance_map == ids["Back"]).sum() == 200
    assert fraction(instance_map, masks, ids["Back"]) == pytest.approx(0.5, rel=0.01)
    assert fraction(instance_map, masks, ids["Front"]) == 1.0
    # The back box's silhouette is its own rectangle, under the front box too.
    expected = np.zeros(instance_map.shape, dtype=bool)
    expected[14:34, 22:42] = True
    np.testing.assert_array_equal(masks[ids["Back"]], expected)
    # Visible pixels are always part of the unoccluded silhouette.
    assert not ((instance_map == ids["Back"]) & ~masks[ids["Back"]]).any()


def test_unoccluded_instance_count_equals_its_visible_pixels(scene, out_dir):
    ortho_view(scene)
    back = add_box(scene, "Back", (0.0, 0.0, 0.0), (2.0, 2.0, 1.0))
    front = add_box(scene, "Front", (1.0, 0.0, 2.0), (2.0, 2.0, 1.0))
    alone = add_box(scene, "Alone", (1.1, 2.2, 0.5), (0.6, 1.4, 0.8))
    # Turned about the world origin: x -2.9..-1.5, y 0.8..1.4, 14 x 6 pixels.
    alone.rotation_euler.z = math.pi / 2
    label([back, front, alone], "Box")
    instance_map, meta, masks = render_and_count(scene, out_dir)
    ids = ids_of(meta)
    for name in ("Front", "Alone"):
        visible = instance_map == ids[name]
        assert masks[ids[name]].sum() == visible.sum() > 0
        np.testing.assert_array_equal(masks[ids[name]], visible)
    assert masks[ids["Alone"]].sum() == 14 * 6


def box_hits(meta, corners):
    """Which pixel centres' camera rays pass through a box: an HxW bool mask.

    An oracle independent of the extension's ray casting: each pixel centre's ray (from
    numpy's inverses of the meta's K and world_to_camera_cv) is clipped against the
    box's three pairs of faces (the slab test), within the camera's clip range.
    """
    k_matrix = np.array(meta["camera"]["K"])
    camera_to_world = np.linalg.inv(np.array(meta["camera"]["world_to_camera_cv"]))
    rows, cols = np.mgrid[0 : meta["height"], 0 : meta["width"]]
    pixels = np.stack([cols + 0.5, rows + 0.5, np.ones(rows.shape)], axis=-1).reshape(-1, 3)
    directions = pixels @ np.linalg.inv(k_matrix).T  # planar depth 1 along each ray
    origin = camera_to_world[:3, 3]
    directions = directions @ camera_to_world[:3, :3].T
    corners = np.asarray(corners, dtype=float)
    # Blender's bound_box order: corners 4, 3 and 1 step along the box's x, y and z.
    axes = np.stack([corners[4] - corners[0], corners[3] - corners[0], corners[1] - corners[0]])
    to_box = np.linalg.inv(axes.T)  # world offsets -> box coordinates in 0..1
    start = to_box @ (origin - corners[0])
    step = directions @ to_box.T
    with np.errstate(divide="ignore", invalid="ignore"):
        near = np.where(step != 0, (0.0 - start) / step, -np.inf)
        far = np.where(step != 0, (1.0 - start) / step, np.inf)
    enter = np.minimum(near, far).max(axis=1)
    leave = np.maximum(near, far).min(axis=1)
    # Parallel to a pair of faces and outside it: never inside.
    outside = ((step == 0) & ((start < 0) | (start > 1))).any(axis=1)
    enter = np.maximum(enter, meta["camera"]["clip_start"])
    leave = np.minimum(leave, meta["camera"]["clip_end"])
    return ((enter <= leave) & ~outside).reshape(rows.shape)


def test_perspective_fraction_matches_the_projected_boxes(scene, out_dir):
    scene.render.resolution_x, scene.render.resolution_y = 160, 120
    scene.cycles.filter_width = 0.01
    add_camera(scene, location=(0.7, -3.5, 9.0), rotation=(math.radians(20.0), 0.0, 0.1))
    back = add_box(scene, "Back", (0.0, 0.0, -0.5), (2.0, 2.0, 1.0))
    front = add_box(scene, "Front", (0.5, -0.3, 1.5), (1.6, 1.4, 1.0))
    front.rotation_euler.z = 0.3
    label([back, front], "Box")
    instance_map, meta, masks = render_and_count(scene, out_dir)
    ids = ids_of(meta)

    # Every ray runs downwards, so the front box (z 1..2) hides the back box (z <= 0)
    # where both lie on a pixel's ray.
    entries = {i["object"]: i for i in meta["instances"]}
    hits = {name: box_hits(meta, e["box3d_world"]) for name, e in entries.items()}
    hidden = (hits["Back"] & hits["Front"]).sum() / hits["Back"].sum()
    assert 0.2 < hidden < 0.8, "the scene should hide part of the back box"

    # Pixel centres within the filter's 0.005 px of an edge may fall either way.
    assert (masks[ids["Back"]] != hits["Back"]).sum() <= 4
    assert fraction(instance_map, masks, ids["Back"]) == pytest.approx(1.0 - hidden, abs=0.01)
    assert fraction(instance_map, masks, ids["Front"]) == 1.0
    # With edges anywhere, a pixel centre within the filter's 0.005 px of an edge may
    # fall either way: the front box's silhouettes agree up to such pixels.
    mismatch = masks[ids["Front"]] != (instance_map == ids["Front"])
    assert mismatch.sum() <= 2


def test_an_instance_counts_all_its_parts(scene, out_dir):
    ortho_view(scene)
    # A mesh parent and its unlabelled child: one instance, 20 x 20 + 10 x 20 pixels.
    parent = add_box(scene, "Body", (0.0, 0.0, 0.0), (2.0, 2.0, 1.0))
    parent.location = (-1.6, 0.0, 0.0)
    parent.rotation_euler.z = math.pi / 2
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
    instance_map, meta, masks = render_and_count(scene, out_dir)
    ids = ids_of(meta)

    body = ids["Body"]
    assert masks[body].sum() == 20 * 20 + 10 * 20 == (instance_map == body).sum()
    np.testing.assert_array_equal(masks[body], instance_map == body)
    rig_id = ids["Rig"]
    assert masks[rig_id].sum() == 10 * 10 + 10 * 20
    assert (instance_map == rig_id).sum() == 10 * 5 + 10 * 20
    assert fraction(instance_map, masks, rig_id) == pytest.approx(250 / 300)


def test_geometry_outside_the_clip_range_is_not_counted(scene, out_dir):
    cam = ortho_view(scene)
    cam.data.clip_start, cam.data.clip_end = 2.0, 25.0  # sees 8 >= z >= -15
    body = add_box(scene, "Body", (0.0, 0.0, 0.0), (2.0, 2.0, 1.0))
    add_box(scene, "TooNear", (1.0, 1.0, 9.0), (2.0, 2.0, 1.0), parent=body)
    add_box(scene, "TooFar", (-2.0, -1.0, -20.0), (1.0, 1.0, 1.0), parent=body)
    label([body], "Box")
    instance_map, meta, masks = render_and_count(scene, out_dir)
    ident = ids_of(meta)["Body"]
    assert masks[ident].sum() == (instance_map == ident).sum() == 400


def test_text_counts_its_evaluated_mesh(scene, out_dir):
    scene.render.resolution_x, scene.render.resolution_y = 160, 60
    scene.cycles.filter_width = 0.01
    add_camera(scene, location=(1.5, 0.3, 10.0), ortho_scale=4.0)
    text = bpy.data.objects.new("Text", bpy.data.curves.new("Text", "FONT"))
    text.data.body = "GT8"
    text.data.extrude = 0.05
    scene.collection.objects.link(text)
    label([text], "Text")
    instance_map, meta, masks = render_and_count(scene, out_dir)
    ident = ids_of(meta)["Text"]
    visible = instance_map == ident
    assert visible.sum() > 500
    mismatch = masks[ident] != visible
    assert mismatch.sum() <= 0.01 * visible.sum()


def test_only_visible_ids_are_counted_and_parts_the_render_skips_are_skipped(scene, out_dir):
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
    instance_map, meta, masks = render_and_count(scene, out_dir)
    ids = ids_of(meta)
    assert set(masks) == {ids["Body"]}
    assert masks[ids["Body"]].sum() == (instance_map == ids["Body"]).sum() == 400 + 10 * 6


def test_visible_fraction_is_written_to_meta_and_coco(scene, out_dir):
    ortho_view(scene)
    back = add_box(scene, "Back", (0.0, 0.0, 0.0), (2.0, 2.0, 1.0))
    front = add_box(scene, "Front", (1.0, 0.0, 2.0), (2.0, 2.0, 1.0))
    label([back, front], "Box")
    scene.ground_truth.output_visible_fraction = True
    assert bpy.ops.ground_truth.render() == {"FINISHED"}
    meta = json.loads((out_dir / "meta" / "000001.json").read_text())
    fractions = {i["object"]: i["visible_fraction"] for i in meta["instances"]}
    assert fractions == {"Back": pytest.approx(0.5, abs=0.005), "Front": 1.0}
    document = json.loads((out_dir / "annotations" / "coco_instances.json").read_text())
    by_instance = {a["instance_id"]: a["visible_fraction"] for a in document["annotations"]}
    assert by_instance[back.pass_index] == pytest.approx(0.5, abs=0.005)
    assert by_instance[front.pass_index] == 1.0


def test_visible_fraction_is_off_by_default(scene, out_dir):
    ortho_view(scene)
    label([add_box(scene, "Box", (0.0, 0.0, 0.0), (2.0, 2.0, 1.0))], "Box")
    assert bpy.ops.ground_truth.render() == {"FINISHED"}
    meta = json.loads((out_dir / "meta" / "000001.json").read_text())
    assert "visible_fraction" not in meta["instances"][0]
