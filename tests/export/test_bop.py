"""The BOP export without Blender: its conventions one by one, a synthetic dataset with
amodal masks and models, and what it refuses. The BOP toolkit reads an export of a real
render in ``test_bop_toolkit.py``."""

import hashlib
import itertools
import json
import os

import numpy as np
import pytest
from export_helpers import load_json, run_cli
from small_dataset import BOP_FRAMES, BOP_SIZE, write_bop_dataset, write_small_dataset

from ground_truth.codecs import ply, png
from ground_truth.dataset import models as model_files
from ground_truth.dataset.reader import load_frame
from ground_truth.export import bop, export_dataset


def test_depth_scale_is_the_finest_that_holds_the_farthest_depth():
    assert bop.depth_scale_for(0.5) == 0.1
    assert bop.depth_scale_for(6.5535) == 0.1  # 65535 x 0.1 mm
    assert bop.depth_scale_for(6.56) == 0.2
    assert bop.depth_scale_for(20.0) == 0.5
    assert bop.depth_scale_for(65.0) == 1.0
    assert bop.depth_scale_for(1000.0) == 20.0
    assert bop.depth_scale_for(float("inf")) == bop.depth_scale_for(0.0) == 0.1
    rng = np.random.default_rng(1)
    for farthest in (0.3, 4.2, 17.0, 230.0):
        depth = rng.uniform(0.01, farthest, (20, 30)).astype(np.float32)
        depth[0, 0] = farthest
        depth[1, :5] = np.inf
        scale = bop.depth_scale_for(farthest)
        image = bop.encode_depth(depth, scale)
        assert image.dtype == np.uint16 and image[0, 0] <= 65535
        assert (image[1, :5] == 0).all()
        seen = np.isfinite(depth)
        error = np.abs(image[seen] * scale - depth[seen].astype(np.float64) * 1000.0)
        assert error.max() <= scale / 2 + 1e-6 * farthest * 1000


def test_depth_zero_means_no_data():
    depth = np.array([[np.inf, -1.0, 0.0, 1e-6, 0.0001, np.nan]], np.float32)
    assert bop.encode_depth(depth, 0.1).tolist() == [[0, 0, 0, 0, 1, 0]]


def test_file_names_are_bops():
    assert bop.image_name(7) == "000007"
    assert bop.mask_name(3, 12) == "000003_000012.png"


def test_boxes_are_written_as_the_toolkit_computes_them():
    # misc.calc_2d_bbox: [x, y, x_max - x, y_max - y], one less than the pixels spanned.
    assert bop.bop_box(np.array([4, 9, 6]), np.array([2, 2, 7])) == [4, 2, 5, 5]
    assert bop.bop_box(np.array([-3]), np.array([5])) == [-3, 5, 0, 0]
    assert bop.bop_box(np.array([], int), np.array([], int)) == [-1, -1, -1, -1]


def test_obj_ids_follow_class_object_name_and_model_whatever_the_order_found():
    found = {
        (7, "aaaaaaaaaaaaaaaa"): ["Tree"],
        (2, "ffffffffffffffff"): ["Car B", "Car A"],
        (2, "0000000000000000"): ["Car C"],
        (2, "1111111111111111"): ["Car A"],
    }
    tables = [bop.object_table(dict(order)) for order in itertools.permutations(found.items())]
    assert all(table == tables[0] for table in tables)
    assert [(o["obj_id"], o["class_id"], o["model"], o["objects"]) for o in tables[0]] == [
        (1, 2, "1111111111111111", ["Car A"]),
        (2, 2, "ffffffffffffffff", ["Car A", "Car B"]),
        (3, 2, "0000000000000000", ["Car C"]),
        (4, 7, "aaaaaaaaaaaaaaaa", ["Tree"]),
    ]


