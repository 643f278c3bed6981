"""dataset.reader on a synthetic dataset folder."""

import os
import subprocess
import sys

import numpy as np
import pytest

from ground_truth.codecs import depth_mm, exr, png
from ground_truth.dataset import description as dataset
from ground_truth.dataset import layout, meta, reader
from ground_truth.errors import DatasetError

HEIGHT, WIDTH = 12, 17
# The channels of flow/NNNNNN.exr, as the README states them.
FLOW_CHANNELS = tuple(f"{way}.{c}" for way in ("forward", "backward") for c in ("X", "Y", "valid"))
RNG = np.random.default_rng(3)


def _write(root, kind, frame, writer):
    path = layout.frame_path(root, kind, frame)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    writer(path)


def make_dataset(root):
    """Frames 1 and 4 are complete; frame 2 has only an RGBA image."""
    data = dataset.build(
        classes=[{"id": 1, "name": "car", "color": (1.0, 0.0, 0.0)}],
        instances=[{"id": 3, "object": "Car", "class_id": 1}],
        frames=[4, 1, 2],
        blender_version="5.0.1",
        scene="Scene",
        resolution=(WIDTH, HEIGHT),
    )
    dataset.write(root, data)
    arrays = {}
    for frame in (1, 4):
        rgb = RNG.integers(0, 256, (HEIGHT, WIDTH, 3)).astype(np.uint8)
        depth = RNG.uniform(0.5, 80.0, (HEIGHT, WIDTH)).astype(np.float32)
        depth[0, :] = np.inf
        klass = np.zeros((HEIGHT, WIDTH), dtype=np.uint16)
        klass[3:6, 2:9] = 1
        instance = np.where(klass > 0, 3, 0).astype(np.uint16)
        _write(root, "rgb", frame, lambda p, a=rgb: png.write_png(p, a))
        _write(root, "depth", frame, lambda p, a=depth: exr.write_exr(p, {"Y": a}))
        _write(root, "class", frame, lambda p, a=klass: png.write_png(p, a))
        _write(root, "instance", frame, lambda p, a=instance: png.write_png(p, a))
        part = np.where(klass > 0, 4, 0).astype(np.uint16)
        _write(root, "part", frame, lambda p, a=part: png.write_png(p, a))
        normal = RNG.normal(size=(HEIGHT, WIDTH, 3)).astype(np.float32)
        channels = {axis: normal[..., i] for i, axis in enumerate("XYZ")}
        _write(root, "normal", frame, lambda p, c=channels: exr.write_exr(p, c))
        flow = RNG.normal(size=(HEIGHT, WIDTH, 6)).astype(np.float32)
        flow[..., 2] = flow[..., 2] > 0
        flow[..., 5] = flow[..., 5] > 0
        channels = {name: flow[..., i] for i, name in enumerate(FLOW_CHANNELS)}
        _write(root, "flow", frame, lambda p, c=channels: exr.write_exr(p, c))
        millimetres = depth_mm.depth_to_mm_png_array(depth)
        _write(root, "depth_mm", frame, lambda p, a=millimetres: png.write_png(p, a))
        meta.write_meta(root, frame, {"frame": frame, "width": WIDTH, "height": HEIGHT})
        arrays[frame] = {
            "rgb": rgb,
            "depth": depth,
            "class": klass,
            "instance": instance,
            "part": part,
            "normal": normal,
            "flow": flow,
        }
    rgba = RNG.integers(0, 256, (HEIGHT, WIDTH, 4)).astype(np.uint8)
    _write(root, "rgb", 2, lambda p: png.write_png(p, rgba))
    arrays[2] = {"rgba": rgba}
    return arrays


KEYS = {
    "frame",
    "rgb",
    "alpha",
    "depth",
    "depth_mm",
    "class",
    "instance",
    "part",
    "normal",
    "flow",
    "flow_valid",
    "flow_back",
    "flow_back_valid",
    "meta",
    "amodal",
}


@pytest.mark.parametrize("backend", ["auto", "openexr", "builtin"])
def test_load_frame_dtypes_shapes_values(tmp_path, backend):
    root = str(tmp_path)
    arrays = make_dataset(root)
    sample = reader.load_frame(root, 4, exr_backend=backend)
    assert set(sample) == KEYS
    assert sample["frame"] == 4
    assert sample["rgb"].dtype == np.uint8 and sample["rgb"].shape == (HEIGHT, WIDTH, 3)
    assert sample["alpha"] is None
    assert sample["depth"].dtype == np.float32 and sample["depth"].shape == (HEIGHT, WIDTH)
    for key in ("class", "instance", "part", "depth_mm"):
        assert sample[key].dtype == np.uint16 and sample[key].shape == (HEIGHT, WIDTH)
    assert np.array_equal(sample["rgb"], arrays[4]["rgb"])
    assert np.array_equal(sample["depth"], arrays[4]["depth"])  # inf background kept
    assert np.isinf(sample["depth"][0]).all()
    assert np.array_equal(sample["class"], arrays[4]["class"])
    assert np.array_equal(sample["instance"], arrays[4]["instance"])
    assert np.array_equal(sample["part"], arrays[4]["part"])
    assert sample["normal"].dtype == np.float32
    assert np.array_equal(sample["normal"], arrays[4]["normal"])
    flow = arrays[4]["flow"]
    assert sample["flow"].dtype == np.float32 and sample["flow"].shape == (HEIGHT, WIDTH, 2)
    assert np.array_equal(sample["flow"], flow[..., :2])
    assert np.array_equal(sample["flow_valid"], flow[..., 2] > 0)
    assert np.array_equal(sample["flow_back"], flow[..., 3:5])
    assert np.array_equal(sample["flow_back_valid"], flow[..., 5] > 0)
    assert np.array_equal(sample["depth_mm"], depth_mm.depth_to_mm_png_array(arrays[4]["depth"]))
    assert sample["meta"] == {"frame": 4, "width": WIDTH, "height": HEIGHT}


