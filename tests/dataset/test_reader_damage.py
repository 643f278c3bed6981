"""dataset.reader fed damaged files of every kind: truncated, and with flipped bits.

A damaged file must give a :class:`DatasetError` that names it, or, where the damage
cannot matter, the same arrays as before; never another exception, a wrong array or a
huge allocation. With the frame's record (sizes and CRC-32) every change is caught.
"""

import json
import os
import tracemalloc
import zlib
from pathlib import Path

import numpy as np
import pytest

from ground_truth.codecs import exr, png, rle
from ground_truth.dataset import amodal, description, layout, reader, records
from ground_truth.errors import DatasetError

HEIGHT, WIDTH = 9, 13
RNG = np.random.default_rng(23)
KEYS = ("rgb", "depth", "class", "instance", "normal", "flow", "meta", "amodal", "preview")


def write(path, writer):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    writer(path)


def make_frame(root):
    """One frame with a file of every kind, its record, and dataset.json."""
    description.write(
        root,
        description.build(
            classes=[{"id": 1, "name": "car", "color": (1.0, 0.0, 0.0)}],
            instances=[{"id": 2, "object": "Car", "class_id": 1}],
            frames=[1],
            blender_version="5.0.1",
            scene="Scene",
            resolution=(WIDTH, HEIGHT),
        ),
    )
    ids = np.zeros((HEIGHT, WIDTH), np.uint16)
    ids[2:6, 3:9] = 2
    depth = RNG.uniform(1.0, 9.0, (HEIGHT, WIDTH)).astype(np.float32)
    normal = RNG.normal(size=(HEIGHT, WIDTH, 3)).astype(np.float32)
    flow = RNG.normal(size=(HEIGHT, WIDTH, 6)).astype(np.float32)
    files = {
        "rgb": lambda p: png.write_png(p, RNG.integers(0, 256, (HEIGHT, WIDTH, 3), np.uint8)),
        "depth": lambda p: exr.write_exr(p, {"Y": depth}, zlib_level=1),
        "class": lambda p: png.write_png(p, (ids > 0).astype(np.uint16), filter="up"),
        "instance": lambda p: png.write_png(p, ids, filter="up"),
        "normal": lambda p: exr.write_exr(
            p, {c: normal[..., i] for i, c in enumerate("XYZ")}, compression="NONE"
        ),
        "flow": lambda p: exr.write_exr(
            p,
            {
                f"{w}.{c}": flow[..., 3 * j + i]
                for j, w in enumerate(("forward", "backward"))
                for i, c in enumerate(("X", "Y", "valid"))
            },
            compression="NONE",
        ),
        "meta": lambda p: Path(p).write_text(json.dumps({"frame": 1, "instances": []})),
        "amodal": lambda p: amodal.write_frame(
            root,
            1,
            amodal.frame_document(
                1,
                WIDTH,
                HEIGHT,
                [{"id": 2, "amodal_segmentation": rle.rle_encode(ids > 0), "amodal_pixels": 24}],
            ),
        ),
        "preview": lambda p: png.write_png(p, RNG.integers(0, 256, (HEIGHT, 30, 3), np.uint8)),
    }
    stamps = {}
    for key, writer in files.items():
        path = layout.frame_path(root, key, 1)
        write(path, writer)
        stamps[key] = records.file_stamp(path)
    records.write_record(root, {"frame": 1, "outputs": list(files), "files": stamps})
    return reader.load_frame(root, 1, keys=KEYS, exr_backend="builtin")


def same(a, b):
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.shape == b.shape and np.array_equal(a, b, True)
    return a == b


