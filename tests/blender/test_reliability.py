"""A dataset never lists a frame it does not hold whole, and never misstates one.

Failed writes (Blender's own included), foreign and hostile folders, labels that changed,
outputs asked for later, damaged files, interrupted indexes and odd render settings, each
checked on the real bpy module: the message, and that nothing else changed.
"""

import json
import math
import os
import signal
import socket

import bpy
import numpy as np
import pytest

from ground_truth.codecs import png
from ground_truth.dataset import coco, reader, records
from ground_truth.errors import GroundTruthError
from ground_truth.render import pipeline, writer_process

from helpers import add_box, add_camera, add_plane, label, snapshot_scene


@pytest.fixture
def stage(scene, out_dir):
    add_camera(scene)
    label([add_box(scene, "Box", (0.0, 0.0, 0.5), (1.0, 1.0, 1.0))], "Box")
    label([add_plane(scene, "Floor")], "Floor")
    scene.frame_start, scene.frame_end = 1, 3
    return scene


def listed(out_dir):
    return json.loads((out_dir / "dataset.json").read_text())["frames"]


def tree(folder):
    """Every file under ``folder`` with its bytes."""
    found = {}
    for root, _dirs, names in os.walk(folder):
        for name in names:
            path = os.path.join(root, name)
            with open(path, "rb") as file:
                found[os.path.relpath(path, folder)] = file.read()
    return found


def coco_is_rebuilt_from_the_files(out_dir):
    written = json.loads((out_dir / "annotations" / "coco_instances.json").read_text())
    return written == coco.coco_from_frames(str(out_dir))


def test_an_rgb_image_that_could_not_be_written_stops_the_run(stage, out_dir):
    # A folder where frame 2's RGB image must go: the frame is neither listed nor in
    # COCO, and no temporary file is left.
    pipeline.render_ground_truth(stage, [1])
    (out_dir / "rgb" / "000002.png").mkdir(parents=True)
    with pytest.raises(GroundTruthError, match=r"rgb/000002\.png: a folder of that name"):
        pipeline.render_ground_truth(stage, [1, 2, 3])
    assert listed(out_dir) == [1]
    assert coco_is_rebuilt_from_the_files(out_dir)
    assert [i["id"] for i in reader.load_coco(out_dir)["images"]] == [1]
    assert sorted(os.listdir(out_dir / "rgb")) == ["000001.png", "000002.png"]


@pytest.fixture
def writers(monkeypatch):
    """The writers the pipeline starts, as it starts them."""
    started = []

    def start(writer, max_pending=2):
        started.append(writer_process.start_writer(writer, max_pending))
        return started[-1]

    monkeypatch.setattr(pipeline, "start_writer", start)
    return started


