"""Each format's files, read back with plain parsing, against the small dataset's files.

The small dataset (``small_dataset.py``) is written with the package's own writers; the
checks read the exports as their formats define them (text fields, XML, RGB-encoded ids
decoded with Pillow, polygons filled by pycocotools) and compare with the instance maps
and meta of the dataset, through the dataset reader.
"""

import json
import math
import os
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from export_helpers import load_json
from small_dataset import CLASS_OF, FRAMES, HEIGHT, WIDTH, instance_map, write_small_dataset

from ground_truth.dataset.reader import load_frame
from ground_truth.export import FORMATS, common, export_dataset, kitti, panoptic

# The small dataset has no amodal masks or models, which BOP needs (test_bop.py).
SMALL_FORMATS = tuple(f for f in FORMATS if f != "bop")
THINGS = {2: 0, 7: 1}  # class ID -> contiguous YOLO index (Road, 9, is stuff)
NAMES = {2: "Car", 7: "Tree Top"}


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    return write_small_dataset(str(tmp_path_factory.mktemp("small") / "dataset"))


@pytest.fixture(scope="module")
def small_exports(small, tmp_path_factory):
    root = tmp_path_factory.mktemp("small-exports")
    return {
        fmt: export_dataset(
            small, str(root / fmt), fmt, val_ratio=None if fmt == "mot" else 0.34
        ).output
        for fmt in SMALL_FORMATS
    }


def expected_objects(frame):
    """{instance id: (class id, [x, y, w, h])} of visible things, from the meta."""
    sample = load_frame_meta(frame)
    return {
        i["id"]: (i["class_id"], i["bbox"])
        for i in sample["instances"]
        if i["visible_pixels"] and i["class_id"] in THINGS
    }


_SMALL = {}


def load_frame_meta(frame):
    return load_frame(_SMALL["root"], frame)["meta"]


@pytest.fixture(autouse=True, scope="module")
def _remember(small):
    _SMALL["root"] = small


def manifest(folder):
    return load_json(os.path.join(folder, common.MANIFEST_FILE))


def test_manifest_maps_every_frame(small_exports):
    for fmt, folder in small_exports.items():
        document = manifest(folder)
        assert [f["frame"] for f in document["frames"]] == list(FRAMES)
        assert document["format"] == fmt
        if fmt == "kitti":
            assert [f["name"] for f in document["frames"]] == ["000000", "000001", "000002"]
        elif fmt == "mot":
            assert [f["name"] for f in document["frames"]] == ["000001", "000002", "000003"]
        else:
            assert [f["name"] for f in document["frames"]] == ["000003", "000005", "000009"]


def yolo_labels(folder):
    plans = manifest(folder)["frames"]
    result = {}
    for plan in plans:
        path = os.path.join(folder, "labels", plan["split"], plan["name"] + ".txt")
        with open(path, encoding="utf-8") as file:
            result[plan["frame"]] = [line.split() for line in file.read().splitlines()]
        image = os.path.join(folder, "images", plan["split"], plan["name"] + ".png")
        assert os.path.isfile(image)
    return result


def test_yolo_boxes_are_the_instance_boxes(small_exports):
    labels = yolo_labels(small_exports["yolo"])
    for frame in FRAMES:
        expected = sorted(
            (THINGS[c], x + w / 2, y + h / 2, w, h)
            for c, (x, y, w, h) in expected_objects(frame).values()
        )
        got = sorted(
            (int(c), float(cx) * WIDTH, float(cy) * HEIGHT, float(w) * WIDTH, float(h) * HEIGHT)
            for c, cx, cy, w, h in labels[frame]
        )
        assert len(got) == len(expected)
        for a, b in zip(got, expected, strict=True):
            assert a[0] == b[0]
            assert np.allclose(a[1:], b[1:], atol=1e-4)
    assert labels[9] == []  # nothing visible: an empty label file


def test_yolo_data_yaml_names_things_in_id_order(small_exports):
    yaml = pytest.importorskip("yaml")
    with open(os.path.join(small_exports["yolo"], "data.yaml"), encoding="utf-8") as file:
        data = yaml.safe_load(file)
    assert data["names"] == {0: "Car", 1: "Tree Top"}
    assert data["nc"] == 2
    assert data["train"] == "images/train"
    assert "path" not in data  # the root is data.yaml's folder


def test_yolo_yaml_quotes_awkward_names():
    yaml = pytest.importorskip("yaml")
    from ground_truth.export.yolo import data_yaml

    names = ["a: b", "#hash", "yes", "null", "1.5", 'quote " and \\ slash', "ünï", " lead"]
    assert yaml.safe_load(data_yaml(names, True, "t"))["names"] == dict(enumerate(names))


