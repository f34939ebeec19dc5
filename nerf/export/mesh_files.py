"""Mesh and point-cloud files: PLY (binary), OBJ (vertex colours after the position, as MeshLab and
Blender read them) and GLB (through trimesh). Each file is written whole or not at all."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from nerf.files import atomic_output
from nerf.errors import InputError
from nerf.export.mesh import Mesh

MESH_SUFFIXES = (".ply", ".obj", ".glb")


def _ply_bytes(vertices: np.ndarray, colours: np.ndarray | None, normals: np.ndarray | None,
               faces: np.ndarray | None) -> bytes:
    fields = [("x", "<f4"), ("y", "<f4"), ("z", "<f4")]
    if normals is not None:
        fields += [("nx", "<f4"), ("ny", "<f4"), ("nz", "<f4")]
    if colours is not None:
        fields += [("red", "u1"), ("green", "u1"), ("blue", "u1")]
    rows = np.empty(len(vertices), dtype=fields)
    rows["x"], rows["y"], rows["z"] = vertices.T
    if normals is not None:
        rows["nx"], rows["ny"], rows["nz"] = normals.T
    if colours is not None:
        rows["red"], rows["green"], rows["blue"] = colours.T
    ply_type = {"<f4": "float", "u1": "uchar"}
    header = ["ply", "format binary_little_endian 1.0", f"element vertex {len(vertices)}"]
    header += [f"property {ply_type[t]} {name}" for name, t in fields]
    body = rows.tobytes()
    if faces is not None:
        header += [f"element face {len(faces)}", "property list uchar int vertex_indices"]
        tri = np.empty(len(faces), dtype=[("n", "u1"), ("v", "<i4", (3,))])
        tri["n"], tri["v"] = 3, faces
        body += tri.tobytes()
    return ("\n".join(header + ["end_header"]) + "\n").encode("ascii") + body


def _obj_text(mesh: Mesh) -> str:
    lines = ["# nerf-export"]
    if mesh.colours is not None:
        rgb = mesh.colours / 255.0
        lines += [f"v {x:.6f} {y:.6f} {z:.6f} {r:.4f} {g:.4f} {b:.4f}" for (x, y, z), (r, g, b)
                  in zip(mesh.vertices, rgb, strict=True)]
    else:
        lines += [f"v {x:.6f} {y:.6f} {z:.6f}" for x, y, z in mesh.vertices]
    if mesh.normals is not None:
        lines += [f"vn {x:.5f} {y:.5f} {z:.5f}" for x, y, z in mesh.normals]
        lines += [f"f {a}//{a} {b}//{b} {c}//{c}" for a, b, c in mesh.faces + 1]
    else:
        lines += [f"f {a} {b} {c}" for a, b, c in mesh.faces + 1]
    return "\n".join(lines) + "\n"


def write_mesh(path: str | Path, mesh: Mesh) -> Path:
    """Write `mesh` as .ply, .obj or .glb (chosen by the suffix)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in MESH_SUFFIXES:
        raise InputError(path, f"unknown mesh format '{suffix}' (use {', '.join(MESH_SUFFIXES)})")
    with atomic_output(path) as tmp:
        if suffix == ".ply":
            tmp.write_bytes(_ply_bytes(mesh.vertices, mesh.colours, mesh.normals, mesh.faces))
        elif suffix == ".obj":
            tmp.write_text(_obj_text(mesh))
        else:
            import trimesh
            colours = None if mesh.colours is None else np.concatenate(
                [mesh.colours, np.full((len(mesh.colours), 1), 255, np.uint8)], axis=1)
            tm = trimesh.Trimesh(mesh.vertices, mesh.faces, vertex_colors=colours, process=False)
            tmp.write_bytes(tm.export(file_type="glb"))
    return path


def write_points(path: str | Path, points: np.ndarray, colours: np.ndarray | None,
                 normals: np.ndarray | None = None) -> Path:
    """Write points [N, 3] with uint8 colours [N, 3] (and normals) as a binary PLY."""
    path = Path(path)
    if path.suffix.lower() != ".ply":
        raise InputError(path, "point clouds are written as .ply")
    with atomic_output(path) as tmp:
        tmp.write_bytes(_ply_bytes(points, colours, normals, None))
    return path


def read_ply(path: str | Path) -> dict[str, np.ndarray]:
    """The vertex fields (and 'faces') of a binary PLY written here: for tests and round trips."""
    data = Path(path).read_bytes()
    end = data.index(b"end_header\n") + len(b"end_header\n")
    header = data[:end].decode("ascii").splitlines()
    n_vert = n_face = 0
    fields, current = [], None
    for line in header:
        words = line.split()
        if words[:2] == ["element", "vertex"]:
            n_vert, current = int(words[2]), "vertex"
        elif words[:2] == ["element", "face"]:
            n_face, current = int(words[2]), "face"
        elif words[0] == "property" and current == "vertex":
            fields.append((words[2], {"float": "<f4", "uchar": "u1"}[words[1]]))
    rows = np.frombuffer(data, dtype=fields, count=n_vert, offset=end)
    out = {name: rows[name] for name, _ in fields}
    if n_face:
        tri = np.frombuffer(data, dtype=[("n", "u1"), ("v", "<i4", (3,))], count=n_face,
                            offset=end + rows.nbytes)
        out["faces"] = tri["v"]
    return out
