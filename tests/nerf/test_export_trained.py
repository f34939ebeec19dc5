"""nerf/export/trained.py: a model's mesh and point cloud written in the scene file's coordinates,
with progress and abort (as the viewer's Export panel runs them), on an analytic sphere model."""
import dataclasses
import re
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from nerf.data.crop import CropBox
from nerf.data.formats.pointcloud import read_ply_points
from nerf.errors import InputError
from nerf.export.trained import mesh_file, points_file
from tests.support.fakes import make_fake_scene

RADIUS = 0.5


class SphereModel:
    """A solid red sphere of RADIUS at the origin, as a model's density and render_rays."""

    def __init__(self, radius: float = RADIUS):
        self.radius = radius

    def density(self, pts: torch.Tensor) -> torch.Tensor:
        return torch.where(pts.norm(dim=-1) < self.radius, 1000.0, 0.0)

    def render_rays(self, o, d, bg, stratified, generator):
        b = (o * d).sum(-1)
        disc = b * b - ((o * o).sum(-1) - self.radius ** 2)
        hit = disc > 0
        t = torch.where(hit, -b - disc.clamp(min=0).sqrt(), torch.zeros_like(b))
        rgb = torch.where(hit[:, None], torch.tensor([1.0, 0.0, 0.0]), bg)
        return SimpleNamespace(rgb=rgb, depth=t, opacity=hit.float())


def _trainer(radius: float = RADIUS):
    scene = dataclasses.replace(make_fake_scene(32), near=0.0)  # scale 2, offset (0.5, -1, 0.25)
    return SimpleNamespace(model=SphereModel(radius), scene=scene, device=torch.device("cpu"))


def _normalised(points, scene):
    return (points - np.asarray(scene.offset)) / scene.scale


def test_the_mesh_lies_on_the_sphere_in_file_coordinates_and_reports_progress(tmp_path):
    trainer, seen = _trainer(), []
    summary = mesh_file(trainer, CropBox.cube(1.0), tmp_path / "m.ply", resolution=32, threshold=500.0,
                        progress=seen.append)
    assert summary.endswith("faces")
    radii = np.linalg.norm(_normalised(read_ply_points(tmp_path / "m.ply"), trainer.scene), axis=1)
    assert np.abs(radii - RADIUS).max() < 2.0 / 31  # within a lattice step
    assert seen == sorted(seen) and seen[-1] == 1.0


def test_points_lie_on_the_sphere_in_file_coordinates(tmp_path):
    trainer, seen = _trainer(), []
    summary = points_file(trainer, CropBox.cube(1.0), tmp_path / "p.ply", n_points=500, progress=seen.append)
    kept, removed = (int(w) for w in re.match(r"(\d+) points \((\d+) outliers removed\)", summary).groups())
    assert kept + removed == 500 and kept >= 400  # the statistical test drops a few even on a clean sphere
    radii = np.linalg.norm(_normalised(read_ply_points(tmp_path / "p.ply"), trainer.scene), axis=1)
    np.testing.assert_allclose(radii, RADIUS, atol=1e-4)
    assert seen[-1] == 1.0


def test_an_abort_writes_nothing(tmp_path):
    calls = []

    def abort_after_one() -> bool:
        calls.append(1)
        return len(calls) > 1

    assert mesh_file(_trainer(), CropBox.cube(1.0), tmp_path / "m.ply", resolution=600,
                     should_abort=abort_after_one) is None
    calls.clear()
    assert points_file(_trainer(), CropBox.cube(1.0), tmp_path / "p.ply", n_points=10**6,
                       should_abort=abort_after_one) is None
    assert list(tmp_path.iterdir()) == []


def test_nothing_inside_the_box_is_one_clear_error(tmp_path):
    with pytest.raises(InputError, match="no surface at density 500 inside the crop box .try a lower threshold"):
        mesh_file(_trainer(radius=0.01), CropBox.cube(1.0), tmp_path / "m.ply", resolution=16, threshold=500.0,
                  source="run/checkpoint.pt")
    with pytest.raises(InputError, match="no training ray ends inside the crop box"):
        points_file(_trainer(), CropBox(np.array([0.9, 0.9, 0.9]), np.array([1.0, 1.0, 1.0])), tmp_path / "p.ply",
                    n_points=10)
