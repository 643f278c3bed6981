"""codecs.atomic: atomic replacement and cleanup on failure."""

import json
import os

import pytest

from ground_truth.codecs import atomic
from ground_truth.codecs.atomic import (
    atomic_open,
    atomic_write_bytes,
    atomic_write_json,
    readable_json,
)


def _leftovers(folder):
    return [n for n in os.listdir(folder) if ".tmp-" in n]


def test_write_bytes_replaces(tmp_path):
    path = tmp_path / "a.bin"
    atomic_write_bytes(path, b"one")
    atomic_write_bytes(path, b"two")
    assert path.read_bytes() == b"two"
    assert _leftovers(tmp_path) == []


def test_failure_keeps_old_file_and_removes_temp(tmp_path):
    path = tmp_path / "a.bin"
    path.write_bytes(b"old")
    with pytest.raises(RuntimeError), atomic_open(path, "wb") as f:
        f.write(b"partial")
        assert _leftovers(tmp_path) == [f".a.bin.tmp-{atomic.owner()}"]
        raise RuntimeError("boom")
    assert path.read_bytes() == b"old"
    assert _leftovers(tmp_path) == []


def test_failure_without_old_file_leaves_nothing(tmp_path):
    path = tmp_path / "new.txt"
    with pytest.raises(KeyError), atomic_open(path, "w", encoding="utf-8") as f:
        f.write("x")
        raise KeyError("boom")
    assert os.listdir(tmp_path) == []


def test_text_mode(tmp_path):
    path = tmp_path / "t.txt"
    with atomic_open(path, "w", encoding="utf-8") as f:
        f.write("héllo\n")
    assert path.read_text(encoding="utf-8") == "héllo\n"


def test_read_mode_rejected(tmp_path):
    with pytest.raises(ValueError), atomic_open(tmp_path / "x", "rb"):
        pass


def test_json_format(tmp_path):
    path = tmp_path / "d.json"
    obj = {"b": 1, "a": ["é", 2.5], "nested": {"z": None}}
    atomic_write_json(path, obj)
    text = path.read_text(encoding="utf-8")
    assert text.endswith("}\n")
    assert text.index('"b"') < text.index('"a"')  # key order kept
    assert "é" in text  # not escaped
    assert '  "b": 1' in text  # indent 2
    assert json.loads(text) == obj


def test_readable_json_indents_two_levels_and_long_sections_below_them():
    long = {"kind": "k" * 50, "unit": "u" * 50}
    obj = {
        "format": "x",
        "conventions": {"depth": "metres", "axes": {"x": "right", "y": "down"}, "long": long},
        "instances": [{"id": 1, "object": "Rock", "note": "n" * 120}, {"id": 2, "object": "T\n"}],
        "frames": [1, 2, 3],
        "empty": {},
        "none": [],
    }
    assert readable_json(obj) == "\n".join(
        [
            "{",
            '  "format": "x",',
            '  "conventions": {',
            '    "depth": "metres",',
            '    "axes": {"x": "right", "y": "down"},',
            '    "long": {',
            f'      "kind": "{"k" * 50}",',
            f'      "unit": "{"u" * 50}"',
            "    }",
            "  },",
            '  "instances": [',
            f'    {{"id": 1, "object": "Rock", "note": "{"n" * 120}"}},',
            '    {"id": 2, "object": "T\\n"}',
            "  ],",
            '  "frames": [1, 2, 3],',
            '  "empty": {},',
            '  "none": []',
            "}",
        ]
    )


@pytest.mark.parametrize(
    "obj",
    [
        {},
        [],
        "é",
        3.5,
        None,
        [[], {}, [1, [2, [3]]], {"a": {"b": {"c": [None, True, 1e-30]}}}],
        {1: "int key", 2.5: "float key", False: "bool", None: "none", "é": ["ü", {"ß": ()}]},
        {
            "frames": list(range(1000)),
            "copies": [{"id": i, "m": [[1.0, 0.0]] * 2} for i in range(50)],
        },
    ],
)
def test_readable_json_reads_back_as_the_standard_encoder_writes_it(obj):
    text = readable_json(obj)
    assert json.loads(text) == json.loads(json.dumps(obj))
    assert "é" not in json.dumps(obj) or "é" in text  # not escaped


def test_readable_json_refuses_what_json_refuses():
    with pytest.raises(ValueError):
        readable_json({"a": [float("nan")]})
    with pytest.raises(TypeError):
        readable_json({"a": {(1, 2): 3}})
    with pytest.raises(TypeError):
        readable_json({"a": object()})


def test_json_rejects_nan_and_keeps_old(tmp_path):
    path = tmp_path / "d.json"
    atomic_write_json(path, {"ok": 1})
    with pytest.raises(ValueError):
        atomic_write_json(path, {"bad": float("inf")})
    assert json.loads(path.read_text(encoding="utf-8")) == {"ok": 1}
    assert _leftovers(tmp_path) == []


def test_missing_folder_not_created(tmp_path):
    with pytest.raises(FileNotFoundError):
        atomic_write_bytes(tmp_path / "missing" / "a.bin", b"x")
    assert not (tmp_path / "missing").exists()


def test_errors_name_the_destination_not_the_temporary_file(tmp_path):
    # A folder where the file goes: the move fails; the message is about the file.
    (tmp_path / "a.png").mkdir()
    with pytest.raises(OSError) as moved:
        atomic_write_bytes(tmp_path / "a.png", b"x")
    assert moved.value.filename == str(tmp_path / "a.png")
    # The temporary file cannot even be made (no such folder).
    with pytest.raises(FileNotFoundError) as opened:
        atomic_write_bytes(tmp_path / "missing" / "b.png", b"x")
    assert opened.value.filename == str(tmp_path / "missing" / "b.png")
    assert sorted(os.listdir(tmp_path)) == ["a.png"]
    assert os.listdir(tmp_path / "a.png") == []
