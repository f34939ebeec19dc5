"""Steps that grow with distance, and marching them through a (contracted) occupancy grid."""
import math

import pytest
import torch

from nerf.volume.contraction import contract
from nerf.volume.marching import cone_step_edges, steps_between
from nerf.volume.occupancy import OccupancyGrid
from tests.support.dense_marcher import march_edges


def test_edges_follow_the_clamped_cone_worked_by_hand():
    # near 1, cone 0.5, steps in [0.5, 2]: 1 -> 1.5 (0.5 = min and cone) -> 2.25 (0.75) -> 3.375
    # (1.125) -> 5.0625 (1.6875) -> 7.0625 (2, the max) -> 9.0625 -> far 10 (clipped)
    e = cone_step_edges(1.0, 10.0, 0.5, 0.5, 2.0)
    expected = [1.0, 1.5, 2.25, 3.375, 5.0625, 7.0625, 9.0625, 10.0]
    torch.testing.assert_close(e, torch.tensor(expected, dtype=torch.float64))
    assert steps_between(1.0, 10.0, 0.5, 0.5, 2.0) == 7


def test_spacing_is_min_step_near_proportional_further_and_capped():
    near, cone, lo, hi = 0.2, 1 / 32, 0.05, 1.0
    e = cone_step_edges(near, 500.0, cone, lo, hi)
    dt, t = torch.diff(e), e[:-1]
    assert torch.all(dt[:-1] > 0) and e[0] == near and e[-1] == 500.0
    close, mid, far = t < lo / cone, (t > lo / cone) & (t < hi / cone), t > hi / cone
    torch.testing.assert_close(dt[close], torch.full_like(dt[close], lo))
    torch.testing.assert_close(dt[mid], cone * t[mid])
    torch.testing.assert_close(dt[far][:-1], torch.full_like(dt[far][:-1], hi))


def test_zero_cone_gives_equal_steps():
    e = cone_step_edges(0.0, 1.0, 0.0, 0.25, 0.25)
    torch.testing.assert_close(e, torch.tensor([0.0, 0.25, 0.5, 0.75, 1.0], dtype=torch.float64))


def test_cone_steps_need_few_samples_to_reach_far():
    # the ratio far / near of an unbounded scene is ~2500: equal steps of min_step would need 7000+
    assert steps_between(0.2, 520.0, 1 / 32, 0.07, math.inf) < 250


def test_bad_schedules_are_refused():
    with pytest.raises(ValueError):
        cone_step_edges(1.0, math.inf, 0.1, 0.1, 1.0)
    with pytest.raises(ValueError):
        cone_step_edges(1.0, 2.0, 0.1, 0.0, 1.0)


def _grid_with_one_occupied_cell(cell_centre) -> OccupancyGrid:
    grid = OccupancyGrid(2.0, res=8)
    grid.occupied.zero_()
    grid.occupied[grid.cell_index(torch.tensor([cell_centre]))] = True
    return grid


def test_march_keeps_only_samples_in_occupied_contracted_cells():
    # the occupied cell is [1.5, 2)^3-ish in x: contracted x in [1.5, 2.0) means world x >= 2 * radius
    grid = _grid_with_one_occupied_cell([1.75, 0.25, 0.25])
    radius = 1.0
    rays_o = torch.tensor([[0.0, 0.3, 0.3], [0.0, -0.3, 0.3]])
    rays_d = torch.tensor([[1.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
    edges = cone_step_edges(0.1, 200.0, 0.1, 0.05, math.inf).float()
    idx, t, deltas = march_edges(grid, rays_o, rays_d, edges, lambda x: contract(x, radius),
                                 stratified=False, generator=None)
    assert idx.numel() > 0 and torch.all(idx == 0)  # the second ray passes y < 0: another cell
    z = contract(rays_o[idx] + t[:, None] * rays_d[idx], radius)
    assert torch.all((z[:, 0] >= 1.5) & (z[:, 0] < 2.0))
    # every kept sample is the middle of its interval, and the intervals are the schedule's
    lo = edges[:-1]
    k = torch.searchsorted(lo, t) - 1
    torch.testing.assert_close(t, lo[k] + 0.5 * deltas)
    torch.testing.assert_close(deltas, (edges[1:] - edges[:-1])[k])


def test_stratified_samples_stay_in_their_intervals_and_max_samples_caps():
    grid = OccupancyGrid(2.0, res=4)  # everything occupied before the first update
    rays_o = torch.zeros(64, 3)
    rays_d = torch.nn.functional.normalize(torch.randn(64, 3, generator=torch.Generator().manual_seed(0)), dim=-1)
    edges = cone_step_edges(0.2, 50.0, 0.2, 0.1, math.inf).float()
    g = torch.Generator().manual_seed(1)
    idx, t, deltas = march_edges(grid, rays_o, rays_d, edges, lambda x: contract(x, 1.0), stratified=True,
                                 generator=g)
    s = edges.numel() - 1
    assert idx.numel() == 64 * s
    k = torch.arange(s).repeat(64)
    assert torch.all((t >= edges[:-1][k]) & (t <= edges[1:][k]))
    idx, _, _ = march_edges(grid, rays_o, rays_d, edges, lambda x: contract(x, 1.0), stratified=False,
                            generator=None, max_samples=5)
    assert torch.equal(torch.bincount(idx, minlength=64), torch.full((64,), 5))
