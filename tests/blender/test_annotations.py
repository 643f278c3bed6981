"""Cameras, poses, boxes and COCO from real renders; the reader loads them back."""

import json
import math

import bpy
import numpy as np
import pytest
from mathutils import Vector
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from ground_truth.codecs import png
from ground_truth.dataset import coco, reader
from ground_truth.geometry import boxes, camera
from ground_truth.scene import classes, frame_info

from helpers import add_box, add_camera, add_plane, label


@pytest.fixture
def two_frames(scene, out_dir):
    add_camera(scene, location=(0.0, -6.0, 3.0), rotation=(math.radians(65.0), 0.0, 0.0))
    floor = add_plane(scene, "Floor")
    a = add_box(scene, "A", (-1.0, 0.0, 0.5), (1.0, 1.0, 1.0))
    b = add_box(scene, "B", (1.2, 0.5, 0.4), (0.8, 0.8, 0.8))
    hidden = add_box(scene, "Behind", (0.0, -20.0, 0.5), (1.0, 1.0, 1.0))  # behind the camera
    a.keyframe_insert("location", frame=1)
    a.location.x += 0.6
    a.keyframe_insert("location", frame=2)
    label([a, b], "Crate")
    label([hidden], "Crate")
    label([floor], "Floor")
    scene.frame_start, scene.frame_end = 1, 2
    assert bpy.ops.ground_truth.render(animation=True) == {"FINISHED"}
    return scene


def test_coco_masks_areas_and_boxes_match_the_instance_maps(two_frames, out_dir):
    path = out_dir / "annotations" / "coco_instances.json"
    gt = COCO(str(path))
    assert sorted(gt.getImgIds()) == [1, 2]
    assert {c["name"] for c in gt.loadCats(gt.getCatIds())} == {"Crate", "Floor"}
    for image in gt.loadImgs(gt.getImgIds()):
        assert (image["width"], image["height"]) == (32, 24)
        instance = png.read_png(out_dir / image["file_name"].replace("rgb", "instance"))
        annotations = gt.loadAnns(gt.getAnnIds(imgIds=image["id"]))
        assert sorted(a["instance_id"] for a in annotations) == sorted(
            int(i) for i in np.unique(instance) if i
        )
        for annotation in annotations:
            mask = instance == annotation["instance_id"]
            np.testing.assert_array_equal(gt.annToMask(annotation), mask)
            assert annotation["area"] == mask.sum() == mask_utils.area(annotation["segmentation"])
            ys, xs = np.nonzero(mask)
            x, y = xs.min(), ys.min()
            assert annotation["bbox"] == [x, y, xs.max() - x + 1, ys.max() - y + 1]
            assert annotation["iscrowd"] == 0


def test_coco_scored_against_itself_gives_ap_1(two_frames, out_dir):
    gt = COCO(str(out_dir / "annotations" / "coco_instances.json"))
    results = [{**a, "score": 1.0} for a in gt.loadAnns(gt.getAnnIds())]
    for iou_type in ("segm", "bbox"):
        evaluation = COCOeval(gt, gt.loadRes(results), iou_type)
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
        assert evaluation.stats[0] == pytest.approx(1.0)


def test_rebuilding_coco_from_the_frame_files_gives_the_same_json(two_frames, out_dir):
    written = json.loads((out_dir / "annotations" / "coco_instances.json").read_text())
    assert coco.coco_from_frames(str(out_dir)) == written


def test_meta_lists_every_instance_with_its_visibility(two_frames, out_dir):
    data = json.loads((out_dir / "meta" / "000002.json").read_text())
    instance = png.read_png(out_dir / "instance" / "000002.png")
    by_object = {i["object"]: i for i in data["instances"]}
    assert set(by_object) == {"A", "B", "Behind", "Floor"}
    assert by_object["Behind"]["visible_pixels"] == 0 and by_object["Behind"]["bbox"] is None
    a = by_object["A"]
    assert a["visible_pixels"] == (instance == a["id"]).sum() > 0
    # The pose follows the animation: A moved 0.6 along x between the frames.
    first = json.loads((out_dir / "meta" / "000001.json").read_text())
    a1 = next(i for i in first["instances"] if i["object"] == "A")
    assert a["pose_world"][0][3] - a1["pose_world"][0][3] == pytest.approx(0.6)
    # Its 3D box is the mesh's bounds: 1 m cube centred at (-0.4, 0, 0.5) in frame 2.
    corners = np.array(a["box3d_world"])
    np.testing.assert_allclose(corners.min(axis=0), [-0.9, -0.5, 0.0], atol=1e-6)
    np.testing.assert_allclose(corners.max(axis=0), [0.1, 0.5, 1.0], atol=1e-6)


