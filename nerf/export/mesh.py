"""Meshes from a density field: marching cubes over a crop box, colours seen along the normals.

The field arrives as two callables, so this module never imports a model (a model, or the analytic
default scene in the tests, can be exported alike):

    density(pts [n, 3]) -> sigma [n]            positions in the normalised world
    colour(rays_o [n, 3], rays_d [n, 3]) -> rgb [n, 3] in [0, 1]
                                                what a camera at rays_o looking along rays_d sees

Marching cubes is scikit-image's `measure.marching_cubes` (Lewiner et al. 2003, topologically
consistent). A vertex's colour is what the field shows a ray that starts a little outside the surface,
along the vertex normal, and looks back at it: the colour the training cameras saw there, not the
view-independent guess of the field at one point (which, inside the thin shell of a NeRF surface,
is often undefined).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from nerf.data.crop import CropBox

DensityFn = Callable[[torch.Tensor], torch.Tensor]
ColourFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
DEFAULT_THRESHOLD = 10.0  # sigma per normalised unit: 1 - exp(-10 x 0.1) = 63 % opaque over 0.1 units
LOOK_BACK_VOXELS = 3.0  # colour rays start this many voxels outside the surface
CHUNK = 1 << 18  # points per density / colour call
GRID_SHARE = 0.7  # of extract_mesh's progress: the lattice, then the vertex colours


@dataclass
class Mesh:
    vertices: np.ndarray  # [V, 3] float64
    faces: np.ndarray  # [F, 3] int64, counter-clockwise seen from outside
    colours: np.ndarray | None = None  # [V, 3] uint8
    normals: np.ndarray | None = None  # [V, 3] unit, outward

    def transformed(self, scale: float, offset) -> "Mesh":
        """The mesh in another world: p * scale + offset (the scene file's, nerf.data.scene)."""
        return Mesh(self.vertices * scale + np.asarray(offset, np.float64), self.faces, self.colours,
                    self.normals)


def grid_shape(crop: CropBox, resolution: int) -> tuple[int, int, int]:
    """Lattice points per axis: `resolution` along the box's longest side, the same spacing elsewhere."""
    size = crop.size
    return tuple(max(2, int(round(resolution * s / size.max()))) for s in size)


@torch.no_grad()
def density_grid(density: DensityFn, crop: CropBox, resolution: int, device="cpu",
                 should_abort: Callable[[], bool] | None = None,
                 progress: Callable[[float], None] | None = None, chunk: int = CHUNK) -> np.ndarray | None:
    """sigma on the lattice of the crop box: [nx, ny, nz] float32 (None when aborted); progress(f)
    after each slab of about `chunk` points (at least one lattice plane), f the fraction done."""
    nx, ny, nz = grid_shape(crop, resolution)
    axes = [torch.linspace(lo, hi, n, device=device) for lo, hi, n in zip(crop.lo, crop.hi, (nx, ny, nz), strict=True)]
    out = np.empty((nx, ny, nz), np.float32)
    yz = torch.stack(torch.meshgrid(axes[1], axes[2], indexing="ij"), dim=-1).reshape(-1, 2)  # [ny*nz, 2]
    slab = max(1, chunk // yz.shape[0])
    for i in range(0, nx, slab):
        if should_abort is not None and should_abort():
            return None
        xs = axes[0][i:i + slab]
        pts = torch.cat([xs.repeat_interleave(yz.shape[0])[:, None], yz.repeat(len(xs), 1)], dim=1)
        out[i:i + len(xs)] = density(pts).float().reshape(len(xs), ny, nz).cpu().numpy()
        if progress is not None:
            progress((i + len(xs)) / nx)
    return out


def vertex_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Area-weighted unit normals [V, 3] from counter-clockwise faces."""
    tri = vertices[faces]  # [F, 3, 3]
    face_n = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])  # length = 2 x area
    normals = np.zeros_like(vertices)
    for k in range(3):
        np.add.at(normals, faces[:, k], face_n)
    return normals / np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-12)


def marching_cubes(grid: np.ndarray, crop: CropBox, threshold: float) -> Mesh:
    """The threshold surface of `grid` (density_grid's lattice) in world coordinates, facing outward
    (towards lower density)."""
    from skimage import measure
    if not (grid.min() < threshold < grid.max()):
        return Mesh(np.zeros((0, 3)), np.zeros((0, 3), np.int64))
    spacing = crop.size / (np.asarray(grid.shape) - 1)
    # 'ascent': density grows inwards, so this winding makes the faces' normals point outwards
    verts, faces, _, _ = measure.marching_cubes(grid, level=threshold, spacing=tuple(spacing),
                                                gradient_direction="ascent")
    return Mesh(verts.astype(np.float64) + np.asarray(crop.lo), faces.astype(np.int64))


def simplify(mesh: Mesh, faces: int) -> Mesh:
    """Quadric decimation to about `faces` faces (trimesh + fast-simplification); colours are dropped
    (colour_vertices runs after)."""
    import trimesh
    if len(mesh.faces) <= faces:
        return mesh
    tm = trimesh.Trimesh(mesh.vertices, mesh.faces, process=False)
    out = tm.simplify_quadric_decimation(face_count=int(faces))
    return Mesh(np.asarray(out.vertices, np.float64), np.asarray(out.faces, np.int64))


@torch.no_grad()
def colour_vertices(mesh: Mesh, colour: ColourFn, look_back: float, device="cpu", *,
                    should_abort: Callable[[], bool] | None = None,
                    progress: Callable[[float], None] | None = None, chunk: int = CHUNK) -> Mesh | None:
    """The mesh with normals and colours: each vertex as seen from `look_back` outside it along its
    normal, `chunk` rays per colour call (None when should_abort() stopped it between calls)."""
    normals = vertex_normals(mesh.vertices, mesh.faces)
    rgb = np.zeros((len(normals), 3), np.float32)
    n = torch.as_tensor(normals, dtype=torch.float32, device=device)
    v = torch.as_tensor(mesh.vertices, dtype=torch.float32, device=device)
    for s in range(0, len(v), chunk):
        if should_abort is not None and should_abort():
            return None
        origins = v[s:s + chunk] + look_back * n[s:s + chunk]
        rgb[s:s + chunk] = colour(origins, -n[s:s + chunk]).float().clamp(0, 1).cpu().numpy()
        if progress is not None:
            progress(min(s + chunk, len(v)) / len(v))
    colours = (rgb * 255.0 + 0.5).astype(np.uint8)
    return Mesh(mesh.vertices, mesh.faces, colours, normals)


def extract_mesh(density: DensityFn, colour: ColourFn | None, crop: CropBox, resolution: int = 256,
                 threshold: float = DEFAULT_THRESHOLD, faces: int | None = None, device="cpu", *,
                 should_abort: Callable[[], bool] | None = None, progress: Callable[[float], None] | None = None,
                 chunk: int = CHUNK, ray_chunk: int = CHUNK) -> Mesh | None:
    """Marching cubes on `density` over `crop`, optionally simplified to `faces`, coloured by `colour`.
    None when should_abort() stopped it (checked between density calls of `chunk` points and colour
    calls of `ray_chunk` rays, where the time goes); progress(fraction done)."""
    def part(lo: float, hi: float):
        return None if progress is None else lambda f: progress(lo + (hi - lo) * f)

    grid = density_grid(density, crop, resolution, device, should_abort, part(0.0, GRID_SHARE), chunk)
    if grid is None:
        return None
    mesh = marching_cubes(grid, crop, threshold)
    if faces is not None and len(mesh.faces):
        mesh = simplify(mesh, faces)
    if colour is not None and len(mesh.faces):
        voxel = float(crop.size.max()) / (resolution - 1)
        mesh = colour_vertices(mesh, colour, LOOK_BACK_VOXELS * voxel, device, should_abort=should_abort,
                               progress=part(GRID_SHARE, 1.0), chunk=ray_chunk)
    elif progress is not None:
        progress(1.0)
    return mesh
