"""Exports, check and stats on a real render of the animated demo scene.

KITTI's 3D boxes are rebuilt with the KITTI devkit's corner formula and projected with
the exported P2; ``check`` gets a corruption suite; ``stats`` is compared with the COCO
file the renderer wrote; the command runs in a plain Python without bpy.
"""

import json
import math
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from export_helpers import frame_truth, load_json, run_cli

from ground_truth.codecs import exr, png
from ground_truth.export import common

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def kitti_corners(h, w, l_, x, y, z, ry):
    """The KITTI devkit's ``computeBox3D``: 3x8 corners in the camera frame."""
    xs = [l_ / 2, l_ / 2, -l_ / 2, -l_ / 2, l_ / 2, l_ / 2, -l_ / 2, -l_ / 2]
    ys = [0, 0, 0, 0, -h, -h, -h, -h]
    zs = [w / 2, -w / 2, -w / 2, w / 2, w / 2, -w / 2, -w / 2, w / 2]
    rotation = np.array(
        [[math.cos(ry), 0, math.sin(ry)], [0, 1, 0], [-math.sin(ry), 0, math.cos(ry)]]
    )
    return rotation @ np.array([xs, ys, zs]) + np.array([[x], [y], [z]])


def convex_hull(points):
    """Andrew's monotone chain; counter-clockwise hull of 2D points."""
    points = sorted(map(tuple, points))

    def half(sequence):
        hull = []
        for p in sequence:
            while (
                len(hull) >= 2
                and (
                    (hull[-1][0] - hull[-2][0]) * (p[1] - hull[-2][1])
                    - (hull[-1][1] - hull[-2][1]) * (p[0] - hull[-2][0])
                )
                <= 0
            ):
                hull.pop()
            hull.append(p)
        return hull

    return np.array(half(points)[:-1] + half(points[::-1])[:-1])


def inside_polygon(polygon, xs, ys):
    """Even-odd test of points (xs, ys) against a closed polygon (crossing number)."""
    inside = np.zeros(xs.shape, dtype=bool)
    for (x0, y0), (x1, y1) in zip(polygon, np.roll(polygon, -1, axis=0), strict=True):
        crosses = (y0 > ys) != (y1 > ys)
        with np.errstate(divide="ignore", invalid="ignore"):
            at = x0 + (ys - y0) * (x1 - x0) / (y1 - y0)
        inside ^= crosses & (xs < at)
    return inside


def test_kitti_boxes_project_onto_the_rendered_objects(rendered, exports):
    folder = exports["kitti"]
    checked = 0
    for plan in load_json(os.path.join(folder, common.MANIFEST_FILE))["frames"]:
        frame_meta, instance = frame_truth(rendered, plan["frame"])
        depth = exr.read_exr(os.path.join(rendered, "depth", f"{plan['frame']:06d}.exr"))["Y"]
        height, width = instance.shape
        rows, cols = np.mgrid[:height, :width]
        with open(os.path.join(folder, "training", "calib", plan["name"] + ".txt")) as file:
            calib = {
                k: np.array(v.split(), float) for k, v in (line.split(":", 1) for line in file)
            }
        p2 = calib["P2"].reshape(3, 4)
        # The camera's pitch: the angle between world up and the camera's -y axis.
        up = np.array(frame_meta["camera"]["world_to_camera_cv"])[:3, :3] @ [0, 0, 1]
        pitch = math.acos(min(1.0, -up[1]))
        with open(os.path.join(folder, "training", "label_2", plan["name"] + ".txt")) as file:
            rows_text = [line.split() for line in file]
        for fields in rows_text:
            left, top, right, bottom = map(float, fields[4:8])
            h, w, l_, x, y, z, ry = map(float, fields[8:15])
            entry = next(
                i for i in frame_meta["instances"] if i["bbox"] and i["bbox"][:2] == [left, top]
            )
            mask = instance == entry["id"]
            if mask.sum() < 100:
                continue  # a sliver at the border
            corners = kitti_corners(h, w, l_, x, y, z, ry)
            projected = p2 @ np.vstack([corners, np.ones(8)])
            uv = (projected[:2] / projected[2]).T
            hull = convex_hull(uv)
            covered = inside_polygon(hull, cols[mask] + 0.5, rows[mask] + 0.5).mean()
            # The box turns about the camera's y axis only; the demo camera is pitched 15
            # degrees, so the box is the object's box turned by the pitch about its centre.
            assert covered >= 0.8, (plan["frame"], fields[0], covered)
            u0, v0 = np.clip(uv.min(axis=0), 0, (width, height))
            u1, v1 = np.clip(uv.max(axis=0), 0, (width, height))
            overlap = max(0, min(u1, right) - max(u0, left)) * max(
                0, min(v1, bottom) - max(v0, top)
            )
            union = (u1 - u0) * (v1 - v0) + (right - left) * (bottom - top) - overlap
            assert overlap / union >= 0.7, (plan["frame"], fields[0])
            # The rendered depth of the object's pixels is the box's depth.
            slack = 0.5 * (l_ + w) + h * math.sin(pitch)
            assert abs(float(np.median(depth[mask])) - z) < slack
            assert corners[2].min() - h * math.sin(pitch) <= np.min(depth[mask])
            checked += 1
    assert checked >= 20


