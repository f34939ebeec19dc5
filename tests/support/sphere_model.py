"""An analytic stand-in for a trained model (a solid red sphere) and a trainer holding it, for
export tests: the true surface is known, and nothing needs training."""
import dataclasses
from types import SimpleNamespace

import torch

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


def sphere_trainer(radius: float = RADIUS):
    """A trainer stand-in for exports: the sphere model on the fake scene's cameras (32 px)."""
    scene = dataclasses.replace(make_fake_scene(32), near=0.0)  # scale 2, offset (0.5, -1, 0.25)
    return SimpleNamespace(model=SphereModel(radius), scene=scene, device=torch.device("cpu"))
