"""Real consumers read the exports of a real render: Ultralytics, Datumaro, pycocotools.

Every test compares what the consumer read with Ground Truth's own files of the rendered
dataset (meta boxes and classes, instance maps), read through the dataset reader.
"""

import itertools
import os
import pathlib

import numpy as np
import pytest
from export_helpers import boundary_band, frame_truth, load_json, visible_things

from ground_truth.export import common, panoptic


def class_table(dataset):
    data = load_json(os.path.join(dataset, "dataset.json"))
    return {c["id"]: c for c in data["classes"]}


def thing_names(dataset):
    """Thing class names in order of class ID (the object formats' class numbering)."""
    return [c["name"] for _, c in sorted(class_table(dataset).items()) if not c.get("stuff")]


def plans(folder):
    return load_json(os.path.join(folder, common.MANIFEST_FILE))["frames"]


# ---------------------------------------------------------------------------
# pycocotools
# ---------------------------------------------------------------------------


def test_pycocotools_reads_the_coco_instances(rendered):
    coco_module = pytest.importorskip("pycocotools.coco")
    api = coco_module.COCO(os.path.join(rendered, "annotations", "coco_instances.json"))
    data = load_json(os.path.join(rendered, "dataset.json"))
    assert sorted(api.getImgIds()) == data["frames"]
    assert sorted(api.getCatIds()) == [c["id"] for c in data["classes"]]
    count = 0
    for frame in data["frames"]:
        frame_meta, instance = frame_truth(rendered, frame)
        annotations = api.loadAnns(api.getAnnIds(imgIds=[frame]))
        assert {a["instance_id"] for a in annotations} == {
            i["id"] for i in frame_meta["instances"] if i["visible_pixels"]
        }
        for annotation in annotations:
            assert np.array_equal(
                api.annToMask(annotation).astype(bool), instance == annotation["instance_id"]
            )
            count += 1
    assert count > 20


# ---------------------------------------------------------------------------
# Ultralytics
# ---------------------------------------------------------------------------


def bridge_pixels(points: np.ndarray, shape) -> np.ndarray:
    """Pixels within one pixel of where the polygon runs over itself (zero-width bridges).

    Axis-aligned edges are cut into unit steps of the pixel lattice; a step walked twice,
    and a slanted edge walked back exactly, is part of a bridge.
    """
    closed = np.vstack([points, points[:1]]).astype(np.int64).tolist()
    steps: dict = {}
    slanted = set()
    for (x0, y0), (x1, y1) in itertools.pairwise(closed):
        if x0 != x1 and y0 != y1:
            slanted.add(((x0, y0), (x1, y1)))
            continue
        length = max(abs(x1 - x0), abs(y1 - y0))
        dx, dy = np.sign(x1 - x0), np.sign(y1 - y0)
        for k in range(length):
            a = (x0 + k * dx, y0 + k * dy)
            b = (a[0] + dx, a[1] + dy)
            key = (min(a, b), max(a, b))
            steps[key] = steps.get(key, 0) + 1
    segments = [key for key, count in steps.items() if count >= 2]
    segments += [(a, b) for a, b in slanted if (b, a) in slanted]
    near = np.zeros(shape, dtype=bool)
    for a, b in segments:
        count = int(4 * max(abs(b[0] - a[0]), abs(b[1] - a[1]))) + 2
        for t in np.linspace(0.0, 1.0, count):
            x = int(a[0] + t * (b[0] - a[0]))
            y = int(a[1] + t * (b[1] - a[1]))
            near[max(0, y - 1) : y + 2, max(0, x - 1) : x + 2] = True
    return near