def test_diameter_is_the_largest_distance_between_two_vertices():
    rng = np.random.default_rng(5)
    for points in (
        rng.normal(size=(300, 3)) * (3.0, 1.0, 0.5),
        rng.normal(size=(500, 3)) / np.linalg.norm(rng.normal(size=(500, 3)), axis=1)[:, None],
        np.array([[1.0, 2.0, 3.0]] * 4),
    ):
        brute = np.sqrt(((points[:, None] - points[None]) ** 2).sum(-1)).max()
        assert bop.diameter(points) == pytest.approx(brute, rel=1e-12, abs=1e-12)
    cube = np.array([[x, y, z] for x in (0, 2) for y in (0, 3) for z in (0, 6)], float)
    info = bop.model_info(cube - 1.0)
    assert info["diameter"] == pytest.approx(7.0)
    assert [info[k] for k in ("min_x", "min_y", "min_z", "size_x", "size_y", "size_z")] == [
        -1.0,
        -1.0,
        -1.0,
        2.0,
        3.0,
        6.0,
    ]


def test_vertex_normals_point_out_of_a_cube():
    from small_dataset import _unit_cube

    cube = _unit_cube()
    normals = bop.vertex_normals(cube.vertices, cube.triangles)
    outward = cube.vertices / np.linalg.norm(cube.vertices, axis=1, keepdims=True)
    np.testing.assert_allclose(np.linalg.norm(normals, axis=1), 1.0)
    assert ((normals * outward).sum(axis=1) > 0.5).all()


def test_the_silhouette_beyond_the_border_is_counted_on_a_canvas_of_three_images():
    camera = {
        "K": [[100.0, 0, 50.0], [0, 100.0, 40.0], [0, 0, 1]],
        "clip_start": 0.1,
        "clip_end": 1e3,
    }
    rectangle = np.array([[0.3, -0.1, 0], [0.7, -0.1, 0], [0.7, 0.1, 0], [0.3, 0.1, 0]]) * 1000
    quad = np.array([[0, 1, 2], [0, 2, 3]])
    # 1 m in front: u from 80 to 120, v from 30 to 50; the image is 100 x 80.
    count, extent = bop.outside_silhouette(
        rectangle, quad, np.eye(3), np.array([0, 0, 1000.0]), camera, 1000.0, 100, 80
    )
    assert (count, extent) == (20 * 20, (100, 119, 30, 49))
    # Stretched to u = 350: the canvas ends at column 199.
    wide = rectangle * (1, 1, 1) + [[0, 0, 0], [2300, 0, 0], [2300, 0, 0], [0, 0, 0]]
    count, extent = bop.outside_silhouette(
        wide, quad, np.eye(3), np.array([0, 0, 1000.0]), camera, 1000.0, 100, 80
    )
    assert (count, extent) == (100 * 20, (100, 199, 30, 49))
    # Inside the image: nothing beyond.
    assert bop.outside_silhouette(
        rectangle * 0.5, quad, np.eye(3), np.array([0, 0, 1000.0]), camera, 1000.0, 100, 80
    ) == (0, None)


def test_gt_info_of_masks():
    amodal = np.zeros((10, 12), bool)
    amodal[2:8, 8:12] = True
    visible = amodal.copy()
    visible[2:8, 8:10] = False
    depth = np.ones((10, 12), np.uint16)
    depth[2, 11] = 0
    info = bop.gt_info(amodal, visible, depth, (24, (12, 15, 2, 7)))
    assert info == {
        "bbox_obj": [8, 2, 7, 5],
        "bbox_visib": [10, 2, 1, 5],
        "px_count_all": 48,
        "px_count_valid": 23,
        "px_count_visib": 12,
        "visib_fract": 0.25,
    }
    hidden = bop.gt_info(amodal, np.zeros_like(amodal), depth, (0, None))
    assert hidden["bbox_obj"] == hidden["bbox_visib"] == [-1, -1, -1, -1]
    assert (hidden["px_count_all"], hidden["visib_fract"]) == (24, 0.0)


@pytest.fixture(scope="module")
def boxes(tmp_path_factory):
    return write_bop_dataset(str(tmp_path_factory.mktemp("boxes") / "dataset"))


@pytest.fixture(scope="module")
def boxes_export(boxes, tmp_path_factory):
    return export_dataset(boxes, str(tmp_path_factory.mktemp("boxes-bop") / "bop"), "bop").output


