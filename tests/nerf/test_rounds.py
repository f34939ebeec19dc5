"""nerf/volume/rounds.py and the ngp model's marcher against the dense reference (tests/support/dense_marcher.py)."""
import math

import pytest
import torch

from nerf.models.ngp import NGPModel
from nerf.train.config import TrainConfig
from nerf.volume.aabb import ray_aabb
from nerf.volume.compositing import composite, volume_weights_packed
from nerf.volume.occupancy import OccupancyGrid
from nerf.volume.occupied_march import RayMarcher
from nerf.volume.rounds import march_to_opacity, round_size
from nerf.volume.steps import ConstantSteps
from tests.support.dense_marcher import dense_render


def _slab_world():
    """A grid over [-1, 1]^3 whose occupied cells hold a slab x in [0, 0.5) of density 4."""
    grid = OccupancyGrid(1.0, res=4)
    cx = torch.arange(64) // 16
    grid.occupied.copy_(cx == 2)
    return grid, lambda x: 4.0 * ((x[:, 0] >= 0) & (x[:, 0] < 0.5)).float()


def _marcher(grid, o, d, step):
    t0, t1, _ = ray_aabb(o, d, 1.0)
    return RayMarcher(grid, o, d, t0, t1, ConstantSteps(step), torch.full((o.shape[0],), 0.5))


def _field(density):
    """field_fn for march_to_opacity: the density and the points themselves as payload."""
    return lambda x, ray_indices: (density(x), x)


def test_hand_computed_opacity_cut():
    # One ray along x through the slab, steps of 0.1: 5 samples at x = 0.05 .. 0.45, each
    # alpha = 1 - exp(-0.4) = 0.3297; transmittance in front of them exp(-0.4 i) =
    # [1, 0.670, 0.449, 0.301, 0.202]. With early_stop 0.35 the samples with T <= 0.35 go, and the
    # ray stops once T after a round <= 0.35.
    grid, density = _slab_world()
    o, d = torch.tensor([[-3.0, 0.25, 0.25]]), torch.tensor([[1.0, 0.0, 0.0]])
    kept, sigma, x = march_to_opacity(_marcher(grid, o, d, 0.1), _field(density), 0.35, first_round=1)
    torch.testing.assert_close(kept.t, torch.tensor([3.05, 3.15, 3.25]))
    torch.testing.assert_close(sigma, torch.full((3,), 4.0))
    torch.testing.assert_close(x[:, 0], torch.tensor([0.05, 0.15, 0.25]))
    kept, sigma, _ = march_to_opacity(_marcher(grid, o, d, 0.1), _field(density), 0.0, first_round=2)
    w, _, _ = volume_weights_packed(sigma, kept.deltas, kept.ray_indices, 1)
    assert kept.t.numel() == 5
    torch.testing.assert_close(w.sum(), torch.tensor(1.0 - math.exp(-2.0)))


def test_rounds_grow_as_rays_die():
    assert round_size(4, 1000, 1000, 0) == 4
    assert round_size(4, 1000, 100, 1) == 40  # the budget shared by the live rays
    assert round_size(4, 1000, 1000, 2) == 16  # no ray died: rounds double anyway
    assert round_size(4, 1000, 1, 3) == 64  # capped


def _model(early_stop: float = 1e-3, unbounded: bool = False) -> NGPModel:
    cfg = TrainConfig.tuned("ngp", "cpu", model=dict(levels=4, log2_table=10, max_res=32, grid_res=8,
                                                     march_steps=64, early_stop=early_stop))
    torch.manual_seed(0)
    # unbounded: the grids over contracted space, cone steps from a near plane (nerf.volume.marching)
    model = NGPModel(1.0, 0.1 if unbounded else 0.0, math.inf, False, cfg.model, unbounded=unbounded)
    with torch.no_grad():  # a dense blob so rays do terminate
        model.field.grid.table.uniform_(-1.0, 1.0)
        model.field.density_mlp[-1].weight[0] += 0.3
        # a partly empty grid: the culling has something to skip
        model.grid.occupied.copy_(torch.rand(512, generator=torch.Generator().manual_seed(2)) < 0.6)
    return model


def _rays(n=96):
    g = torch.Generator().manual_seed(1)
    d = torch.nn.functional.normalize(torch.randn(n, 3, generator=g), dim=-1)
    o = -2.5 * d + 0.3 * torch.randn(n, 3, generator=g)
    o[:8] = torch.tensor([4.0, 4.0, 4.0])  # some rays miss the cube
    return o, d


@pytest.mark.parametrize("unbounded", [False, True])
@pytest.mark.parametrize("grad", [False, True])
@pytest.mark.parametrize("early_stop", [0.0, 1e-3])
def test_model_renders_as_the_dense_reference(grad, early_stop, unbounded):
    o, d = _rays()
    bg = torch.tensor([0.2, 0.4, 0.6])
    with torch.set_grad_enabled(grad):
        dense = dense_render(_model(early_stop, unbounded), o, d, bg, stratified=True,
                             generator=torch.Generator().manual_seed(3))
        rounds = _model(early_stop, unbounded).render_rays(o, d, bg, stratified=True,
                                                           generator=torch.Generator().manual_seed(3))
    assert 0 < rounds.samples_per_ray == dense.samples_per_ray
    for key in ("rgb", "depth", "opacity"):
        torch.testing.assert_close(getattr(rounds, key), getattr(dense, key), atol=1e-5, rtol=1e-5)
    if not unbounded:  # these rays miss the cube; in an unbounded scene nothing is missed
        torch.testing.assert_close(rounds.rgb[:8], bg.expand(8, 3))


@pytest.mark.parametrize("unbounded", [False, True])
def test_training_gradients_match_the_dense_reference(unbounded):
    o, d = _rays()
    bg = torch.tensor([1.0, 1.0, 1.0])
    grads = []
    for render in (dense_render, NGPModel.render_rays):
        model = _model(unbounded=unbounded)
        out = render(model, o, d, bg, stratified=False, generator=None)
        out.rgb.square().mean().backward()
        grads.append([p.grad for p in model.parameters()])
    assert any(float(g.abs().max()) > 0 for g in grads[0])
    for rounds, dense in zip(grads[1], grads[0], strict=True):
        torch.testing.assert_close(rounds, dense, atol=1e-7, rtol=1e-4)


def test_samples_behind_an_opaque_surface_are_never_evaluated():
    # a wall of density 1e4 at x in [0, 0.5): opaque within one step; the cells behind it are
    # occupied too, yet the field is only asked about points up to the wall
    grid = OccupancyGrid(1.0, res=4)
    asked = []

    def density(x):
        asked.append(x)
        return 1e4 * ((x[:, 0] >= 0) & (x[:, 0] < 0.5)).float()
    o = torch.tensor([[-3.0, 0.25, 0.25], [-3.0, -0.3, 0.6]])
    d = torch.tensor([[1.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
    kept, sigma, _ = march_to_opacity(_marcher(grid, o, d, 0.1), _field(density), 1e-4, first_round=2)
    assert float(torch.cat(asked)[:, 0].max()) < 0.5
    # ten free samples at x = -0.95 .. -0.05, then the first one in the wall takes all the light
    assert kept.counts().tolist() == [11, 11]
    torch.testing.assert_close(kept.t[[10, 21]], torch.tensor([3.05, 3.05]))
    w, _, _ = volume_weights_packed(sigma, kept.deltas, kept.ray_indices, 2)
    rgb, _, _ = composite(w, torch.ones(kept.t.numel(), 3), kept.t, kept.ray_indices, 2, None)
    torch.testing.assert_close(rgb, torch.ones(2, 3))