@pytest.mark.parametrize(
    "setup",
    [
        {"type": "PERSP", "shift_x": 0.12, "shift_y": -0.05, "sensor_fit": "VERTICAL"},
        {"type": "PERSP", "shift_x": -0.1, "sensor_fit": "HORIZONTAL", "aspect": (1.0, 1.5)},
        {"type": "ORTHO", "shift_x": 0.08, "sensor_fit": "AUTO"},
    ],
)
def test_box_corners_project_to_where_cycles_drew_them(scene, out_dir, setup):
    cam = add_camera(scene, location=(0.4, -5.0, 2.2), rotation=(math.radians(70.0), 0.0, 0.2))
    cam.data.type = setup["type"]
    cam.data.ortho_scale = 5.0
    cam.data.shift_x = setup.get("shift_x", 0.0)
    cam.data.shift_y = setup.get("shift_y", 0.0)
    cam.data.sensor_fit = setup["sensor_fit"]
    scene.render.pixel_aspect_x, scene.render.pixel_aspect_y = setup.get("aspect", (1.0, 1.0))
    scene.render.resolution_x, scene.render.resolution_y = 48, 36
    scene.cycles.filter_width = 0.01
    box = add_box(scene, "Box", (0.3, 0.2, 0.6), (1.0, 0.8, 1.2))
    box.rotation_euler.z = 0.4
    label([box], "Box")
    assert bpy.ops.ground_truth.render() == {"FINISHED"}

    meta = json.loads((out_dir / "meta" / "000001.json").read_text())
    k_matrix = np.array(meta["camera"]["K"])
    w2c = np.array(meta["camera"]["world_to_camera_cv"])
    entry = meta["instances"][0]
    uv = camera.project_points(
        k_matrix, w2c, np.array(entry["box3d_world"]), ortho=meta["camera"]["type"] == "ORTHO"
    )
    x, y, w, h = entry["bbox"]
    # The silhouette's extreme pixels are where the outermost corners project.
    assert uv[:, 0].min() == pytest.approx(x, abs=1.0)
    assert uv[:, 0].max() == pytest.approx(x + w, abs=1.0)
    assert uv[:, 1].min() == pytest.approx(y, abs=1.0)
    assert uv[:, 1].max() == pytest.approx(y + h, abs=1.0)


def test_reader_round_trips_a_rendered_dataset(two_frames, out_dir):
    bpy.context.scene.ground_truth.output_depth_mm = True
    assert bpy.ops.ground_truth.render(animation=True) == {"FINISHED"}  # resumes: nothing new
    frames = list(reader.load_dataset(str(out_dir)))
    assert [f["frame"] for f in frames] == [1, 2]
    frame = reader.load_frame(str(out_dir), 2)
    assert frame["rgb"].dtype == np.uint8 and frame["rgb"].shape == (24, 32, 3)
    assert frame["depth"].dtype == np.float32 and frame["depth"].shape == (24, 32)
    assert frame["class"].dtype == np.uint16 and frame["instance"].dtype == np.uint16
    assert frame["meta"]["frame"] == 2
    assert np.isfinite(frame["depth"]).all()  # the floor fills the view


def test_depth_png_in_millimetres(scene, out_dir):
    scene.ground_truth.output_depth_mm = True
    add_camera(scene, location=(0.0, 0.0, 3.25))
    label([add_plane(scene)], "Ground")
    assert bpy.ops.ground_truth.render() == {"FINISHED"}
    depth_mm = png.read_png(out_dir / "depth_mm" / "000001.png")
    assert depth_mm.dtype == np.uint16 and (depth_mm == 3250).all()