@pytest.mark.parametrize("fmt", ["yolo", "yolo-seg"])
def test_ultralytics_loads_every_label(rendered, exports, fresh_copy, fmt):
    pytest.importorskip("ultralytics")
    from ultralytics.data import YOLODataset
    from ultralytics.data.utils import check_det_dataset, load_dataset_cache_file, polygon2mask

    mask_api = pytest.importorskip("pycocotools.mask")
    folder = fresh_copy(exports[fmt])
    data = check_det_dataset(os.path.join(folder, "data.yaml"), autodownload=False)
    assert list(data["names"].values()) == thing_names(rendered)
    indices = {
        c_id: i
        for i, c_id in enumerate(
            sorted(k for k, c in class_table(rendered).items() if not c.get("stuff"))
        )
    }
    by_name = {p["name"]: p["frame"] for p in plans(folder)}
    task = "segment" if fmt == "yolo-seg" else "detect"
    seen = 0
    for split in ("train", "val"):
        dataset = YOLODataset(img_path=data[split], data=data, task=task, augment=False)
        found, missing, empty, corrupt, total = load_dataset_cache_file(
            pathlib.Path(dataset.label_files[0]).parent.with_suffix(".cache")
        )["results"]
        assert (missing, corrupt) == (0, 0)
        assert found + empty == total == len(dataset.labels)
        for label in dataset.labels:
            frame = by_name[os.path.splitext(os.path.basename(label["im_file"]))[0]]
            frame_meta, instance = frame_truth(rendered, frame)
            things = visible_things(rendered, frame_meta)
            height, width = instance.shape
            boxes = label["bboxes"] * np.array([width, height, width, height])
            got = sorted(
                (int(c), *np.round(b, 3).tolist())
                for c, b in zip(label["cls"].ravel(), boxes, strict=True)
            )
            expected = sorted(
                (indices[i["class_id"]], x + w / 2, y + h / 2, float(w), float(h))
                for i in things
                for x, y, w, h in [i["bbox"]]
            )
            assert len(got) == len(expected)
            assert np.allclose(np.array(got), np.array(expected), atol=2e-3), (frame, got, expected)
            if task == "segment":
                assert len(label["segments"]) == len(things)
                for segment, cls in zip(label["segments"], label["cls"].ravel(), strict=True):
                    points = np.asarray(segment, dtype=np.float64) * (width, height)
                    # pycocotools fills pixels whose centre is inside: the exact mask.
                    rle = mask_api.frPyObjects([points.ravel().tolist()], height, width)
                    exact = mask_api.decode(rle)[:, :, 0].astype(bool)
                    ids, counts = np.unique(instance[exact], return_counts=True)
                    instance_id = int(ids[np.argmax(counts)])
                    truth = instance == instance_id
                    assert np.array_equal(exact, truth), (frame, instance_id)
                    # Ultralytics' own training rasteriser (OpenCV fillPoly): the mask up
                    # to one pixel at the boundary and along bridges.
                    filled = polygon2mask((height, width), [points.round().ravel()]).astype(bool)
                    allowed = boundary_band(truth) | bridge_pixels(points.round(), truth.shape)
                    assert not np.any((filled != truth) & ~allowed), (frame, instance_id)
                    assert indices[
                        next(i["class_id"] for i in things if i["id"] == instance_id)
                    ] == int(cls)
            seen += 1
    assert seen == len(plans(folder))


@pytest.mark.parametrize(
    ("fmt", "model"), [("yolo-seg", "yolov8n-seg.yaml"), ("yolo", "yolov8n.yaml")]
)
def test_ultralytics_trains_one_epoch(exports, fresh_copy, tmp_path, fmt, model):
    pytest.importorskip("ultralytics")
    from ultralytics import YOLO

    folder = fresh_copy(exports[fmt])
    instances = []
    yolo = YOLO(model)  # built from the package's model YAML: no weights downloaded
    yolo.add_callback(
        "on_train_epoch_start",
        lambda trainer: instances.append(
            sum(len(x["cls"]) for x in trainer.train_loader.dataset.labels)
        ),
    )
    yolo.train(
        data=os.path.join(folder, "data.yaml"),
        epochs=1,
        imgsz=128,
        batch=4,
        device="cpu",
        workers=0,
        plots=False,
        amp=False,
        pretrained=False,
        project=str(tmp_path / "runs"),
        name="train",
        exist_ok=True,
        seed=0,
        verbose=False,
    )
    run = tmp_path / "runs" / "train"
    assert (run / "weights" / "last.pt").is_file()
    with open(run / "results.csv") as file:
        header, *rows = [line.strip().split(",") for line in file]
    assert len(rows) == 1
    losses = {
        k.strip(): float(v)
        for k, v in zip(header, rows[0], strict=True)
        if "loss" in k and k.startswith("train")
    }
    assert losses and all(np.isfinite(v) and v > 0 for k, v in losses.items() if "sem" not in k)
    expected = 0
    for plan in plans(folder):
        if plan["split"] == "train":
            with open(os.path.join(folder, "labels", "train", plan["name"] + ".txt")) as file:
                expected += len(file.read().splitlines())
    assert instances == [expected]


# ---------------------------------------------------------------------------
# Datumaro
# ---------------------------------------------------------------------------


def datumaro_import(folder, fmt, **options):
    dm = pytest.importorskip("datumaro")
    dataset = dm.Dataset.import_from(folder, fmt, **options)
    return dm, dataset, dataset.categories()[dm.AnnotationType.label]