def test_a_dataset_with_amodal_masks_and_models_exports_whole(boxes, boxes_export):
    scene = os.path.join(boxes_export, "train", "000000")
    mapping = load_json(os.path.join(boxes_export, "ground-truth-bop.json"))
    scene_gt = load_json(os.path.join(scene, "scene_gt.json"))
    gt_info = load_json(os.path.join(scene, "scene_gt_info.json"))
    cameras = load_json(os.path.join(scene, "scene_camera.json"))
    assert sorted(scene_gt) == sorted(gt_info) == sorted(cameras) == ["0", "1"]
    assert [mapping["images"][k]["frame"] for k in ("0", "1")] == list(BOP_FRAMES)
    # BoxA and BoxB share one mesh at one scale: one object; D is stretched: its own.
    objects = {tuple(o["objects"]): o for o in mapping["obj_ids"]}
    assert sorted(objects) == [("BoxA", "BoxB"), ("BoxC",), ("BoxD",)]
    assert [objects[k]["obj_id"] for k in sorted(objects)] == [1, 2, 3]
    for im_id, image in mapping["images"].items():
        sample = load_frame(boxes, image["frame"], keys=("instance", "amodal", "meta"))
        assert image["instances"] == sorted(sample["amodal"])
        assert len(scene_gt[im_id]) == len(gt_info[im_id]) == len(image["instances"])
        for gt_id, ident in enumerate(image["instances"]):
            name = bop.mask_name(int(im_id), gt_id)
            mask = png.read_png(os.path.join(scene, "mask", name))
            visible = png.read_png(os.path.join(scene, "mask_visib", name))
            np.testing.assert_array_equal(mask == 255, sample["amodal"][ident])
            np.testing.assert_array_equal(visible == 255, sample["instance"] == ident)
            assert set(np.unique(mask)) <= {0, 255}
            assert gt_info[im_id][gt_id]["px_count_visib"] == (visible == 255).sum()
        depth = png.read_png(os.path.join(scene, "depth", f"{int(im_id):06d}.png"))
        assert depth.dtype == np.uint16 and depth.shape == BOP_SIZE[::-1]
    truncated = [
        i
        for infos in gt_info.values()
        for i in infos
        if i["bbox_obj"][0] + i["bbox_obj"][2] >= BOP_SIZE[0]
    ]
    assert truncated and all(i["visib_fract"] < 1.0 for i in truncated)
    models = load_json(os.path.join(boxes_export, "models", "models_info.json"))
    assert sorted(models) == ["1", "2", "3"]
    d = ply.read_ply(os.path.join(boxes_export, "models", "obj_000003.ply"))
    np.testing.assert_allclose(d.vertices.max(axis=0) - d.vertices.min(axis=0), [1500, 800, 1000])
    assert models["3"]["diameter"] == pytest.approx(np.sqrt(1500**2 + 800**2 + 1000**2))
    camera = load_json(os.path.join(boxes_export, "camera.json"))
    assert (camera["width"], camera["height"]) == BOP_SIZE
    assert camera["cx"] == BOP_SIZE[0] / 2 - 0.5  # pixel centres at integers


def test_the_same_dataset_exports_the_same_bytes(boxes, boxes_export, tmp_path):
    again = export_dataset(boxes, str(tmp_path / "again"), "bop").output

    def digest(path):
        with open(path, "rb") as file:
            return hashlib.sha256(file.read()).hexdigest()

    def contents(folder):
        return {
            os.path.relpath(os.path.join(parent, name), folder): digest(os.path.join(parent, name))
            for parent, _, names in os.walk(folder)
            for name in names
        }

    assert contents(again) == contents(boxes_export)


def test_a_split_names_the_folder(boxes, tmp_path):
    export_dataset(boxes, str(tmp_path / "out"), "bop", split="val")
    assert os.listdir(tmp_path / "out" / "val") == ["000000"]
    manifest = load_json(os.path.join(tmp_path / "out", "ground-truth-export.json"))
    assert manifest["options"]["split"] == "val"


@pytest.mark.parametrize(
    "argv",
    [
        ["--split", "../escape"],
        ["--split", ""],
        ["--val-ratio", "0.2"],
    ],
)
def test_bad_bop_arguments_exit_2(boxes, tmp_path, capsys, argv):
    out = tmp_path / "out"
    assert run_cli(["export", boxes, "--format", "bop", "--output", str(out), *argv]) == 2
    assert "ground_truth: " in capsys.readouterr().err
    assert not out.exists()