def running(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.skipif(os.name != "posix", reason="the writer process is POSIX's")
def test_frames_are_converted_in_a_process_of_their_own(stage, out_dir, writers):
    report = pipeline.render_ground_truth(stage)
    (writer,) = writers
    assert isinstance(writer, writer_process.WriterProcess)
    assert writer.pid != os.getpid() and not running(writer.pid)
    assert writer.index_written and not writer.lost
    assert report.frames == listed(out_dir) == [1, 2, 3]
    # Records name Blender's process (the one that rendered), not the writer's.
    assert {records.read_record(str(out_dir), f)["process"] for f in (1, 2, 3)} == {records.owner()}
    assert coco_is_rebuilt_from_the_files(out_dir)
    sample = reader.load_frame(out_dir, 2, exr_backend="builtin")
    assert set(np.unique(sample["instance"])) == {1, 2}


@pytest.mark.skipif(os.name != "posix", reason="the writer process is POSIX's")
def test_a_writer_process_killed_mid_run_stops_it_and_resume_completes_it(stage, out_dir, writers):
    stage.frame_end = 4

    def kill_writer(done, total, frame):
        if frame == 3:  # frames 1 and 2 handed over, maybe finished
            os.kill(writers[0].pid, signal.SIGKILL)

    before = snapshot_scene(stage)
    with pytest.raises(GroundTruthError, match=r"writer process was killed .* to resume"):
        pipeline.render_ground_truth(stage, progress=kill_writer)
    assert snapshot_scene(stage) == before
    frames = listed(out_dir)
    assert set(frames) <= {1, 2}
    for frame in frames:
        reader.load_frame(out_dir, frame, exr_backend="builtin")
    assert coco_is_rebuilt_from_the_files(out_dir)
    left = [
        name
        for _root, _dirs, names in os.walk(out_dir)
        for name in names
        if ".tmp-" in name or name.endswith(".claim") or name == ".lock"
    ]
    assert left == [] and not (out_dir / ".raw").exists()
    report = pipeline.render_ground_truth(stage, resume=True)
    assert listed(out_dir) == [1, 2, 3, 4]
    assert report.skipped == frames
    assert coco_is_rebuilt_from_the_files(out_dir)


def test_an_image_copy_blender_did_not_write_stops_the_run(stage, out_dir):
    # A folder in the way of frame 2's uncompressed image copy: Blender reports an
    # error but finishes the render; the frame is not listed and the run says why.
    pipeline.render_ground_truth(stage, [1])
    (out_dir / ".raw" / records.owner() / "000002.bmp").mkdir(parents=True)
    with pytest.raises(GroundTruthError, match=r"Blender did not write \S+000002\.bmp: a folder"):
        pipeline.render_ground_truth(stage, [1, 2, 3])
    assert listed(out_dir) == [1]
    assert not (out_dir / "rgb" / "000002.png").exists()


def test_a_folder_of_files_ground_truth_did_not_write_is_refused(stage, out_dir):
    (out_dir / "meta").mkdir(parents=True)
    mine = {"rgb/000001.png": b"user image", "meta/000001.json": b"{}", "a.txt": b"x"}
    for name, data in mine.items():
        (out_dir / name).parent.mkdir(parents=True, exist_ok=True)
        (out_dir / name).write_bytes(data)
    with pytest.raises(GroundTruthError, match="did not write"):
        pipeline.render_ground_truth(stage, [1])
    assert tree(out_dir) == mine


def test_links_inside_a_dataset_are_never_written_through(stage, out_dir, tmp_path):
    pipeline.render_ground_truth(stage, [1])
    outside = tmp_path / "outside.png"
    outside.write_bytes(b"precious")
    target = out_dir / "rgb" / "000002.png"
    target.symlink_to(outside)
    with pytest.raises(GroundTruthError, match="symbolic link"):
        pipeline.render_ground_truth(stage, [2])
    assert outside.read_bytes() == b"precious" and target.is_symlink()
    # A dataset folder that is itself a link elsewhere is refused too.
    (out_dir / "depth").rename(tmp_path / "depth")
    (out_dir / "depth").symlink_to(tmp_path / "depth")
    with pytest.raises(GroundTruthError, match="never through links"):
        pipeline.render_ground_truth(stage, [1])


def test_a_run_with_other_labels_is_refused_naming_the_change(stage, out_dir):
    pipeline.render_ground_truth(stage, [1, 2])
    before = tree(out_dir)
    label([add_box(stage, "Crate", (2.0, 0.0, 0.5), (1.0, 1.0, 1.0))], "Box")
    with pytest.raises(GroundTruthError, match="'Crate' is newly labelled"):
        pipeline.render_ground_truth(stage, [2])
    assert tree(out_dir) == before
    # Rendering all of the dataset's frames again replaces them, labels and all.
    pipeline.render_ground_truth(stage, [1, 2])
    data = json.loads((out_dir / "dataset.json").read_text())
    assert "Crate" in {i["object"] for i in data["instances"]} and data["frames"] == [1, 2]


def test_another_blend_file_of_the_same_name_is_refused(stage, out_dir, tmp_path):
    stage.ground_truth.output_dir = str(out_dir) + "/"
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "a" / "shot.blend"))
    assert bpy.ops.ground_truth.render() == {"FINISHED"}
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "b" / "shot.blend"))
    with pytest.raises(RuntimeError, match=r"a/shot\.blend, not \.\./b/shot\.blend"):
        bpy.ops.ground_truth.render()


def test_resume_renders_frames_that_lack_an_output_the_run_asks_for(stage, out_dir):
    pipeline.render_ground_truth(stage, [1, 2, 3])
    report = pipeline.render_ground_truth(stage, [1, 2, 3], resume=True)
    assert report.skipped == [1, 2, 3] and report.frames == []
    stage.ground_truth.output_depth_mm = True
    report = pipeline.render_ground_truth(stage, [1, 2, 3], resume=True)
    assert report.frames == [1, 2, 3]
    stage.ground_truth.output_visible_fraction = True
    report = pipeline.render_ground_truth(stage, [2], resume=True)
    assert report.frames == [2]
    meta = reader.load_frame(out_dir, 2, keys=["meta"])["meta"]
    assert all("visible_fraction" in i for i in meta["instances"])


