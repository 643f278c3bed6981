"""Object models from real renders: one model per distinct shape, posed where the render
drew it.

The oracle of the pose is the render itself: every model vertex and points spread over
every model triangle, projected with the meta's ``K`` and ``model_pose_camera_cv``, must
land on the instance's amodal mask (grown by one pixel: vertices lie on the silhouette's
boundary, where the pixel holding them may sample just outside it).
"""

import json
import math

import bpy
import numpy as np
import pytest

from ground_truth import compat
from ground_truth.dataset import models as model_files
from ground_truth.dataset import reader
from ground_truth.render import finalize

from helpers import add_box, add_camera, add_plane, label


def perspective_view(scene, width=64, height=48):
    from mathutils import Vector

    scene.render.resolution_x, scene.render.resolution_y = width, height
    camera = add_camera(scene, location=(3.5, -6.0, 4.5))
    camera.rotation_euler = (
        (Vector((0.2, 0.0, 0.2)) - camera.location).to_track_quat("-Z", "Y").to_euler()
    )
    return camera


def shared_mesh_pair(scene):
    """Two objects drawing one mesh (a linked duplicate), turned differently."""
    first = add_box(scene, "Twin A", (0.0, 0.0, 0.0), (0.5, 0.5, 0.9))
    second = bpy.data.objects.new("Twin B", first.data)
    scene.collection.objects.link(second)
    first.location = (-1.9, -0.6, 0.45)
    second.location = (-0.9, -1.6, 0.45)
    second.rotation_euler.z = 0.9
    return first, second


def model_scene(scene):
    """The hard cases of models, in one 64 x 48 picture."""
    perspective_view(scene)
    add_plane(scene, "Floor")
    turned = add_box(scene, "Turned", (0.0, 0.0, 0.0), (1.0, 1.0, 1.0))
    turned.location = (0.9, 1.4, 0.8)
    turned.rotation_euler = (0.3, 0.0, 0.7)
    turned.scale = (1.5, 0.6, 0.8)
    body = add_box(scene, "Body", (0.0, 0.0, 0.5), (0.9, 0.6, 0.6))
    body.location = (-0.4, 1.9, 0.0)
    add_box(scene, "Wheel", (0.55, 0.0, 0.3), (0.3, 0.3, 0.6), parent=body)
    back = add_box(scene, "Back", (0.0, 0.0, 0.0), (1.0, 0.8, 1.0))
    back.location = (0.9, -0.2, 0.5)
    front = add_box(scene, "Front", (0.0, 0.0, 0.0), (0.6, 0.3, 1.2))
    front.location = (0.7, -1.3, 0.6)
    edge = add_box(scene, "Edge", (0.0, 0.0, 0.0), (1.0, 1.0, 1.0))
    edge.location = (3.0, -0.2, 0.5)
    twins = shared_mesh_pair(scene)
    label([turned, body, back, front, edge, *twins], "Thing")
    scene.ground_truth.output_amodal = True
    scene.ground_truth.output_models = True
    scene.cycles.samples = 2


def grown(mask):
    """The mask grown by one pixel (8-neighbourhood)."""
    padded = np.pad(mask, 1)
    result = np.zeros_like(mask)
    for dy in (0, 1, 2):
        for dx in (0, 1, 2):
            result |= padded[dy : dy + mask.shape[0], dx : dx + mask.shape[1]]
    return result


def surface_points(model):
    """The model's vertices and 6 points inside each of its triangles."""
    corners = model.vertices.astype(np.float64)[model.triangles]
    weights = np.array([[4, 1, 1], [1, 4, 1], [1, 1, 4], [2, 2, 1], [2, 1, 2], [1, 2, 2]])
    weights = weights / weights.sum(axis=1, keepdims=True)
    inner = np.einsum("wk,tkd->twd", weights, corners).reshape(-1, 3)
    return np.concatenate([model.vertices.astype(np.float64), inner])


def projected_share_inside(points, pose_camera_cv, k_matrix, mask):
    """Share of the points in front of the camera and inside the image that land in
    ``mask``; and how many were inside the image."""
    pose = np.asarray(pose_camera_cv)
    camera = points @ pose[:3, :3].T + pose[:3, 3]
    uvw = camera @ np.asarray(k_matrix).T
    front = camera[:, 2] > 1e-3
    uv = uvw[front, :2] / uvw[front, 2:]
    height, width = mask.shape
    columns, rows = np.floor(uv[:, 0]).astype(int), np.floor(uv[:, 1]).astype(int)
    inside = (columns >= 0) & (columns < width) & (rows >= 0) & (rows < height)
    if not inside.any():
        return 1.0, 0
    return float(mask[rows[inside], columns[inside]].mean()), int(inside.sum())


