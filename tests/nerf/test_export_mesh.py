"""nerf/export/mesh.py and mesh_files.py: the exported mesh of the analytic default scene lies on its
surfaces, with their colours; the files read back."""
import numpy as np
import pytest
import torch
from scipy.spatial import cKDTree

from nerf.data.crop import CropBox
from nerf.data.generated.synthetic import train_poses
from nerf.export.mesh import Mesh, extract_mesh, vertex_normals
from nerf.data.formats.pointcloud import read_ply_points
from nerf.export.mesh_files import write_mesh, write_points
from nerf.errors import InputError
from tests.support.analytic import albedo_at, albedo_seen, signed_distance, visible_surface_points

SCENE_SIZE = 2.0  # the default scene fills [-1, 1]^3 (file units)
SHARP = 0.01  # width of the density's step at the surface


def density(pts: torch.Tensor) -> torch.Tensor:
    d, _ = signed_distance(pts.double().numpy())
    return torch.as_tensor(1000.0 / (1.0 + np.exp(np.clip(d / SHARP, -50, 50))))  # 500 on the surface


def colour(o: torch.Tensor, d: torch.Tensor) -> torch.Tensor:
    return torch.as_tensor(albedo_seen(o.double().numpy(), d.double().numpy()))


@pytest.fixture(scope="module")
def mesh():
    return extract_mesh(density, colour, CropBox.cube(1.0), resolution=128, threshold=500.0)


def test_mesh_lies_on_the_true_surfaces(mesh):
    tol = 0.02 * SCENE_SIZE
    to_truth = np.abs(signed_distance(mesh.vertices)[0])  # mesh -> surfaces
    truth = visible_surface_points(train_poses(6), size=48)  # surfaces -> mesh
    to_mesh, _ = cKDTree(mesh.vertices).query(truth)
    assert to_truth.mean() < tol and to_mesh.mean() < tol
    assert np.quantile(to_truth, 0.95) < tol and np.quantile(to_mesh, 0.95) < tol


def test_normals_face_outward_and_colours_match(mesh):
    outside, _ = signed_distance(mesh.vertices + 0.02 * mesh.normals)
    assert np.mean(outside > 0) > 0.97
    truth = albedo_at(mesh.vertices) * 255.0
    err = np.abs(mesh.colours.astype(float) - truth).max(axis=1)
    assert np.median(err) < 3 and np.mean(err < 25) > 0.9  # textures' edges blur a little


def test_simplify_to_a_face_count(mesh):
    small = extract_mesh(density, None, CropBox.cube(1.0), resolution=64, threshold=500.0, faces=2000)
    assert 1000 <= len(small.faces) <= 2000 and small.colours is None
    assert np.abs(signed_distance(small.vertices)[0]).mean() < 0.02 * SCENE_SIZE


def test_crop_keeps_only_the_box():
    crop = CropBox((-1.0, -1.0, -0.5), (0.0, 0.0, 1.0))
    part = extract_mesh(density, None, crop, resolution=48, threshold=500.0)
    assert len(part.faces) > 0
    assert np.all(part.vertices >= np.asarray(crop.lo) - 1e-9) and np.all(part.vertices <= np.asarray(crop.hi) + 1e-9)


def test_empty_field_gives_an_empty_mesh():
    empty = extract_mesh(lambda p: torch.zeros(len(p)), None, CropBox.cube(1.0), resolution=16)
    assert len(empty.faces) == 0


def test_vertex_normals_of_a_tetrahedron():
    v = np.array([[0.0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]])
    f = np.array([[0, 2, 1], [0, 1, 3], [0, 3, 2], [1, 2, 3]])  # counter-clockwise from outside
    n = vertex_normals(v, f)
    assert np.allclose(n[0], -np.ones(3) / np.sqrt(3)) and np.all(n[3] @ [0, 0, 1] > 0)


@pytest.mark.parametrize("suffix", [".ply", ".obj", ".glb"])
def test_files_round_trip(tmp_path, suffix):
    import trimesh
    v = np.array([[0.0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]])
    f = np.array([[0, 2, 1], [0, 1, 3], [0, 3, 2], [1, 2, 3]])
    c = np.array([[255, 0, 0], [0, 255, 0], [0, 0, 255], [9, 9, 9]], np.uint8)
    n = np.random.default_rng(0).normal(size=(4, 3))
    n /= np.linalg.norm(n, axis=1, keepdims=True)  # not the faces' normals: they must come from the file
    path = write_mesh(tmp_path / f"m{suffix}", Mesh(v, f, c, n))
    # a GLB opens as a trimesh Scene; force="mesh" flattens it, but would drop the normals of the others
    back = trimesh.load(path, process=False, **({"force": "mesh"} if suffix == ".glb" else {}))
    assert np.allclose(back.vertices, v) and np.array_equal(back.faces, f)
    assert np.array_equal(back.visual.vertex_colors[:, :3], c)  # OBJ's 0..1 floats round back to these
    if suffix != ".glb":  # PLY and OBJ carry the normals
        assert np.allclose(back.vertex_normals, n, atol=1e-6)
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary file left


def test_points_and_bad_outputs(tmp_path):
    pts = np.random.default_rng(0).normal(size=(50, 3))
    write_points(tmp_path / "p.ply", pts, np.zeros((50, 3), np.uint8))
    assert np.allclose(read_ply_points(tmp_path / "p.ply"), pts, atol=1e-6)  # float32 in the file
    with pytest.raises(InputError, match="unknown mesh format"):
        write_mesh(tmp_path / "m.stl", Mesh(pts, np.zeros((0, 3), np.int64)))
    (tmp_path / "blocker").write_text("x")
    with pytest.raises(InputError, match="cannot write"):
        write_points(tmp_path / "blocker" / "p.ply", pts, None)