def expected_boxes(rendered, frame, name_of):
    frame_meta, _ = frame_truth(rendered, frame)
    return sorted(
        (name_of(i["class_id"]), *map(float, i["bbox"]))
        for i in visible_things(rendered, frame_meta)
    )


def test_datumaro_reads_voc(rendered, exports):
    _, dataset, labels = datumaro_import(
        exports["voc"], "voc_detection", coordinate_mode="voc-one-based"
    )
    names = {k: c["name"] for k, c in class_table(rendered).items()}
    frames = {p["name"]: p for p in plans(exports["voc"])}
    for split in ("train", "val"):
        items = list(dataset.get_subset(split))
        assert sorted(i.id for i in items) == sorted(
            n for n, p in frames.items() if p["split"] == split
        )
        for item in items:
            frame = frames[item.id]["frame"]
            got = sorted((labels[a.label].name, *a.get_bbox()) for a in item.annotations)
            assert got == expected_boxes(rendered, frame, names.get)
            for a in item.annotations:
                name, attributes = labels[a.label].name, a.attributes
                if name == "Cone":  # always in full view, in front of everything
                    assert not attributes["occluded"]
                if name == "Ball":  # always behind the pole
                    assert attributes["occluded"]
                if name == "Box" and a.get_bbox()[2] < 8:  # a sliver left in the picture
                    assert attributes["truncated"] and attributes["difficult"]
                if name == "Box" and a.get_bbox()[0] > 0:  # well inside the picture
                    assert not attributes["truncated"]


def test_datumaro_reads_kitti(rendered, exports):
    _, dataset, labels = datumaro_import(exports["kitti"], "kitti_detection")
    names = {k: c["name"].replace(" ", "_") for k, c in class_table(rendered).items()}
    frames = {p["name"]: p["frame"] for p in plans(exports["kitti"])}
    assert sorted(i.id for i in dataset) == sorted(frames)
    for item in dataset:
        got = sorted((labels[a.label].name, *a.get_bbox()) for a in item.annotations)
        assert got == expected_boxes(rendered, frames[item.id], names.get)
        for a in item.annotations:
            if labels[a.label].name == "Ball":
                assert a.attributes["occluded"]
            if labels[a.label].name == "Cone":
                assert not a.attributes["occluded"]


def test_datumaro_reads_mot(rendered, exports):
    _, dataset, labels = datumaro_import(exports["mot"], "mot_seq")
    assert [labels[i].name for i in range(len(labels))] == thing_names(rendered)
    frames = {p["index"] + 1: p["frame"] for p in plans(exports["mot"])}
    assert sorted(int(i.id) for i in dataset) == sorted(frames)
    for item in dataset:
        frame_meta, _ = frame_truth(rendered, frames[int(item.id)])
        things = {i["id"]: i for i in visible_things(rendered, frame_meta)}
        assert sorted(a.attributes["track_id"] for a in item.annotations) == sorted(things)
        for a in item.annotations:
            truth = things[a.attributes["track_id"]]
            assert a.get_bbox() == list(map(float, truth["bbox"]))
            assert labels[a.label].name == class_table(rendered)[truth["class_id"]]["name"]
            assert 0.0 < a.attributes["visibility"] <= truth["visible_fraction"] + 1e-6


def test_datumaro_reads_coco_panoptic(rendered, exports):
    dm, dataset, labels = datumaro_import(exports["coco-panoptic"], "coco_panoptic")
    table = class_table(rendered)
    frames = {p["name"]: p for p in plans(exports["coco-panoptic"])}
    assert sorted(i.id for i in dataset) == sorted(frames)
    masks = 0
    for item in dataset:
        assert item.subset == frames[item.id]["split"]
        frame_meta, instance = frame_truth(rendered, frames[item.id]["frame"])
        classes = {i["id"]: i["class_id"] for i in frame_meta["instances"]}
        seen = set()
        for a in item.annotations:
            assert a.type == dm.AnnotationType.mask
            name = labels[a.label].name
            class_id = next(k for k, c in table.items() if c["name"] == name)
            if table[class_id].get("stuff"):
                assert a.id == panoptic.STUFF_ID_BASE + class_id
                truth = np.isin(instance, [i for i, c in classes.items() if c == class_id])
            else:
                assert classes[a.id] == class_id
                truth = instance == a.id
            assert np.array_equal(a.image.astype(bool), truth)
            seen.add(a.id)
            masks += 1
        visible = {i["id"] for i in frame_meta["instances"] if i["visible_pixels"]}
        things = {i for i in visible if not table[classes[i]].get("stuff")}
        assert things <= seen
    assert masks > 20