def render(scene, out_dir):
    scene.frame_start = scene.frame_end = 1
    assert bpy.ops.ground_truth.render() == {"FINISHED"}
    return reader.load_frame(out_dir, 1, keys=("instance", "meta", "amodal"))


def test_models_are_shared_by_shape_and_posed_where_the_render_drew_them(scene, out_dir):
    model_scene(scene)
    sample = render(scene, out_dir)
    entries = {i["object"]: i for i in sample["meta"]["instances"]}
    keys = {name: entry["model"] for name, entry in entries.items()}
    # One mesh at one scale: one model, whatever the turn; every other shape its own.
    assert keys["Twin A"] == keys["Twin B"]
    assert len(set(keys.values())) == len(keys) - 1
    assert model_files.model_keys(out_dir) == sorted(set(keys.values()))
    k_matrix = sample["meta"]["camera"]["K"]
    checked = 0
    for name, entry in entries.items():
        pose = np.array(entry["model_pose_world"])
        rotation = pose[:3, :3]
        np.testing.assert_allclose(rotation @ rotation.T, np.eye(3), atol=1e-12)
        assert np.linalg.det(rotation) == pytest.approx(1.0, abs=1e-12)
        camera_pose = np.array(sample["meta"]["camera"]["world_to_camera_cv"]) @ pose
        np.testing.assert_allclose(entry["model_pose_camera_cv"], camera_pose, atol=1e-9)
        model = model_files.read_model(out_dir, entry["model"])
        mask = sample["amodal"].get(entry["id"])
        if mask is None:
            continue
        share, count = projected_share_inside(
            surface_points(model), entry["model_pose_camera_cv"], k_matrix, grown(mask)
        )
        assert count > 20 and share > 0.99, (name, share, count)
        checked += 1
    assert checked == len(entries)
    # The scale is in the model, the pose is the object's rotation and location.
    turned = model_files.read_model(out_dir, keys["Turned"])
    extent = turned.vertices.max(axis=0) - turned.vertices.min(axis=0)
    np.testing.assert_allclose(extent, [1.5, 0.6, 0.8], atol=1e-6)
    ob = bpy.data.objects["Turned"]
    expected = np.array(ob.matrix_world.normalized())
    np.testing.assert_allclose(entries["Turned"]["model_pose_world"], expected, atol=1e-6)
    # The parented part is in its owner's model.
    assert len(model_files.read_model(out_dir, keys["Body"]).vertices) == 16
    # Cut by the border and half hidden: the silhouette beyond them is in the model too.
    assert entries["Edge"]["truncation"] > 0.1
    assert entries["Back"]["visible_fraction"] < 0.9


def test_a_rendered_model_does_not_depend_on_the_render_or_the_frame(scene, tmp_path):
    """A full render, a labels-only render, a farm render finalized, and another frame
    of a turning object write the same model files and the same meta model fields."""
    model_scene(scene)
    turned = bpy.data.objects["Turned"]
    turned.keyframe_insert("rotation_euler", frame=1)
    turned.rotation_euler.z += 1.1
    turned.keyframe_insert("rotation_euler", frame=2)
    scene.frame_start, scene.frame_end = 1, 2
    runs = {}
    for name, labels_only in (("full", False), ("labels_only", True)):
        scene.ground_truth.output_dir = str(tmp_path / name) + "/"
        scene.ground_truth.labels_only = labels_only
        assert bpy.ops.ground_truth.render(animation=True) == {"FINISHED"}
        runs[name] = tmp_path / name
    scene.ground_truth.labels_only = False
    scene.ground_truth.output_dir = str(tmp_path / "farm") + "/"
    assert bpy.ops.ground_truth.setup_compositor() == {"FINISHED"}
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "farm.blend"))
    scene = bpy.context.scene
    scene.render.filepath = str(tmp_path / "plain" / "")
    bpy.ops.render.render(animation=True)
    finalize.finalize(scene, str(tmp_path / "farm"))
    runs["farm"] = tmp_path / "farm"
    fields = ("model", "model_pose_world", "model_pose_camera_cv")
    found = {}
    for name, folder in runs.items():
        files = {
            key: (folder / "models" / f"{key}.ply").read_bytes()
            for key in model_files.model_keys(folder)
        }
        metas = [
            {
                i["object"]: {f: i[f] for f in fields}
                for i in json.loads(path.read_text())["instances"]
            }
            for path in sorted((folder / "meta").glob("*.json"))
        ]
        found[name] = (files, metas)
    assert len(found["full"][0]) == 6  # 7 objects; Twin A and Twin B share a model
    assert found["full"][0] == found["labels_only"][0] == found["farm"][0]
    for name in ("labels_only", "farm"):
        for mine, theirs in zip(found[name][1], found["full"][1], strict=True):
            assert mine.keys() == theirs.keys()
            for ob, entry in mine.items():
                assert entry["model"] == theirs[ob]["model"]
                np.testing.assert_allclose(
                    entry["model_pose_world"], theirs[ob]["model_pose_world"], atol=1e-9
                )
    # The turning object keeps its model over the frames; only its pose turns.
    first, second = (m["Turned"] for m in found["full"][1])
    assert first["model"] == second["model"]
    turn = (
        np.array(second["model_pose_world"])[:3, :3] @ np.array(first["model_pose_world"])[:3, :3].T
    )
    assert math.acos((np.trace(turn) - 1) / 2) == pytest.approx(1.1, abs=1e-6)


