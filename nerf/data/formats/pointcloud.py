"""Sparse point clouds from structure-from-motion (nerfstudio's `ply_file_path`, e.g. sparse_pc.ply).

Only the vertex positions are read: they tell where a capture's content is, which sets the size of
an unbounded scene's region of full detail (nerf.data.formats.scene_type). PLY in ASCII or binary
(little or big endian), any property types; faces and other elements after the vertices are ignored.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from nerf.errors import InputError

_PLY_TYPES = {"char": "i1", "int8": "i1", "uchar": "u1", "uint8": "u1", "short": "i2", "int16": "i2",
              "ushort": "u2", "uint16": "u2", "int": "i4", "int32": "i4", "uint": "u4", "uint32": "u4",
              "float": "f4", "float32": "f4", "double": "f8", "float64": "f8"}


def read_ply_points(path: str | Path) -> np.ndarray:
    """Vertex positions [n, 3] float64 of a PLY file; InputError for anything unreadable."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(path, f"cannot read the point cloud: {exc.strerror}") from None
    end = data.find(b"end_header")
    if not data.startswith(b"ply") or end < 0:
        raise InputError(path, "not a PLY file")
    body_start = data.index(b"\n", end) + 1
    fmt, count, props, element = None, 0, [], None
    for line in data[:end].decode("ascii", "replace").splitlines():
        words = line.split()
        if words[:1] == ["format"] and len(words) > 1:
            fmt = words[1]
        elif words[:1] == ["element"] and len(words) == 3:
            element = words[1]
            if element == "vertex":
                count = int(words[2])
        elif words[:1] == ["property"] and element == "vertex":
            if words[1] == "list" or words[1] not in _PLY_TYPES:
                raise InputError(path, f"unsupported vertex property: {line.strip()}")
            props.append((words[2], _PLY_TYPES[words[1]]))
    names = [n for n, _ in props]
    if not all(axis in names for axis in "xyz"):
        raise InputError(path, "the vertices have no x, y, z")
    if fmt == "ascii":
        rows = data[body_start:].decode("ascii", "replace").split("\n")[:count]
        try:
            table = np.array([[float(v) for v in r.split()[:len(props)]] for r in rows], dtype=np.float64)
        except ValueError:
            raise InputError(path, "a vertex line is not numbers") from None
        cols = {n: table[:, i] for i, n in enumerate(names)} if table.size else {n: np.zeros(0) for n in names}
    elif fmt in ("binary_little_endian", "binary_big_endian"):
        order = "<" if fmt == "binary_little_endian" else ">"
        dtype = np.dtype([(n, order + t) for n, t in props])
        if len(data) - body_start < count * dtype.itemsize:
            raise InputError(path, f"truncated: {count} vertices announced")
        cols = np.frombuffer(data, dtype=dtype, count=count, offset=body_start)
    else:
        raise InputError(path, f"unknown PLY format {fmt!r}")
    points = np.stack([np.asarray(cols[a], dtype=np.float64) for a in "xyz"], axis=1)
    if len(points) != count:
        raise InputError(path, f"has {len(points)} vertices, {count} announced")
    return points[np.isfinite(points).all(axis=1)]