def test_an_object_scaled_to_nothing_renders_with_an_empty_box(scene, out_dir):
    # Animations often grow objects from scale 0: its matrix has no inverse.
    add_camera(scene, location=(0.0, -6.0, 3.0), rotation=(math.radians(65.0), 0.0, 0.0))
    grown = add_box(scene, "Grown", (0.0, 0.0, 0.5), (1.0, 1.0, 1.0))
    grown.scale = (0.0, 0.0, 0.0)
    label([grown], "Crate")
    assert bpy.ops.ground_truth.render() == {"FINISHED"}
    data = json.loads((out_dir / "meta" / "000001.json").read_text())
    (entry,) = data["instances"]
    assert entry["visible_pixels"] == 0 and entry["bbox"] is None
    origin = np.array(entry["pose_world"])[:3, 3]
    np.testing.assert_allclose(origin, list(grown.matrix_world.translation), atol=1e-9)
    np.testing.assert_allclose(entry["box3d_world"], np.tile(origin, (8, 1)), atol=1e-9)


def test_the_boxes_of_many_labelled_objects_match_each_one_worked_out_alone(scene):
    # The boxes of all instances are made at once; each must equal what mathutils gives
    # for that instance alone: its parts' evaluated corners in its own frame.
    objects = []
    for index in range(60):
        ob = add_box(scene, f"Box{index}", (0.0, 0.0, 0.0), (0.2, 0.3 + index * 0.01, 0.4))
        ob.location = (index % 10 - 4.5, index // 10 * 0.7, 0.2 * (index % 3))
        ob.rotation_euler = (0.1 * index, 0.05 * index, -0.07 * index)
        objects.append(ob)
    objects[3].scale = (1.0, 2.5, 0.5)
    objects[4].scale = (0.0, 0.0, 0.0)  # no inverse: an empty box at its origin
    objects[5].parent = objects[6]  # a parent's scale and rotation shear the child
    objects[6].scale = (2.0, 1.0, 0.5)
    arm = add_box(scene, "Arm", (0.5, 0.0, 0.0), (1.0, 0.1, 0.1), parent=objects[7])
    bend = arm.modifiers.new("Bend", "SIMPLE_DEFORM")  # evaluated bounds, not the mesh's
    bend.deform_method, bend.angle, bend.deform_axis = "BEND", 1.2, "Z"
    label(objects, "Crate")
    classes.sync_instance_ids(scene)
    assert arm.pass_index == objects[7].pass_index  # the arm is part of its parent's instance
    labels = classes.label_table(scene)
    depsgraph = bpy.context.evaluated_depsgraph_get()
    inputs = frame_info.instance_inputs(scene, depsgraph, labels.instances)
    assert [i["object"] for i in inputs] == [i.object for i in labels.instances]
    assert len(inputs) == 60
    parts = {}
    for ob in scene.objects:
        if ob.pass_index:
            parts.setdefault(ob.pass_index, []).append(ob.evaluated_get(depsgraph))
    for entry in inputs:
        owner = scene.objects[entry["object"]].evaluated_get(depsgraph)
        np.testing.assert_array_equal(entry["matrix_world"], np.array(owner.matrix_world))
        if owner.matrix_world.determinant() == 0.0:
            np.testing.assert_array_equal(entry["bounds"], np.zeros((8, 3)))
            continue
        to_local = owner.matrix_world.inverted()
        corners = np.array(
            [
                list(to_local @ part.matrix_world @ Vector(corner))
                for part in parts[entry["id"]]
                for corner in part.bound_box
            ]
        )
        expected = boxes.box_corners(corners.min(axis=0), corners.max(axis=0))
        np.testing.assert_allclose(entry["bounds"], expected, atol=2e-5)
    arm_entry = next(i for i in inputs if i["object"] == objects[7].name)
    # The bent arm reaches well beyond its parent's own 0.2 m box.
    assert np.ptp(arm_entry["bounds"][:, 0]) > 0.5
