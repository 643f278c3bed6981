"""convert_frame on raw passes made here: the files it writes, with the RGB PNG and the
depth EXR compressed on threads of their own, and a failure on one of those threads."""

import os
import threading

import numpy as np
import pytest
from PIL import Image

from ground_truth.codecs import exr, png
from ground_truth.dataset import layout
from ground_truth.labels import convert, passes

HEIGHT, WIDTH = 12, 16
FRAME = 3


def raw_frame(raw_dir):
    """A frame's raw EXR and image copy as the compositor writes them: two objects (IDs 2
    and 5) in front of the background. Returns the depth, the ID map and the image."""
    os.makedirs(raw_dir, exist_ok=True)
    depth = np.full((HEIGHT, WIDTH), passes.BACKGROUND_DEPTH, np.float32)
    index = np.zeros((HEIGHT, WIDTH), np.float32)
    depth[2:8, 3:10], index[2:8, 3:10] = 4.25, 2
    depth[9:11, 12:15], index[9:11, 12:15] = 7.5, 5
    channels = {"Raw.X": depth, "Raw.Y": index, "Raw.Z": np.full_like(depth, -1.0)}
    exr.write_exr(layout.raw_path(raw_dir, FRAME), channels, compression="NONE")
    image = np.random.default_rng(7).integers(0, 256, (HEIGHT, WIDTH, 3), dtype=np.uint8)
    Image.fromarray(image).save(layout.image_copy_path(raw_dir, FRAME), format="BMP")
    return depth, index.astype(np.uint16), image


def convert_files(root, raw_dir, outputs):
    return convert.convert_frame(
        root,
        FRAME,
        outputs,
        raw_dir=raw_dir,
        unit_scale=1.0,
        lookup=passes.class_lookup({2: 1, 5: 3}),
        class_colors={1: (1.0, 0.0, 0.0), 3: (0.0, 0.0, 1.0)},
        class_names={1: "box", 3: "ball"},
    )


def test_every_file_holds_the_frame(tmp_path):
    root, raw_dir = str(tmp_path / "out"), str(tmp_path / "out" / ".raw")
    depth, ids, image = raw_frame(raw_dir)
    before = threading.active_count()
    labels = convert_files(root, raw_dir, {"rgb", "depth", "class", "instance", "preview"})
    assert threading.active_count() == before  # no thread outlives the frame

    assert np.array_equal(png.read_png(layout.frame_path(root, "rgb", FRAME)), image)
    (written,) = exr.read_exr(layout.frame_path(root, "depth", FRAME)).values()
    assert np.array_equal(written, np.where(ids > 0, depth, np.inf))
    assert np.array_equal(png.read_png(layout.frame_path(root, "instance", FRAME)), ids)
    klass = png.read_png(layout.frame_path(root, "class", FRAME))
    assert np.array_equal(klass, np.select([ids == 2, ids == 5], [1, 3], 0))
    assert os.path.isfile(layout.frame_path(root, "preview", FRAME))
    assert labels.instance_pixels == {2: 42, 5: 6}
    assert not os.listdir(raw_dir)  # the raw files go once the frame is written


def test_a_failed_compression_fails_the_frame(tmp_path):
    root, raw_dir = str(tmp_path / "out"), str(tmp_path / "out" / ".raw")
    raw_frame(raw_dir)
    # A folder where the depth EXR goes: its write fails on its own thread.
    os.makedirs(layout.frame_path(root, "depth", FRAME))
    before = threading.active_count()
    with pytest.raises(OSError):
        convert_files(root, raw_dir, {"rgb", "depth", "class", "instance"})
    assert threading.active_count() == before
    # The frame's raw files stay for the next run; nothing half-written is left.
    assert os.path.isfile(layout.raw_path(raw_dir, FRAME))
    leftovers = [n for _, _, names in os.walk(root) for n in names if ".tmp-" in n]
    assert not leftovers


def test_a_missing_image_copy_fails_before_any_file(tmp_path):
    root, raw_dir = str(tmp_path / "out"), str(tmp_path / "out" / ".raw")
    raw_frame(raw_dir)
    os.remove(layout.image_copy_path(raw_dir, FRAME))
    with pytest.raises(FileNotFoundError, match="image copy"):
        convert_files(root, raw_dir, {"rgb", "depth", "class", "instance"})
    assert not [n for _, _, names in os.walk(root) for n in names if not n.endswith(".exr")]
