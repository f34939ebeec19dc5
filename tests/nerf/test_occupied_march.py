"""nerf/volume/occupied_march.py and nerf/volume/steps.py: the round marcher against the dense one."""
import math

import pytest
import torch

from nerf.volume.aabb import ray_aabb
from nerf.volume.occupancy import OccupancyGrid
from tests.support.dense_marcher import march_grid
from nerf.volume.occupied_march import RayMarcher, Samples
from nerf.volume.steps import ConstantSteps, EdgeSteps


def _rays(n: int, seed: int, spread: float = 0.8):
    g = torch.Generator().manual_seed(seed)
    d = torch.nn.functional.normalize(torch.randn(n, 3, generator=g), dim=-1)
    return -2.5 * d + spread * torch.randn(n, 3, generator=g), d


def _grid(res: int, fraction: float, seed: int = 0) -> OccupancyGrid:
    grid = OccupancyGrid(1.0, res=res)
    grid.occupied.copy_(torch.rand(res ** 3, generator=torch.Generator().manual_seed(seed)) < fraction)
    return grid


def _march_all(marcher: RayMarcher, per_ray: int = 3) -> Samples:
    parts = []
    while marcher.alive:
        parts.append(marcher.next(per_ray))
    return Samples.cat(parts, marcher.n_rays, marcher.rays_o.device)


def _bounded_marcher(grid, o, d, step, u, max_samples=None) -> RayMarcher:
    t0, t1, _ = ray_aabb(o, d, grid.bound)
    return RayMarcher(grid, o, d, t0, t1, ConstantSteps(step), u, max_samples=max_samples)


@pytest.mark.parametrize("res,fraction", [(8, 0.0), (8, 0.3), (16, 0.05), (32, 0.02), (16, 1.0)])
@pytest.mark.parametrize("stratified", [False, True])
def test_same_samples_as_the_dense_marcher(res, fraction, stratified):
    grid = _grid(res, fraction)
    o, d = _rays(200, seed=res)
    step = 0.037
    ri, t = march_grid(grid, o, d, 0.0, math.inf, step, stratified=stratified,
                       generator=torch.Generator().manual_seed(5))
    u = torch.rand(200, 1, generator=torch.Generator().manual_seed(5))[:, 0] if stratified else torch.full((200,), 0.5)
    s = _march_all(_bounded_marcher(grid, o, d, step, u))
    assert torch.equal(s.ray_indices, ri)
    torch.testing.assert_close(s.t, t)
    torch.testing.assert_close(s.deltas, torch.full_like(t, step))
    torch.testing.assert_close(s.t_ends - s.t_starts, s.deltas)
    counts = torch.bincount(ri, minlength=200)
    assert torch.equal(s.counts(), counts)
    assert torch.equal(s.offsets(), torch.cumsum(counts, 0) - counts)


def test_max_samples_keeps_the_first_occupied_samples_of_each_ray():
    grid = _grid(16, 0.3)
    o, d = _rays(100, seed=2)
    ri, t = march_grid(grid, o, d, 0.0, math.inf, 0.05, stratified=False, generator=None, max_samples=4)
    s = _march_all(_bounded_marcher(grid, o, d, 0.05, torch.full((100,), 0.5), max_samples=4), per_ray=3)
    assert torch.equal(s.ray_indices, ri) and torch.allclose(s.t, t)
    assert int(s.counts().max()) == 4


def test_hand_computed_ray_through_one_occupied_cell():
    # res 4 over [-1, 1]: cells 0.5 wide; only the cell x in [0, 0.5), y, z in [0, 0.5) is occupied.
    # The ray x = -3 + t at y = z = 0.25 enters the cube at t = 2; steps of 0.1 sit at t = 2.05,
    # 2.15, ... (x = -0.95, -0.85, ...); those with x in [0, 0.5) are x = 0.05 .. 0.45: t = 3.05 .. 3.45.
    grid = OccupancyGrid(1.0, res=4)
    grid.occupied.zero_()
    grid.occupied[(2 * 4 + 2) * 4 + 2] = True
    o, d = torch.tensor([[-3.0, 0.25, 0.25]]), torch.tensor([[1.0, 0.0, 0.0]])
    marcher = _bounded_marcher(grid, o, d, 0.1, torch.full((1,), 0.5))
    first = marcher.next(2)  # the DDA jumps over the empty half of the cube, the block finds two
    torch.testing.assert_close(first.t, torch.tensor([3.05, 3.15]))
    rest = _march_all(marcher)
    torch.testing.assert_close(rest.t, torch.tensor([3.25, 3.35, 3.45]))
    assert marcher.alive == 0