def test_a_damaged_file_is_rendered_again_by_resume(stage, out_dir):
    pipeline.render_ground_truth(stage, [1, 2])
    (out_dir / "meta" / "000002.json").write_text('{"frame": 2, "inst')  # cut short
    report = pipeline.render_ground_truth(stage, [1, 2], resume=True)
    assert report.skipped == [1] and report.frames == [2]
    assert reader.load_frame(out_dir, 2)["meta"]["frame"] == 2
    # A damaged file is named by the reader, never read as something else.
    (out_dir / "depth" / "000001.exr").write_bytes(b"garbage")
    with pytest.raises(GroundTruthError, match=r"depth/000001\.exr"):
        reader.load_frame(out_dir, 1)


def test_an_interrupted_index_is_repaired_even_with_nothing_to_render(stage, out_dir):
    pipeline.render_ground_truth(stage, [1, 2, 3])
    # Killed between dataset.json and COCO, after frame 1: COCO lists one frame.
    document = json.loads((out_dir / "annotations" / "coco_instances.json").read_text())
    document["images"] = document["images"][:1]
    (out_dir / "annotations" / "coco_instances.json").write_text(json.dumps(document))
    report = pipeline.render_ground_truth(stage, [1, 2, 3], resume=True)
    assert report.frames == [] and report.skipped == [1, 2, 3]
    assert coco_is_rebuilt_from_the_files(out_dir)


def test_what_killed_processes_left_is_removed_by_the_next_run(stage, out_dir):
    pipeline.render_ground_truth(stage, [1])
    dead = f"{socket.gethostname()}-{2**22 + 12345}"  # no such process
    leftovers = [
        out_dir / f".dataset.json.tmp-{dead}",
        out_dir / "depth" / f".000002.exr.tmp-{dead}",
        out_dir / ".raw" / dead / "000002.exr",
        out_dir / ".frames" / "000002.claim",
    ]
    for path in leftovers:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dead)
    pipeline.render_ground_truth(stage, [2])
    assert not [p for p in leftovers if p.exists()]
    assert not (out_dir / ".raw").exists() and not (out_dir / ".lock").exists()
    assert listed(out_dir) == [1, 2]


def test_class_ids_set_twice_from_a_script_are_refused(stage, out_dir):
    stage.ground_truth.classes[1].id = stage.ground_truth.classes[0].id
    before = snapshot_scene(stage)
    with pytest.raises(GroundTruthError, match="class IDs must be unique"):
        pipeline.render_ground_truth(stage, [1])
    assert snapshot_scene(stage) == before and not out_dir.exists()


def huge(scene):
    scene.render.resolution_x = scene.render.resolution_y = 20000


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda s: setattr(s.render, "resolution_percentage", 1), r"would be 0x0"),
        (lambda s: setattr(s.camera, "location", (math.nan, 0.0, 5.0)), "not a number"),
        (lambda s: setattr(s.camera, "scale", (0.0, 1.0, 1.0)), "scaled to 0"),
        (lambda s: setattr(s.render, "use_multiview", True), "Stereoscopy"),
        (lambda s: setattr(s.objects["Box"], "location", (0.0, math.nan, 0.0)), "not a number"),
        (huge, "GiB"),
    ],
)
def test_settings_nothing_can_render_are_named_before_anything_changes(
    stage, out_dir, change, message
):
    change(stage)
    before = snapshot_scene(stage)
    with pytest.raises(GroundTruthError, match=message):
        pipeline.render_ground_truth(stage, [1])
    assert snapshot_scene(stage) == before and not out_dir.exists()


def test_an_orthographic_scale_of_zero_is_named(stage, out_dir):
    stage.camera.data.type = "ORTHO"
    stage.camera.data.ortho_scale = 0.0
    if stage.camera.data.ortho_scale > 0.0:
        pytest.skip("this Blender keeps the orthographic scale above 0")
    with pytest.raises(GroundTruthError, match="orthographic scale"):
        pipeline.render_ground_truth(stage, [1])


@pytest.mark.parametrize(
    ("name", "message"),
    [("x" * 300, "bytes long"), ("run{frame}", "path pattern"), ("a\\b", "path pattern")],
)
def test_folder_names_no_file_system_or_blender_takes_are_named(stage, tmp_path, name, message):
    stage.ground_truth.output_dir = str(tmp_path / name) + "/"
    with pytest.raises(GroundTruthError, match=message):
        pipeline.render_ground_truth(stage, [1])
    assert os.listdir(tmp_path) == []


def test_frames_beyond_blenders_last_are_refused(stage, out_dir):
    with pytest.raises(GroundTruthError, match="beyond Blender's last frame"):
        pipeline.render_ground_truth(stage, [1, 1048575])