def test_missing_files_give_none_and_rgba_is_split(tmp_path):
    root = str(tmp_path)
    arrays = make_dataset(root)
    sample = reader.load_frame(root, 2)
    assert set(sample) == KEYS
    for key in ("depth", "depth_mm", "class", "instance", "part", "normal", "flow", "meta"):
        assert sample[key] is None
    assert sample["amodal"] is None
    assert np.array_equal(sample["rgb"], arrays[2]["rgba"][:, :, :3])
    assert np.array_equal(sample["alpha"], arrays[2]["rgba"][:, :, 3])
    assert reader.load_frame(root, 99)["rgb"] is None


def test_load_dataset_iterates_frames_in_order(tmp_path):
    root = str(tmp_path)
    make_dataset(root)
    assert reader.read_dataset(root)["frames"] == [1, 2, 4]
    assert [s["frame"] for s in reader.load_dataset(root)] == [1, 2, 4]
    with pytest.raises(DatasetError, match=r"no Ground Truth dataset\.json"):
        next(reader.load_dataset(str(tmp_path / "nothing")))


def test_read_depth_channel_choice_and_backends(tmp_path):
    values = RNG.random((4, 5)).astype(np.float32)
    path = str(tmp_path / "single.exr")
    exr.write_exr(path, {"Z": values})
    assert np.array_equal(reader.read_depth(path, "builtin"), values)
    assert np.array_equal(reader.read_depth(path, "openexr"), values)
    exr.write_exr(path, {"A": values, "B": values})
    with pytest.raises(ValueError):
        reader.read_depth(path, "builtin")
    with pytest.raises(ValueError):
        reader.read_depth(path, "fast")


def test_gray_and_16_bit_rgb_are_converted(tmp_path):
    gray16 = (np.arange(12, dtype=np.uint16).reshape(3, 4) * 5000).astype(np.uint16)
    rgb, alpha = reader._rgb_and_alpha(gray16)
    assert rgb.dtype == np.uint8 and rgb.shape == (3, 4, 3) and alpha is None
    assert np.array_equal(rgb[:, :, 0], np.round(gray16 / 257).astype(np.uint8))
    assert np.array_equal(rgb[:, :, 0], rgb[:, :, 2])


def test_auto_falls_back_to_the_builtin_reader_without_openexr(tmp_path, monkeypatch):
    values = RNG.random((4, 5)).astype(np.float32)
    path = str(tmp_path / "depth.exr")
    exr.write_exr(path, {"Y": values})
    monkeypatch.setitem(sys.modules, "OpenEXR", None)  # import now fails
    assert np.array_equal(reader.read_depth(path), values)
    with pytest.raises(ImportError):
        reader.read_depth(path, "openexr")


def test_load_frame_reads_only_the_keys_asked_for(tmp_path):
    root = str(tmp_path)
    arrays = make_dataset(root)
    picture = RNG.integers(0, 256, (HEIGHT, 3 * WIDTH, 3)).astype(np.uint8)
    _write(root, "preview", 4, lambda p: png.write_png(p, picture))
    sample = reader.load_frame(root, 4, keys=("instance", "preview"))
    assert set(sample) == {"frame", "instance", "preview"}
    assert np.array_equal(sample["instance"], arrays[4]["instance"])
    assert np.array_equal(sample["preview"], picture)
    assert "preview" not in reader.load_frame(root, 4)  # for people, not read by default
    assert reader.load_coco(root) is None


def test_the_reader_imports_only_what_reading_needs():
    """A training job that reads a dataset loads the format and its codecs: no label
    maths, geometry, preview pictures (with their font), exporters or Blender."""
    import ground_truth

    link_dir = os.path.dirname(os.path.dirname(os.path.abspath(ground_truth.__file__)))
    script = (
        "import sys\n"
        "import ground_truth.dataset.reader\n"
        "print(' '.join(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('ground_truth', 'bpy'))))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        env={**os.environ, "PYTHONPATH": link_dir},
        capture_output=True,
        text=True,
        check=True,
    )
    loaded = set(done.stdout.split())
    assert "ground_truth.dataset.reader" in loaded
    packages = {name.split(".")[1] for name in loaded if name.count(".") >= 1}
    assert packages <= {"codecs", "dataset", "errors"}, sorted(loaded)
    assert "bpy" not in loaded