def test_empty_grid_is_crossed_in_one_round_and_gives_nothing():
    grid = _grid(64, 0.0)
    o, d = _rays(50, seed=3, spread=0.2)
    marcher = _bounded_marcher(grid, o, d, 2 * math.sqrt(3) / 1024, torch.full((50,), 0.5))
    assert marcher.alive == 50
    s = marcher.next(4)  # 1024 steps across the cube, yet the mip DDA leaves the cube at once
    assert s.t.numel() == 0 and marcher.alive == 0


def test_all_occupied_takes_every_step_inside_and_misses_give_nothing():
    grid = OccupancyGrid(1.0, res=8)
    o = torch.tensor([[-3.0, 0.1, 0.2], [0.0, 0.0, 5.0], [0.0, 3.0, 0.0], [5.0, 5.0, 5.0]])
    d = torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [1.0, 0.0, 0.0], [1.0, 0.0, 0.0]])  # last two miss
    marcher = _bounded_marcher(grid, o, d, 0.1, torch.full((4,), 0.5))
    assert marcher.alive == 2  # rays that miss the cube never march
    s = _march_all(marcher, per_ray=7)
    assert s.counts().tolist() == [20, 20, 0, 0]
    torch.testing.assert_close(s.t[:2], torch.tensor([2.05, 2.15]))


def test_stop_ends_rays_and_keeps_the_others_marching():
    grid = OccupancyGrid(1.0, res=8)
    o, d = _rays(10, seed=4, spread=0.1)
    marcher = _bounded_marcher(grid, o, d, 0.1, torch.full((10,), 0.5))
    marcher.next(2)
    done = torch.zeros(10, dtype=torch.bool)
    done[::2] = True
    marcher.stop(done)
    s = marcher.next(2)
    assert set(s.ray_indices.tolist()) == set(range(1, 10, 2))


def _squash(x: torch.Tensor) -> torch.Tensor:
    """A nonlinear map of all space into (-2, 2)^3, standing in for a scene contraction."""
    return 2.0 * x / (1.0 + x.abs())


@pytest.mark.parametrize("stratified", [False, True])
def test_edge_steps_through_a_mapped_grid_equal_a_brute_force_walk(stratified):
    edges = [0.2]
    while edges[-1] < 30.0:
        edges.append(edges[-1] + min(max(edges[-1] / 16, 0.05), 2.0))  # steps that grow with distance
    edges = torch.tensor(edges)
    grid = _grid(16, 0.2)
    grid = OccupancyGrid(2.0, res=16)
    grid.occupied.copy_(torch.rand(16 ** 3, generator=torch.Generator().manual_seed(7)) < 0.2)
    o, d = _rays(40, seed=6, spread=0.3)
    o = o * 0.2  # cameras near the centre, looking out
    g = torch.Generator().manual_seed(9)
    u = torch.rand(40, generator=g) if stratified else torch.full((40,), 0.5)
    near, far = torch.full((40,), 0.2), torch.full((40,), math.inf)
    marcher = RayMarcher(grid, o, d, near, far, EdgeSteps(edges), u, to_grid=_squash)
    s = _march_all(marcher, per_ray=2)
    ref_ray, ref_t, ref_delta = [], [], []
    for r in range(40):
        for k in range(edges.shape[0] - 1):
            t = float(edges[k] + u[r] * (edges[k + 1] - edges[k]))
            x = _squash(o[r] + t * d[r])[None]
            if grid.occupied[grid.cell_index(x)][0]:
                ref_ray.append(r), ref_t.append(t), ref_delta.append(float(edges[k + 1] - edges[k]))
    assert s.ray_indices.tolist() == ref_ray
    torch.testing.assert_close(s.t, torch.tensor(ref_t))
    torch.testing.assert_close(s.deltas, torch.tensor(ref_delta))


def test_edge_steps_first_at_is_the_first_sample_at_or_after_t():
    steps = EdgeSteps(torch.tensor([0.0, 1.0, 3.0, 7.0]))
    u = torch.full((5,), 0.5)
    t = torch.tensor([0.0, 0.5, 0.6, 5.0, 6.0])
    # samples at 0.5, 2.0, 5.0
    assert steps.first_at(t, t, u).tolist() == [0.0, 0.0, 1.0, 2.0, 3.0]
    assert math.isinf(float(steps.sample(torch.tensor([3.0]), t[:1], u[:1])[0]))