def crate_copies(scene, positions):
    """A labelled crate in an excluded collection, drawn by one empty per position."""
    source = bpy.data.collections.new("Crates")
    scene.collection.children.link(source)
    box = add_box(scene, "Crate", (0.0, 0.0, 0.0), (1.0, 0.7, 0.6))
    material = bpy.data.materials.new("Crate")
    compat.use_nodes(material)
    box.data.materials.append(material)
    label([box], "Crate")
    scene.collection.objects.unlink(box)
    source.objects.link(box)
    scene.view_layers[0].layer_collection.children["Crates"].exclude = True
    for index, location in enumerate(positions):
        empty = bpy.data.objects.new(f"Copy {index}", None)
        empty.instance_type = "COLLECTION"
        empty.instance_collection = source
        empty.location = location
        empty.rotation_euler.z = 0.5 * index
        scene.collection.objects.link(empty)


def test_copies_of_one_source_share_its_model(scene, out_dir):
    perspective_view(scene)
    crate_copies(scene, [(-0.8, 0.6, 0.3), (0.9, -0.4, 0.3), (1.2, 1.6, 0.3)])
    scene.ground_truth.output_amodal = True
    scene.ground_truth.output_models = True
    sample = render(scene, out_dir)
    copies = [i for i in sample["meta"]["instances"] if i.get("instancer")]
    assert len(copies) == 3 and len({c["id"] for c in copies}) == 3
    assert len({c["model"] for c in copies}) == 1
    assert model_files.model_keys(out_dir) == [copies[0]["model"]]
    model = model_files.read_model(out_dir, copies[0]["model"])
    for copy in copies:
        np.testing.assert_allclose(copy["model_pose_world"], copy["pose_world"], atol=1e-9)
        share, count = projected_share_inside(
            surface_points(model),
            copy["model_pose_camera_cv"],
            sample["meta"]["camera"]["K"],
            grown(sample["amodal"][copy["id"]]),
        )
        assert count > 20 and share > 0.99


def test_models_are_off_by_default(scene, out_dir):
    perspective_view(scene)
    label([add_box(scene, "Box", (0.0, 0.0, 0.5), (1.0, 1.0, 1.0))], "Box")
    sample = render(scene, out_dir)
    assert not (out_dir / "models").exists()
    assert "model" not in sample["meta"]["instances"][0]


def test_a_frame_whose_model_went_missing_is_rendered_again_and_named_by_check(scene, out_dir):
    from ground_truth.audit import check
    from ground_truth.dataset import records

    model_scene(scene)
    render(scene, out_dir)
    record = records.read_record(str(out_dir), 1)
    assert sorted(record["models"]) == sorted(model_files.model_keys(out_dir))
    gone = sorted(record["models"])[0]
    path = model_files.model_path(out_dir, gone)
    with open(path, "rb") as file:
        before = file.read()
    (out_dir / "models" / f"{gone}.ply").unlink()
    report = check.check_dataset(str(out_dir))
    assert any(gone in p.message and "missing" in p.message for p in report.problems)
    # Resume does not take the frame as complete: it renders it again, model included.
    scene.ground_truth.resume = True
    assert bpy.ops.ground_truth.render() == {"FINISHED"}
    with open(path, "rb") as file:
        assert file.read() == before
    assert not check.check_dataset(str(out_dir)).problems