def test_yolo_seg_polygons_fill_back_to_the_masks(small_exports):
    mask_api = pytest.importorskip("pycocotools.mask")
    labels = yolo_labels(small_exports["yolo-seg"])
    for frame in FRAMES:
        ids = instance_map(frame)
        objects = expected_objects(frame)
        assert len(labels[frame]) == len(objects)
        for line in labels[frame]:
            points = np.array(line[1:], dtype=np.float64).reshape(-1, 2) * (WIDTH, HEIGHT)
            rle = mask_api.frPyObjects([points.ravel().tolist()], HEIGHT, WIDTH)
            mask = mask_api.decode(rle)[:, :, 0].astype(bool)
            instance = int(np.bincount(ids[mask]).argmax())
            assert np.array_equal(mask, ids == instance), (frame, instance)
            assert THINGS[CLASS_OF[instance]] == int(line[0])


def test_panoptic_png_ids_and_segments(small_exports):
    image_module = pytest.importorskip("PIL.Image")
    folder = small_exports["coco-panoptic"]
    categories = None
    for plan in manifest(folder)["frames"]:
        document = load_json(os.path.join(folder, "annotations", f"panoptic_{plan['split']}.json"))
        categories = {c["id"]: c for c in document["categories"]}
        annotation = next(a for a in document["annotations"] if a["image_id"] == plan["frame"])
        path = os.path.join(
            folder, "annotations", f"panoptic_{plan['split']}", annotation["file_name"]
        )
        rgb = np.asarray(image_module.open(path).convert("RGB")).astype(np.int64)
        ids = rgb[..., 0] + 256 * rgb[..., 1] + 65536 * rgb[..., 2]
        truth = instance_map(plan["frame"])
        segments = {s["id"]: s for s in annotation["segments_info"]}
        assert set(np.unique(ids)) - {0} == set(segments)
        for segment_id, segment in segments.items():
            mask = ids == segment_id
            class_id = segment["category_id"]
            if categories[class_id]["isthing"]:
                assert np.array_equal(mask, truth == segment_id)
            else:  # stuff: every instance of the class
                stuff = np.isin(truth, [i for i, c in CLASS_OF.items() if c == class_id])
                assert np.array_equal(mask, stuff)
                assert segment_id == panoptic.STUFF_ID_BASE + class_id
            assert segment["area"] == int(mask.sum())
            rows, cols = np.nonzero(mask)
            assert segment["bbox"] == [
                int(cols.min()),
                int(rows.min()),
                int(cols.max() - cols.min() + 1),
                int(rows.max() - rows.min() + 1),
            ]
        assert np.array_equal(ids == 0, truth == 0)  # void where no instance is
    assert categories[9]["isthing"] == 0 and categories[2]["isthing"] == 1


def test_panoptic_id_encoding():
    ids = np.array([[0, 1, 255, 256], [32768 + 9, 65535, 70000, 2**24 - 1]])
    rgb = panoptic.encode_ids(ids).astype(np.int64)
    assert np.array_equal(rgb[..., 0] + 256 * rgb[..., 1] + 65536 * rgb[..., 2], ids)


def test_voc_xml_boxes_one_based_and_flags(small_exports):
    folder = small_exports["voc"]
    for plan in manifest(folder)["frames"]:
        root = ET.parse(os.path.join(folder, "Annotations", plan["name"] + ".xml")).getroot()
        assert root.findtext("filename") == plan["name"] + ".png"
        assert os.path.isfile(os.path.join(folder, "JPEGImages", root.findtext("filename")))
        assert (int(root.findtext("size/width")), int(root.findtext("size/height"))) == (
            WIDTH,
            HEIGHT,
        )
        got = sorted(
            (
                o.findtext("name"),
                int(o.findtext("bndbox/xmin")) - 1,
                int(o.findtext("bndbox/ymin")) - 1,
                int(o.findtext("bndbox/xmax")),
                int(o.findtext("bndbox/ymax")),
            )
            for o in root.iter("object")
        )
        expected = sorted(
            (NAMES[c], x, y, x + w, y + h)
            for c, (x, y, w, h) in expected_objects(plan["frame"]).values()
        )
        assert got == expected
        for o in root.iter("object"):
            if o.findtext("name") == "Tree Top":  # 3D box 80 % outside, 72 % visible
                assert (
                    o.findtext("truncated"),
                    o.findtext("difficult"),
                    o.findtext("occluded"),
                ) == ("1", "1", "1")
            if o.findtext("name") == "Car" and int(o.findtext("bndbox/xmin")) == 21:
                assert o.findtext("occluded") == "1"  # 45 of 54 pixels seen
        listed = (folder, "ImageSets", "Main", f"{plan['split']}.txt")
        with open(os.path.join(*listed), encoding="utf-8") as file:
            assert plan["name"] in file.read().split()