def damaged_versions(data, seed):
    """Truncations at a few lengths, then single flipped bits at seeded places."""
    rng = np.random.default_rng(seed)
    for length in sorted(
        {0, 1, 7, 8, 20, len(data) // 2, len(data) - 1, *rng.integers(0, len(data), 4)}
    ):
        yield f"cut at {length}", data[:length]
    for position in rng.integers(0, len(data), 40):
        flipped = bytearray(data)
        flipped[position] ^= 1 << int(rng.integers(0, 8))
        yield f"bit flipped at {position}", bytes(flipped)


@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize("verify", [True, False])
def test_a_damaged_file_raises_dataset_error_or_reads_the_same(tmp_path, key, verify):
    root = str(tmp_path)
    original = make_frame(root)
    path = layout.frame_path(root, key, 1)
    with open(path, "rb") as file:
        data = file.read()
    fields = {"rgb": ("rgb",)}
    for label, damaged in damaged_versions(data, zlib.crc32(key.encode())):
        with open(path, "wb") as file:
            file.write(damaged)
        tracemalloc.start()
        try:
            sample = reader.load_frame(root, 1, keys=KEYS, exr_backend="builtin", verify=verify)
        except DatasetError as error:
            assert path in str(error), (label, error)
            continue
        finally:
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            assert peak < 64 << 20, (label, peak)
        if verify:
            pytest.fail(f"{label}: the record's CRC-32 should have caught it")
        for name in fields.get(key, (key,)):
            if path.endswith(".png"):
                # PNG chunks carry a CRC: a PNG reads the same or not at all.
                assert same(sample[name], original[name]), label
            elif path.endswith(".exr"):
                # EXR pixels stored raw carry no checksum of their own: without the
                # record a flipped bit reads as another value, but never another shape.
                assert sample[name].shape == original[name].shape, label
            else:
                assert isinstance(sample[name], dict), label
                if key == "amodal":  # masks keep the image's shape
                    assert all(m.shape == (HEIGHT, WIDTH) for m in sample[name].values()), label


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"{",
        b"[]",
        b'{"format": "ground_truth", "format_version": 1, "frames": "abc"}',
        b'{"format": "ground_truth", "format_version": 1, "frames": [1], "classes": [{"id": 1}]}',
        b"[" * 100000 + b"]" * 100000,
    ],
)
def test_a_damaged_dataset_json_is_named(tmp_path, content):
    make_frame(str(tmp_path))
    (tmp_path / "dataset.json").write_bytes(content)
    with pytest.raises(DatasetError, match=r"dataset\.json"):
        reader.read_dataset(str(tmp_path))


def test_a_damaged_coco_file_is_named(tmp_path):
    make_frame(str(tmp_path))
    path = tmp_path / "annotations" / "coco_instances.json"
    path.parent.mkdir()
    for content in (b'{"images": [', b"[1, 2]", b"\xff\xfe"):
        path.write_bytes(content)
        with pytest.raises(DatasetError, match=r"coco_instances\.json"):
            reader.load_coco(str(tmp_path))


@pytest.mark.parametrize("key", ["depth", "normal"])
def test_every_flipped_bit_of_an_exr_header_is_caught_or_harmless(tmp_path, key):
    """Exhaustive over the header: no flip may give another shape or another channel set
    silently (an inverted data window once read as an empty image)."""
    root = str(tmp_path)
    original = make_frame(root)
    path = layout.frame_path(root, key, 1)
    with open(path, "rb") as file:
        data = file.read()
    # The header, the offset table and the first chunk's start.
    chunks = HEIGHT // 16 + 1 if exr.exr_header(path)["compression"] == "ZIP" else HEIGHT
    end = data.index(b"\x00", data.index(b"pixelAspectRatio") + 26) + 8 * chunks + 16
    for position in range(8, min(end, len(data))):
        for bit in range(8):
            flipped = bytearray(data)
            flipped[position] ^= 1 << bit
            with open(path, "wb") as file:
                file.write(flipped)
            try:
                sample = reader.load_frame(
                    root, 1, keys=(key,), exr_backend="builtin", verify=False
                )
            except DatasetError as error:
                assert path in str(error)
                continue
            assert sample[key].shape == original[key].shape, (position, bit)
