"""Point clouds as PLY files, read and written through trimesh (the one PLY/OBJ library here).

Read: a capture's sparse points from structure-from-motion (nerfstudio's `ply_file_path`, e.g.
sparse_pc.ply). Only the vertex positions are used: they tell where a capture's content is, which
sets the size of an unbounded scene's region of full detail (nerf.data.formats.scene_type).
Write: nerf-process's sparse_pc.ply and nerf-export's point clouds (binary PLY, RGB as uchar).

trimesh is imported where it is used: it takes seconds to import, and most scenes have no PLY.
A scene's ply_file_path comes from its own metadata, so it is treated as hostile: it must lead to a
regular file inside the scene folder (not /dev/zero, not a FIFO, not out of the folder) of bounded size.
"""
from __future__ import annotations

import io
import os
import stat
from pathlib import Path

import numpy as np

from nerf.data.scene import Scene
from nerf.errors import InputError
from nerf.files import atomic_output

POINTS_FILE = "sparse_pc.ply"  # nerfstudio's name for a capture's sparse points, in its scene folder
MAX_BYTES = 2 << 30  # 2 GiB: ~100 M SfM points, far more than any sparse model; more is not a sparse cloud


def scene_point_cloud(root: Path, name: object) -> np.ndarray:
    """The points of `name` (a transforms file's ply_file_path, relative to the scene folder `root`);
    InputError when it leads out of that folder."""
    path = root / str(name)
    try:
        inside = path.resolve().is_relative_to(root.resolve())
    except (OSError, RuntimeError, ValueError):  # a symlink loop, a NUL byte in the name
        inside = False
    if not inside:
        raise InputError(path, "ply_file_path leads out of the scene folder")
    return read_ply_points(path)


def _read_bounded(path: Path) -> bytes:
    """The bytes of a regular file of at most MAX_BYTES, checked on the open handle (no race)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))  # a FIFO opens at once, refused below
    except OSError as exc:
        raise InputError(path, f"cannot read the point cloud: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise InputError(path, "the point cloud is not a regular file")
        if info.st_size > MAX_BYTES:
            raise InputError(path, f"the point cloud is {info.st_size / 2**30:.1f} GiB; "
                                   f"at most {MAX_BYTES / 2**30:.0f} GiB is read")
        try:
            return handle.read(MAX_BYTES + 1)
        except OSError as exc:
            raise InputError(path, f"cannot read the point cloud: {exc.strerror}") from None


def read_ply_points(path: str | Path) -> np.ndarray:
    """Vertex positions [n, 3] float64 of a PLY file (ASCII or binary, faces ignored), the non-finite
    ones dropped; InputError naming the file for anything unreadable."""
    import trimesh
    path = Path(path)
    data = _read_bounded(path)
    if not data.startswith(b"ply"):
        raise InputError(path, "not a PLY file")
    try:
        loaded = trimesh.load(io.BytesIO(data), file_type="ply", process=False)
    # trimesh's PLY parser says what is wrong through ValueError (bad length, format, numbers),
    # KeyError (a missing x/y/z, an unknown property type) or IndexError (a header cut short), and on
    # some damaged headers through whatever its own code trips over (UnboundLocalError, TypeError)
    except MemoryError:
        raise
    except Exception as exc:  # noqa: BLE001 - the file is hostile input, the failure is its fault
        raise InputError(path, f"not a readable PLY point cloud ({type(exc).__name__}: {exc})"[:300]) from None
    if isinstance(loaded, trimesh.Scene):  # no geometry at all: a file of zero vertices
        return np.zeros((0, 3))
    points = np.asarray(loaded.vertices, dtype=np.float64).reshape(-1, 3)
    announced = loaded.metadata.get("_ply_raw", {}).get("vertex", {}).get("length", len(points))
    if announced != len(points):  # an ASCII body cut short reads as fewer points, silently
        raise InputError(path, f"{announced} vertices announced, {len(points)} found")
    return points[np.isfinite(points).all(axis=1)]


def write_ply_points(path: str | Path, points: np.ndarray, colours: np.ndarray | None = None) -> None:
    """Write points [n, 3] (and uint8 colours [n, 3]) as a binary PLY, whole or not at all."""
    import trimesh
    if colours is None and len(points) == 0:
        colours = np.zeros((0, 3), np.uint8)  # trimesh cannot write an empty cloud without colours
    cloud = trimesh.PointCloud(np.asarray(points, dtype=np.float64).reshape(-1, 3), colors=colours)
    with atomic_output(path) as tmp:  # an unwritable path is an InputError naming it
        tmp.write_bytes(cloud.export(file_type="ply"))


def scene_points(scene: Scene, limit: int | None = None, seed: int = 0) -> np.ndarray | None:
    """The sparse points [n, 3] of a scene in its normalised world (at most `limit`, a fixed random
    subset): those its loader found (a COLMAP model's, a transforms file's ply_file_path, read now for
    a bounded scene), else the scene folder's POINTS_FILE; None when there are none, or for a
    forward-facing scene (its loader recentres with a rotation that scale and offset cannot undo).
    The viewer's overlay and the camera-layout pictures draw them. Raises InputError for an
    unreadable file."""
    path = Path(scene.root) / POINTS_FILE
    if scene.ndc:
        return None
    if scene.sparse_points is not None:
        found = np.asarray(scene.sparse_points, dtype=np.float64).reshape(-1, 3)
    elif scene.format == "remote":  # a --connect client's scene: its root is a folder on the server
        return None
    elif scene.points_file is not None:
        found = scene_point_cloud(Path(scene.root), scene.points_file)
    elif path.is_file():
        found = read_ply_points(path)
    else:
        return None
    points = (found - np.asarray(scene.offset)) / scene.scale
    if limit is not None and len(points) > limit:
        points = points[np.random.default_rng(seed).choice(len(points), limit, replace=False)]
    return points