def test_kitti_box_of_a_level_camera_box():
    # A 4 m long, 1.6 m wide, 1.5 m tall box, centre (2, 1, 20) in the camera frame,
    # its length axis turned 30 degrees from +x towards -z (KITTI's rotation_y = 30 deg).
    yaw = math.radians(30.0)
    length_axis = np.array([math.cos(yaw), 0.0, -math.sin(yaw)])
    width_axis = np.array([math.sin(yaw), 0.0, math.cos(yaw)])
    up = np.array([0.0, -1.0, 0.0])
    centre = np.array([2.0, 1.0, 20.0])
    corners = [
        centre + sx * 2.0 * length_axis + sy * 0.8 * width_axis + sz * 0.75 * up
        for sx in (-1, 1)
        for sy, sz in ((-1, -1), (-1, 1), (1, 1), (1, -1))
    ]
    box = kitti.kitti_box(np.array(corners))
    assert box["l"] == pytest.approx(4.0) and box["w"] == pytest.approx(1.6)
    assert box["h"] == pytest.approx(1.5)
    assert (box["x"], box["y"], box["z"]) == pytest.approx((2.0, 1.75, 20.0))
    assert box["rotation_y"] == pytest.approx(yaw)
    assert box["alpha"] == pytest.approx(yaw - math.atan2(2.0, 20.0))


def test_box_truncation_against_the_image():
    k_matrix = np.array([[100.0, 0, 50], [0, 100.0, 50], [0, 0, 1]])

    def cube(x, z):
        return np.array([[x + dx, dy, z + dz] for dx in (-1, 1) for dy in (-1, 1) for dz in (0, 0)])

    assert common.box_truncation(cube(0.0, 10.0), k_matrix, 100, 100) == pytest.approx(0.0)
    # Projects to u in [50, 70]: with the image 0..60 wide, half of it is outside.
    assert common.box_truncation(cube(1.0, 10.0), k_matrix, 60, 100) == pytest.approx(0.5)
    assert common.box_truncation(cube(0.0, -10.0), k_matrix, 100, 100) == 1.0


def test_kitti_labels_and_calib(small_exports):
    folder = small_exports["kitti"]
    for plan in manifest(folder)["frames"]:
        with open(os.path.join(folder, "training", "label_2", plan["name"] + ".txt")) as file:
            rows = [line.split() for line in file.read().splitlines()]
        assert all(len(r) == 15 for r in rows)
        got = sorted((r[0], *(float(v) for v in r[4:8])) for r in rows)
        expected = sorted(
            (NAMES[c].replace(" ", "_"), x, y, x + w, y + h)
            for c, (x, y, w, h) in expected_objects(plan["frame"]).values()
        )
        assert got == expected
        with open(os.path.join(folder, "training", "calib", plan["name"] + ".txt")) as file:
            calib = {
                k: np.array(v.split(), dtype=float)
                for k, v in (line.split(":", 1) for line in file)
            }
        k_matrix = np.array(load_frame_meta(plan["frame"])["camera"]["K"])
        assert np.allclose(calib["P2"].reshape(3, 4), np.hstack([k_matrix, np.zeros((3, 1))]))
        assert set(calib) == {"P0", "P1", "P2", "P3", "R0_rect", "Tr_velo_to_cam", "Tr_imu_to_velo"}


def test_mot_rows_and_seqinfo(small_exports):
    folder = small_exports["mot"]
    sequence = os.path.join(folder, "train", "Small")
    with open(os.path.join(sequence, "gt", "gt.txt")) as file:
        rows = [line.split(",") for line in file.read().splitlines()]
    plans = manifest(folder)["frames"]
    expected = []
    for plan in plans:
        for instance_id, (class_id, (x, y, w, h)) in sorted(
            expected_objects(plan["frame"]).items()
        ):
            expected.append([plan["index"] + 1, instance_id, x, y, w, h, 1, THINGS[class_id] + 1])
    assert [[int(v) for v in r[:8]] for r in rows] == expected
    assert all(0.0 <= float(r[8]) <= 1.0 for r in rows)
    with open(os.path.join(sequence, "seqinfo.ini")) as file:
        info = dict(line.strip().split("=", 1) for line in file if "=" in line)
    assert info == {
        "name": "Small",
        "imDir": "img1",
        "frameRate": "30",
        "seqLength": "3",
        "imWidth": str(WIDTH),
        "imHeight": str(HEIGHT),
        "imExt": ".png",
    }
    assert sorted(os.listdir(os.path.join(sequence, "img1"))) == [
        "000001.png",
        "000002.png",
        "000003.png",
    ]
    with open(os.path.join(sequence, "gt", "labels.txt")) as file:
        assert file.read().splitlines() == ["Car", "Tree Top"]


