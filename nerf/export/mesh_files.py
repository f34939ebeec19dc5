"""Mesh and point-cloud files, all through trimesh: PLY (binary), OBJ (vertex colours after the
position, as MeshLab and Blender read them) and GLB. Each file is written whole or not at all."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from nerf.data.formats.pointcloud import write_ply_points
from nerf.errors import InputError
from nerf.export.mesh import Mesh
from nerf.files import atomic_output

MESH_SUFFIXES = (".ply", ".obj", ".glb")


def write_mesh(path: str | Path, mesh: Mesh) -> Path:
    """Write `mesh` as .ply, .obj or .glb (chosen by the suffix), with its vertex colours and, in PLY
    and OBJ, its vertex normals."""
    import trimesh  # seconds to import: only when a mesh is written
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in MESH_SUFFIXES:
        raise InputError(path, f"unknown mesh format '{suffix}' (use {', '.join(MESH_SUFFIXES)})")
    tm = trimesh.Trimesh(mesh.vertices, mesh.faces, vertex_normals=mesh.normals, vertex_colors=mesh.colours,
                         process=False)
    if suffix == ".ply":
        data = tm.export(file_type="ply", vertex_normal=mesh.normals is not None)
    elif suffix == ".obj":
        data = tm.export(file_type="obj", include_normals=mesh.normals is not None, header="nerf-export")
    else:
        data = tm.export(file_type="glb")
    with atomic_output(path) as tmp:
        tmp.write_bytes(data.encode("ascii") if isinstance(data, str) else data)  # OBJ comes as text
    return path


def write_points(path: str | Path, points: np.ndarray, colours: np.ndarray | None) -> Path:
    """Write points [N, 3] with uint8 colours [N, 3] (or None) as a binary PLY."""
    path = Path(path)
    if path.suffix.lower() != ".ply":
        raise InputError(path, "point clouds are written as .ply")
    write_ply_points(path, points, colours)
    return path
