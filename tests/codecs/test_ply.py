"""Binary PLY meshes: the exact bytes written, and reading them back (also files of the
same layout written by others: double coordinates, extra vertex properties, uint indices)."""

import numpy as np
import pytest

from ground_truth.codecs import ply


def test_the_header_and_data_are_plys_binary_little_endian_layout():
    data = ply.encode_ply([[0, 0, 0], [1, 0, 0], [0, 2, 0]], [[0, 1, 2]], comments=["made here"])
    header, body = data.split(b"end_header\n")
    assert header.decode().splitlines() == [
        "ply",
        "format binary_little_endian 1.0",
        "comment made here",
        "element vertex 3",
        "property float x",
        "property float y",
        "property float z",
        "element face 1",
        "property list uchar int vertex_indices",
    ]
    vertices = np.frombuffer(body[:36], "<f4").reshape(3, 3)
    np.testing.assert_array_equal(vertices, [[0, 0, 0], [1, 0, 0], [0, 2, 0]])
    assert body[36] == 3 and np.frombuffer(body[37:], "<i4").tolist() == [0, 1, 2]


def test_a_mesh_with_normals_reads_back(tmp_path):
    rng = np.random.default_rng(2)
    vertices = rng.normal(size=(50, 3)).astype(np.float32)
    normals = rng.normal(size=(50, 3)).astype(np.float32)
    triangles = rng.integers(0, 50, size=(70, 3))
    path = str(tmp_path / "mesh.ply")
    ply.write_ply(path, vertices, triangles, normals, comments=("a", "b c"))
    mesh = ply.read_ply(path)
    np.testing.assert_array_equal(mesh.vertices, vertices)
    np.testing.assert_array_equal(mesh.normals, normals)
    np.testing.assert_array_equal(mesh.triangles, triangles)
    assert mesh.comments == ("a", "b c")
    with open(path, "rb") as file:
        assert ply.encode_ply(vertices, triangles, normals, ("a", "b c")) == file.read()


def test_an_empty_mesh_reads_back():
    mesh = ply.decode_ply(ply.encode_ply(np.zeros((0, 3)), np.zeros((0, 3), int)))
    assert mesh.vertices.shape == (0, 3) and mesh.triangles.shape == (0, 3)


def test_other_writers_layouts_are_read():
    header = (
        b"ply\nformat binary_little_endian 1.0\nelement vertex 3\nproperty double x\n"
        b"property double y\nproperty double z\nproperty uchar red\nproperty uchar green\n"
        b"property uchar blue\nelement face 1\nproperty list uchar uint vertex_indices\n"
        b"end_header\n"
    )
    vertex = np.dtype([("p", "<f8", 3), ("c", "u1", 3)])
    points = np.zeros(3, vertex)
    points["p"] = [[0, 0, 0], [1.5, 0, 0], [0, 0.25, 0]]
    face = np.zeros(1, [("n", "u1"), ("i", "<u4", 3)])
    face["n"], face["i"] = 3, [2, 1, 0]
    mesh = ply.decode_ply(header + points.tobytes() + face.tobytes())
    np.testing.assert_array_equal(mesh.vertices, points["p"])
    assert mesh.triangles.tolist() == [[2, 1, 0]] and mesh.normals is None


@pytest.mark.parametrize(
    "damage",
    [
        lambda d: d[:-5],  # truncated
        lambda d: d.replace(b"binary_little_endian", b"binary_big_endian   "),
        lambda d: b"plx" + d[3:],
        lambda d: d.replace(b"element face 1", b"element face 9"),
    ],
)
def test_damaged_files_raise_value_error(damage):
    data = ply.encode_ply([[0, 0, 0], [1, 0, 0], [0, 1, 0]], [[0, 1, 2]])
    with pytest.raises(ValueError):
        ply.decode_ply(damage(data))


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="vertex that does not exist"):
        ply.encode_ply([[0, 0, 0]], [[0, 1, 2]])
    with pytest.raises(ValueError, match="one line"):
        ply.encode_ply([[0, 0, 0]], np.zeros((0, 3), int), comments=["two\nlines"])
