"""Point clouds as PLY files, read and written through trimesh (the one PLY/OBJ library here).

Read: a capture's sparse points from structure-from-motion (nerfstudio's `ply_file_path`, e.g.
sparse_pc.ply). Only the vertex positions are used: they tell where a capture's content is, which
sets the size of an unbounded scene's region of full detail (nerf.data.formats.scene_type).
Write: nerf-process's sparse_pc.ply and nerf-export's point clouds (binary PLY, RGB as uchar).

trimesh is imported where it is used: it takes seconds to import, and most scenes have no PLY.
"""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from nerf.errors import InputError
from nerf.files import atomic_output


def read_ply_points(path: str | Path) -> np.ndarray:
    """Vertex positions [n, 3] float64 of a PLY file (ASCII or binary, faces ignored), the non-finite
    ones dropped; InputError naming the file for anything unreadable."""
    import trimesh
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(path, f"cannot read the point cloud: {exc.strerror}") from None
    if not data.startswith(b"ply"):
        raise InputError(path, "not a PLY file")
    try:
        loaded = trimesh.load(io.BytesIO(data), file_type="ply", process=False)
    # trimesh's PLY parser says what is wrong through ValueError (bad length, format, numbers),
    # KeyError (a missing x/y/z, an unknown property type) or IndexError (a header cut short)
    except (ValueError, KeyError, IndexError) as exc:
        raise InputError(path, f"not a readable PLY point cloud ({type(exc).__name__}: {exc})") from None
    if isinstance(loaded, trimesh.Scene):  # no geometry at all: a file of zero vertices
        return np.zeros((0, 3))
    points = np.asarray(loaded.vertices, dtype=np.float64).reshape(-1, 3)
    return points[np.isfinite(points).all(axis=1)]


def write_ply_points(path: str | Path, points: np.ndarray, colours: np.ndarray | None = None) -> None:
    """Write points [n, 3] (and uint8 colours [n, 3]) as a binary PLY, whole or not at all."""
    import trimesh
    if colours is None and len(points) == 0:
        colours = np.zeros((0, 3), np.uint8)  # trimesh cannot write an empty cloud without colours
    cloud = trimesh.PointCloud(np.asarray(points, dtype=np.float64).reshape(-1, 3), colors=colours)
    with atomic_output(path) as tmp:  # an unwritable path is an InputError naming it
        tmp.write_bytes(cloud.export(file_type="ply"))