def test_a_split_for_another_format_exits_2(boxes, tmp_path, capsys):
    out = tmp_path / "out"
    assert run_cli(["export", boxes, "--format", "voc", "-o", str(out), "--split", "val"]) == 2
    assert "--split" in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.parametrize(
    ("kind", "named"),
    [
        ("plain", ["Amodal Masks", "Object Models", "--amodal", "--models"]),
        ("no_models", ["Object Models", "--models"]),
        ("no_amodal", ["Amodal Masks", "--amodal"]),
    ],
)
def test_a_dataset_without_what_bop_needs_is_refused_and_nothing_is_written(
    tmp_path, capsys, kind, named
):
    if kind == "plain":
        dataset = write_small_dataset(str(tmp_path / "dataset"))
    else:
        dataset = write_bop_dataset(
            str(tmp_path / "dataset"), amodal=kind != "no_amodal", models=kind != "no_models"
        )
    before = sorted(os.walk(dataset))
    out = tmp_path / "nested" / "out"
    assert run_cli(["export", dataset, "--format", "bop", "--output", str(out)]) == 1
    message = capsys.readouterr().err
    for text in named:
        assert text in message
    for absent in {"Amodal Masks", "Object Models"} - set(named):
        assert absent not in message
    assert not (tmp_path / "nested").exists()
    assert sorted(os.walk(dataset)) == before


def test_a_missing_model_file_is_named(boxes, tmp_path, capsys):
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(boxes, broken)
    key = model_files.model_keys(broken)[0]
    os.remove(broken / "models" / f"{key}.ply")
    assert run_cli(["export", str(broken), "--format", "bop", "-o", str(tmp_path / "o")]) == 1
    assert f"{key}.ply" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_an_orthographic_dataset_is_refused(boxes, tmp_path, capsys):
    import shutil

    ortho = tmp_path / "ortho"
    shutil.copytree(boxes, ortho)
    path = ortho / "meta" / f"{BOP_FRAMES[0]:06d}.json"
    document = json.loads(path.read_text())
    document["camera"]["type"] = "ORTHO"
    path.write_text(json.dumps(document))
    assert run_cli(["export", str(ortho), "--format", "bop", "-o", str(tmp_path / "o")]) == 1
    assert "orthographic" in capsys.readouterr().err


@pytest.fixture
def with_coco(boxes, tmp_path):
    """A copy of ``boxes`` with its COCO file, as a render leaves it."""
    import shutil

    from ground_truth.dataset import coco

    root = str(tmp_path / "with-coco")
    shutil.copytree(boxes, root)
    coco.write_document(root, coco.coco_from_frames(root))
    return root


def test_check_passes_a_dataset_with_amodal_masks(with_coco, capsys):
    assert run_cli(["check", with_coco]) == 0, capsys.readouterr().err


def _without_amodal_file(root):
    os.remove(os.path.join(root, "amodal", f"{BOP_FRAMES[1]:06d}.json"))


def _truncated_amodal_file(root):
    path = os.path.join(root, "amodal", f"{BOP_FRAMES[1]:06d}.json")
    with open(path, "rb") as file:
        data = file.read()
    with open(path, "wb") as file:
        file.write(data[: len(data) // 2])


def _amodal_mask_of_another_size(root):
    path = os.path.join(root, "amodal", f"{BOP_FRAMES[1]:06d}.json")
    document = load_json(path)
    document["height"] += 1
    for entry in document["instances"]:
        entry["amodal_segmentation"]["size"][0] += 1
    with open(path, "w", encoding="utf-8") as file:
        json.dump(document, file)


@pytest.mark.parametrize(
    "fault", [_without_amodal_file, _truncated_amodal_file, _amodal_mask_of_another_size]
)
def test_check_names_a_missing_or_damaged_amodal_file(with_coco, capsys, fault):
    """Amodal files are an output like any other: check finds them through the registry."""
    fault(with_coco)
    assert run_cli(["check", with_coco]) == 1
    blamed = os.path.join(with_coco, "amodal", f"{BOP_FRAMES[1]:06d}.json")
    assert f"problem: {blamed}" in capsys.readouterr().err