# Resolution, percentage, render region (min x, max x, min y, max y, crop) and pixel
# aspect: the images, dataset.json, meta and K must agree with what Blender writes.
GRID = [
    (64, 48, 100, None, (1.0, 1.0)),
    (65, 49, 70, None, (1.0, 1.0)),
    (1280, 720, 70, None, (1.0, 1.0)),  # 503.99... in floats, 504 in Blender
    (33, 17, 33, None, (1.0, 1.0)),
    (64, 48, 100, (0.25, 0.75, 0.1, 0.6, True), (1.0, 1.0)),
    (65, 49, 50, (0.3, 0.71, 0.13, 0.57, True), (1.0, 1.0)),
    (64, 48, 100, (0.25, 0.75, 0.1, 0.6, False), (1.0, 1.0)),
    (60, 40, 100, None, (2.0, 1.0)),
    (61, 41, 100, (0.2, 0.9, 0.3, 0.8, True), (1.0, 3.0)),
]


def expected_map(meta, entries, shape):
    """The instance ID each pixel centre's ray meets first among the boxes (slab test),
    through the meta's own K and extrinsics: an oracle independent of the render."""
    rows, cols = np.mgrid[0 : shape[0], 0 : shape[1]]
    pixels = np.stack([cols + 0.5, rows + 0.5, np.ones(shape)], axis=-1).reshape(-1, 3)
    camera_to_world = np.linalg.inv(np.array(meta["camera"]["world_to_camera_cv"]))
    directions = pixels @ np.linalg.inv(np.array(meta["camera"]["K"])).T
    directions = directions @ camera_to_world[:3, :3].T
    origin = camera_to_world[:3, 3]
    nearest = np.full(len(pixels), np.inf)
    ids = np.zeros(len(pixels), dtype=np.int64)
    for entry in entries:
        corners = np.array(entry["box3d_world"])
        low, high = corners.min(axis=0), corners.max(axis=0)  # axis-aligned boxes
        with np.errstate(divide="ignore", invalid="ignore"):
            near = (low - origin) / directions
            far = (high - origin) / directions
        enter = np.nanmax(np.minimum(near, far), axis=1)
        leave = np.nanmin(np.maximum(near, far), axis=1)
        hit = (enter <= leave) & (leave > 0) & (enter < nearest)
        nearest[hit] = enter[hit]
        ids[hit] = entry["id"]
    return ids.reshape(shape)


@pytest.mark.parametrize(("width", "height", "percentage", "region", "aspect"), GRID)
def test_image_size_and_k_are_those_of_the_images_blender_writes(
    scene, out_dir, width, height, percentage, region, aspect
):
    render = scene.render
    render.resolution_x, render.resolution_y = width, height
    render.resolution_percentage = percentage
    render.pixel_aspect_x, render.pixel_aspect_y = aspect
    if region is not None:
        x0, x1, y0, y1, crop = region
        render.use_border, render.use_crop_to_border = True, crop
        render.border_min_x, render.border_max_x = x0, x1
        render.border_min_y, render.border_max_y = y0, y1
    scene.cycles.filter_width = 0.01  # the first sample exactly at the pixel centre
    add_camera(scene, location=(0.0, 0.0, 10.0), rotation=(0.3, -0.2, 0.1))
    # A grid of boxes over the view, each seen where K and the extrinsics put it.
    boxes = [
        add_box(scene, f"B{x}_{y}", (x, y, 0.0), (0.7, 0.7, 0.7))
        for x in range(-5, 6)
        for y in range(-4, 5)
    ]
    label(boxes, "Box")
    assert pipeline.render_ground_truth(scene, [1], labels_only=True).frames == [1]
    instance = png.read_png(out_dir / "instance" / "000001.png")
    meta = json.loads((out_dir / "meta" / "000001.json").read_text())
    data = json.loads((out_dir / "dataset.json").read_text())
    rows, cols = instance.shape
    assert (meta["width"], meta["height"]) == (cols, rows)
    assert (data["resolution"]["width"], data["resolution"]["height"]) == (cols, rows)
    image = bpy.data.images.load(str(out_dir / "instance" / "000001.png"))
    assert tuple(image.size) == (cols, rows)  # as Blender itself reads the file
    bpy.data.images.remove(image)
    expected = expected_map(meta, meta["instances"], instance.shape)
    if region is not None and not region[4]:
        # Not cropped: the image is the whole frame, rendered inside the region only.
        x0, x1 = int(np.float32(region[0]) * cols), int(np.float32(region[1]) * cols)
        y0, y1 = int(np.float32(region[2]) * rows), int(np.float32(region[3]) * rows)
        outside = np.ones(instance.shape, dtype=bool)
        outside[rows - y1 : rows - y0, x0:x1] = False
        expected[outside] = 0
    assert (expected > 0).sum() >= 3
    assert (instance != expected).sum() <= 0.01 * instance.size + 1