def test_kitti_box_is_exact_for_a_level_camera():
    from ground_truth.export.kitti import kitti_box

    rng = np.random.default_rng(1)
    for _ in range(20):
        ry = rng.uniform(-math.pi, math.pi)
        h, w, l_ = rng.uniform(0.5, 4.0, size=3)
        x, y, z = rng.uniform(-5, 5), rng.uniform(0, 2), rng.uniform(5, 40)
        corners = kitti_corners(h, w, l_, x, y, z, ry).T
        # In Blender's bound_box order (local x = length, y = width, z = up).
        order = [2, 6, 7, 3, 1, 5, 4, 0]
        box = kitti_box(corners[order])
        assert (box["h"], box["w"], box["l"]) == pytest.approx((h, w, l_))
        assert (box["x"], box["y"], box["z"]) == pytest.approx((x, y, z))
        difference = (box["rotation_y"] - ry + math.pi) % (2 * math.pi) - math.pi
        assert difference == pytest.approx(0, abs=1e-9)
        assert box["alpha"] == pytest.approx(
            (ry - math.atan2(x, z) + math.pi) % (2 * math.pi) - math.pi
        )


def copy_dataset(rendered, tmp_path):
    target = tmp_path / "dataset"
    shutil.copytree(rendered, target)
    return str(target)


def test_check_passes_the_rendered_dataset(rendered, capsys):
    assert run_cli(["check", rendered]) == 0
    assert "no problems" in capsys.readouterr().out


def _remove(root):
    os.remove(os.path.join(root, "instance", "000006.png"))
    return "instance/000006.png"


def _change_instance_pixel(root):
    path = os.path.join(root, "instance", "000004.png")
    image = png.read_png(path)
    row, col = np.argwhere(image == 3)[0]
    image[row, col] = 2  # a cone pixel handed to the sphere
    png.write_png(path, image)
    return "meta/000004.json"


def _change_class_pixel(root):
    path = os.path.join(root, "class", "000010.png")
    image = png.read_png(path)
    image[60, 80] = 3 if image[60, 80] != 3 else 1
    png.write_png(path, image)
    return "class/000010.png"


def _stale_coco(root):
    path = os.path.join(root, "annotations", "coco_instances.json")
    document = load_json(path)
    document["annotations"] = document["annotations"][:-1]
    with open(path, "w", encoding="utf-8") as file:
        json.dump(document, file)
    return "annotations/coco_instances.json"


def _wrong_size(root):
    path = os.path.join(root, "depth", "000012.exr")
    exr.write_exr(path, {"Y": np.ones((60, 80), dtype=np.float32)})
    return "depth/000012.exr"


def _wrong_rgb_size(root):
    path = os.path.join(root, "rgb", "000002.png")
    png.write_png(path, np.zeros((120, 161, 3), dtype=np.uint8))
    return "rgb/000002.png"


def _truncated_png(root):
    path = os.path.join(root, "rgb", "000014.png")
    with open(path, "rb") as file:
        data = file.read()
    with open(path, "wb") as file:
        file.write(data[: len(data) // 2])
    return "rgb/000014.png"


def _unknown_class(root):
    path = os.path.join(root, "dataset.json")
    data = load_json(path)
    data["instances"][0]["class_id"] = 4
    with open(path, "w", encoding="utf-8") as file:
        json.dump(data, file)
    return "dataset.json"


@pytest.mark.parametrize(
    "fault",
    [
        _remove,
        _change_instance_pixel,
        _change_class_pixel,
        _stale_coco,
        _wrong_size,
        _wrong_rgb_size,
        _truncated_png,
        _unknown_class,
    ],
)
def test_check_finds_each_planted_fault(rendered, tmp_path, capsys, fault):
    root = copy_dataset(rendered, tmp_path)
    blamed = fault(root)
    assert run_cli(["check", root]) == 1
    err = capsys.readouterr().err
    assert f"problem: {os.path.join(root, blamed)}" in err, err


def test_stats_agree_with_the_coco_file(rendered, tmp_path, capsys):
    coco_module = pytest.importorskip("pycocotools.coco")
    from ground_truth.audit.stats import compute_stats

    stats = compute_stats(rendered)
    api = coco_module.COCO(os.path.join(rendered, "annotations", "coco_instances.json"))
    total = stats.total_pixels
    for entry in stats.classes:
        if entry.id == 0:
            continue
        annotations = api.loadAnns(api.getAnnIds(catIds=[entry.id]))
        assert entry.instances == len(annotations)
        assert entry.pixels == sum(a["area"] for a in annotations)
        assert entry.distinct == {a["instance_id"] for a in annotations}
    background = next(c for c in stats.classes if c.id == 0)
    assert background.pixels == total - sum(a["area"] for a in api.loadAnns(api.getAnnIds()))
    assert len(stats.visible_fractions) == len(api.getAnnIds())
    picture = tmp_path / "stats.png"
    assert run_cli(["stats", rendered, "--picture", str(picture)]) == 0
    assert "Torus Ring" in capsys.readouterr().out
    assert png.read_png(str(picture)).shape[2] == 3


def test_export_runs_in_plain_python_without_bpy(rendered, tmp_path):
    """What a training machine does: no Blender, the extension's parent folder on the path."""
    link_dir = tmp_path / "extensions"
    link_dir.mkdir()
    os.symlink(REPO, link_dir / "ground_truth")
    script = (
        "import sys, argparse\n"
        f"sys.path.insert(0, {str(link_dir)!r})\n"
        "from ground_truth.commands import dataset_commands as c\n"
        "parser = argparse.ArgumentParser()\n"
        "c.add_export_parser(parser.add_subparsers(dest='command'))\n"
        "code = c.run_export(parser.parse_args(sys.argv[1:]))\n"
        "assert 'bpy' not in sys.modules\n"
        "sys.exit(code)\n"
    )
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            script,
            "export",
            rendered,
            "--format",
            "yolo-seg",
            "-o",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
    )
    assert result.returncode == 0, result.stderr
    assert "Exported 8 frame(s)" in result.stdout
    assert os.path.isfile(tmp_path / "out" / "data.yaml")
