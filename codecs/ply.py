"""Triangle meshes as binary PLY files (numpy only).

Written as ``binary_little_endian 1.0``: one ``vertex`` element with ``float x, y, z``
(and ``float nx, ny, nz`` when normals are given), one ``face`` element with ``property
list uchar int vertex_indices`` (triangles only), and ``comment`` lines in the header.
That is the subset every PLY reader takes (MeshLab, Open3D, trimesh, the BOP toolkit's
``inout.load_ply``, which reads binary properties in the machine's byte order, i.e.
little-endian on x86 and ARM). The same input always gives the same bytes.

:func:`decode_ply` reads that layout back, also with ``double`` vertex properties, other
vertex properties skipped, and ``uint`` indices; anything else raises ValueError.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

_SCALARS = {
    "char": "i1",
    "uchar": "u1",
    "short": "<i2",
    "ushort": "<u2",
    "int": "<i4",
    "uint": "<u4",
    "float": "<f4",
    "double": "<f8",
    "int8": "i1",
    "uint8": "u1",
    "int16": "<i2",
    "uint16": "<u2",
    "int32": "<i4",
    "uint32": "<u4",
    "float32": "<f4",
    "float64": "<f8",
}
# A header longer than this is not one of ours.
MAX_HEADER = 1 << 16


@dataclass(frozen=True)
class PlyMesh:
    """A mesh read from a PLY file: float Nx3 ``vertices``, int64 Mx3 ``triangles``,
    Nx3 ``normals`` or None, and the header's ``comments``."""

    vertices: np.ndarray
    triangles: np.ndarray
    normals: np.ndarray | None
    comments: tuple[str, ...]


def encode_ply(
    vertices: np.ndarray,
    triangles: np.ndarray,
    normals: np.ndarray | None = None,
    comments: Iterable[str] = (),
) -> bytes:
    """The bytes of a binary little-endian PLY file of a triangle mesh.

    ``vertices`` (Nx3) and ``normals`` (Nx3) are written as float32, ``triangles`` (Mx3
    vertex indices, each below N) as int32. Comments must be single lines.
    """
    points = np.ascontiguousarray(vertices, dtype="<f4").reshape(-1, 3)
    faces = np.asarray(triangles, dtype=np.int64).reshape(-1, 3)
    if faces.size and (faces.min() < 0 or faces.max() >= len(points)):
        raise ValueError("a triangle refers to a vertex that does not exist")
    lines = ["ply", "format binary_little_endian 1.0"]
    for comment in comments:
        if "\n" in comment or "\r" in comment:
            raise ValueError(f"a PLY comment must be one line: {comment!r}")
        lines.append(f"comment {comment}")
    lines.append(f"element vertex {len(points)}")
    lines += [f"property float {axis}" for axis in "xyz"]
    columns = [points]
    if normals is not None:
        lines += [f"property float n{axis}" for axis in "xyz"]
        columns.append(np.asarray(normals, dtype="<f4").reshape(-1, 3))
    lines += [f"element face {len(faces)}", "property list uchar int vertex_indices", "end_header"]
    header = ("\n".join(lines) + "\n").encode("ascii")
    vertex_block = np.ascontiguousarray(np.concatenate(columns, axis=1), dtype="<f4")
    face_block = np.empty(len(faces), dtype=[("count", "u1"), ("indices", "<i4", (3,))])
    face_block["count"] = 3
    face_block["indices"] = faces
    return header + vertex_block.tobytes() + face_block.tobytes()


def write_ply(path: str, *args, **kwargs) -> None:
    """Write :func:`encode_ply` of the arguments to ``path`` (not atomically)."""
    with open(path, "wb") as file:
        file.write(encode_ply(*args, **kwargs))


def _header(data: bytes) -> tuple[list[str], int]:
    end = data.find(b"end_header", 0, MAX_HEADER)
    if not data.startswith(b"ply") or end < 0:
        raise ValueError("not a PLY file (no 'ply' magic or no end_header)")
    newline = data.find(b"\n", end)
    if newline < 0:
        raise ValueError("PLY header is not terminated")
    text = data[:end].decode("ascii", errors="replace")
    return [line.strip() for line in text.splitlines()], newline + 1


def decode_ply(data: bytes) -> PlyMesh:
    """Read a binary little-endian PLY file of triangles (see the module docstring)."""
    lines, start = _header(data)
    if "format binary_little_endian 1.0" not in lines:
        raise ValueError("only binary little-endian PLY files are read")
    comments = tuple(line[8:] for line in lines if line.startswith("comment "))
    elements: list[list] = []  # [name, count, [(name, dtype) or ("list", count dtype, item dtype)]]
    for line in lines:
        words = line.split()
        if not words:
            continue
        if words[0] == "element":
            elements.append([words[1], int(words[2]), []])
        elif words[0] == "property" and elements:
            if words[1] == "list":
                elements[-1][2].append(("list", _SCALARS[words[2]], _SCALARS[words[3]]))
            else:
                elements[-1][2].append((words[2], _SCALARS[words[1]]))
    offset = start
    vertices = normals = triangles = None
    for name, count, properties in elements:
        if name == "face":
            if [p[0] for p in properties] != ["list"]:
                raise ValueError("faces must hold only a vertex index list")
            _, count_type, index_type = properties[0]
            layout = np.dtype([("count", count_type), ("indices", index_type, (3,))])
            block = np.frombuffer(data, dtype=layout, count=count, offset=offset)
            if count and np.any(block["count"] != 3):
                raise ValueError("only triangles are read")
            triangles = block["indices"].astype(np.int64)
            offset += layout.itemsize * count
            continue
        if any(p[0] == "list" for p in properties):
            raise ValueError(f"element {name!r} has a list property: not read")
        layout = np.dtype([(p[0], p[1]) for p in properties])
        block = np.frombuffer(data, dtype=layout, count=count, offset=offset)
        offset += layout.itemsize * count
        if name == "vertex":
            vertices = np.stack([block[a].astype(np.float64) for a in "xyz"], axis=1)
            if {"nx", "ny", "nz"} <= set(layout.names):
                normals = np.stack([block[f"n{a}"].astype(np.float64) for a in "xyz"], axis=1)
    if vertices is None:
        raise ValueError("no vertex element")
    if triangles is None:
        triangles = np.zeros((0, 3), dtype=np.int64)
    if triangles.size and (triangles.min() < 0 or triangles.max() >= len(vertices)):
        raise ValueError("a triangle refers to a vertex that does not exist")
    return PlyMesh(vertices, triangles.reshape(-1, 3), normals, comments)


def read_ply(path: str) -> PlyMesh:
    """:func:`decode_ply` of the file at ``path``."""
    with open(path, "rb") as file:
        return decode_ply(file.read())