def test_splits_are_seeded_and_keep_both_sides():
    frames = list(range(0, 200, 2))
    first = common.assign_splits(frames, 0.2, seed=5)
    assert first == common.assign_splits(frames, 0.2, seed=5)
    assert first != common.assign_splits(frames, 0.2, seed=6)
    assert sum(v == "val" for v in first.values()) == 20
    assert list(common.assign_splits([1, 2], 0.01, 0).values()).count("val") == 1
    assert set(common.assign_splits([1, 2, 3], 0.0, 0).values()) == {"train"}


def test_class_indices_are_contiguous_in_id_order():
    classes = [common.ClassInfo(id=i, name=str(i), color=(1, 1, 1), stuff=False) for i in (9, 2, 5)]
    assert common.class_indices(classes) == {2: 0, 5: 1, 9: 2}
    assert common.class_indices(classes, start=1) == {2: 1, 5: 2, 9: 3}


def test_linked_images_point_at_the_dataset(small, tmp_path):
    folder = export_dataset(small, str(tmp_path / "out"), "voc", link_images=True).output
    link = os.path.join(folder, "JPEGImages", "000005.png")
    assert os.path.islink(link)
    assert os.path.samefile(link, os.path.join(small, "rgb", "000005.png"))


def test_older_dataset_without_stuff_flags_or_visible_fraction(tmp_path):
    root = write_small_dataset(str(tmp_path / "old"), visible_fraction=False)
    path = os.path.join(root, "dataset.json")
    data = load_json(path)
    for item in data["classes"]:
        item.pop("stuff", None)
    with open(path, "w", encoding="utf-8") as file:
        json.dump(data, file)
    report = export_dataset(root, str(tmp_path / "kitti"), "kitti")
    assert any("visible_fraction" in w for w in report.warnings)
    rows = []
    for name in sorted(os.listdir(tmp_path / "kitti" / "training" / "label_2")):
        with open(tmp_path / "kitti" / "training" / "label_2" / name) as file:
            rows += [line.split() for line in file]
    assert {r[2] for r in rows} == {"3"}  # occlusion unknown
    assert "Road" in {r[0] for r in rows}  # no stuff flag: a thing


def test_no_validation_split_points_val_at_the_training_images(small, tmp_path):
    yaml = pytest.importorskip("yaml")
    folder = export_dataset(small, str(tmp_path / "yolo"), "yolo", val_ratio=0.0).output
    with open(os.path.join(folder, "data.yaml"), encoding="utf-8") as file:
        data = yaml.safe_load(file)
    assert data["val"] == data["train"] == "images/train"
    assert sorted(os.listdir(os.path.join(folder, "images"))) == ["train"]
    assert {f["split"] for f in manifest(folder)["frames"]} == {"train"}


def test_a_truncation_field_in_the_meta_is_used(tmp_path):
    root = write_small_dataset(str(tmp_path / "dataset"))
    path = os.path.join(root, "meta", "000003.json")
    frame_meta = load_json(path)
    for entry in frame_meta["instances"]:
        if entry["object"] == "CarA":
            entry["truncation"] = 0.7
    with open(path, "w", encoding="utf-8") as file:
        json.dump(frame_meta, file)
    folder = export_dataset(root, str(tmp_path / "kitti"), "kitti").output
    with open(os.path.join(folder, "training", "label_2", "000000.txt")) as file:
        rows = {(r[4], r[5]): r for r in (line.split() for line in file)}
    assert rows[("3.00", "4.00")][1] == "0.70"  # CarA, 2D box at (3, 4)
    assert rows[("20.00", "15.00")][1] == "0.00"  # CarB, computed from its 3D box
    voc = export_dataset(root, str(tmp_path / "voc"), "voc").output
    xml = ET.parse(os.path.join(voc, "Annotations", "000003.xml")).getroot()
    flags = {o.findtext("bndbox/xmin"): o.findtext("truncated") for o in xml.iter("object")}
    assert flags == {"4": "1", "21": "0"}
