"""nerf/volume/occupancy.py: marching and grid updates."""
import math

import torch

from nerf.volume.occupancy import OccupancyGrid
from tests.support.dense_marcher import march_grid


def test_march_all_occupied_takes_every_step_inside():
    grid = OccupancyGrid(1.0, res=8)
    o = torch.tensor([[-3.0, 0.1, 0.2], [0.0, 0.0, 5.0], [0.0, 3.0, 0.0]])
    d = torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [1.0, 0.0, 0.0]])  # the last one misses
    ri, t = march_grid(grid, o, d, 0.0, math.inf, 0.1, stratified=False, generator=None)
    counts = torch.bincount(ri, minlength=3)
    assert counts.tolist() == [20, 20, 0]
    assert torch.all(ri[1:] >= ri[:-1])  # sorted
    torch.testing.assert_close(t[:2], torch.tensor([2.05, 2.15]))
    ri2, _ = march_grid(grid, o, d, 0.0, math.inf, 0.1, stratified=False, generator=None, max_samples=5)
    assert torch.bincount(ri2, minlength=3).tolist() == [5, 5, 0]


def test_update_finds_a_sphere_and_marching_skips_empty_cells():
    grid = OccupancyGrid(1.0, res=16, warmup_steps=10)

    def density(x):
        return (x.norm(dim=-1) < 0.5).float() * 100.0
    grid.update(0, density, torch.Generator().manual_seed(0))
    centres = (torch.stack(torch.meshgrid(*[torch.arange(16)] * 3, indexing="ij"), -1).reshape(-1, 3) + 0.5) / 8 - 1
    r = centres.norm(dim=-1)
    occ = grid.occupied
    assert occ[r < 0.35].all() and not occ[r > 0.65].any()
    o = torch.tensor([[-3.0, 0.0, 0.0]])
    d = torch.tensor([[1.0, 0.0, 0.0]])
    _, t = march_grid(grid, o, d, 0.0, math.inf, 0.01, stratified=True, generator=torch.Generator().manual_seed(0))
    x = -3.0 + t
    assert x.min() > -0.65 and x.max() < 0.65 and t.numel() > 60
    # EMA: with zero density everywhere the cells decay but keep a max with fresh values
    before = grid.density.clone()
    grid.update(20, lambda x: torch.zeros(x.shape[0]), torch.Generator().manual_seed(0))
    torch.testing.assert_close(grid.density, before * grid.decay)


def test_an_update_stopped_between_chunks_and_resumed_matches_one_without_a_stop():
    def density(x):
        return 10.0 * (x.norm(dim=-1) < 0.5).float()
    grids = [OccupancyGrid(1.0, res=16, warmup_steps=0) for _ in range(2)]
    gens = [torch.Generator().manual_seed(3) for _ in range(2)]
    assert grids[0].update(5, density, gens[0], chunk=1000)
    stops = []
    assert not grids[1].update(5, density, gens[1], chunk=1000, should_stop=lambda: not stops.append(1))
    assert grids[1].pending and int(grids[1].updates) == 0
    while not grids[1].resume(density, gens[1], chunk=1000, should_stop=lambda: True):
        pass  # one chunk per call while a frame waits
    assert int(grids[1].updates) == 1 and not grids[1].pending
    assert torch.equal(grids[0].density, grids[1].density) and torch.equal(grids[0].occupied, grids[1].occupied)


def test_a_grid_with_memory_culls_an_emptied_cell_within_that_many_refreshes():
    """A cell's stored value is its max with the decayed old one: after a dense fog (a young field)
    it stays occupied for ~log(fog / threshold) / -log(decay) refreshes. `memory` caps the value
    so that a cell the field has emptied is culled after at most that many."""
    gen = torch.Generator().manual_seed(0)
    fog = lambda x: torch.full((x.shape[0],), 100.0)  # noqa: E731
    half = lambda x: (x[:, 0] > 0).float() * 100.0  # noqa: E731 - the field empties x < 0
    capped = OccupancyGrid(1.0, res=8, threshold=0.01, warmup_steps=100, memory=4)
    plain = OccupancyGrid(1.0, res=8, threshold=0.01, warmup_steps=100)
    left = torch.arange(8 ** 3) // 64 < 4  # cells with x < 0 (x-major)
    for grid in (capped, plain):
        grid.update(0, fog, gen)
        assert grid.occupied.all()
    for refresh in range(1, 6):
        for grid in (capped, plain):
            grid.update(refresh, half, gen)
        assert capped.occupied[~left].all() and plain.occupied[~left].all()
        if refresh != 4:  # at 4 the decayed cap sits on the threshold itself
            assert capped.occupied[left].all() == (refresh < 4)  # culled once `memory` refreshes passed
        assert plain.occupied[left].all()  # 100 * 0.95^5 is still far above the threshold


def test_a_young_uniform_field_keeps_its_cells_when_the_threshold_follows_a_fraction_of_the_mean():
    """instant-NGP's min(threshold, mean) culls the half of a uniform young field that falls below the
    mean, at random: a transparent start then lost the objects of a 360-degree capture in one run of two
    (BENCHMARKS.md, "A transparent start"). A tenth of the mean keeps every such cell and still culls
    cells that are clearly emptier than the rest."""
    generator = torch.Generator().manual_seed(0)
    noise = torch.rand(16 ** 3, generator=generator)
    cell_of = OccupancyGrid(1.0, res=16).cell_index

    def young(x):  # all far below the threshold, within a factor 2 of each other, by cell
        return 1e-3 * (1.0 + noise[cell_of(x)])

    mean_rule, fraction = OccupancyGrid(1.0, res=16, threshold=0.04), OccupancyGrid(1.0, res=16, threshold=0.04,
                                                                                    mean_fraction=0.1)
    for grid in (mean_rule, fraction):
        grid.update(0, young, torch.Generator().manual_seed(1))
    assert 0.3 < mean_rule.occupied_fraction() < 0.7
    assert fraction.occupied_fraction() == 1.0
    # `young` refreshes with the fraction, then instant-NGP's rule (the field has learnt by then)
    ageing = OccupancyGrid(1.0, res=16, threshold=0.04, mean_fraction=0.1, young=2)
    kept = []
    for refresh in range(3):
        ageing.update(refresh, young, torch.Generator().manual_seed(1))
        kept.append(ageing.occupied_fraction())
    assert kept[:2] == [1.0, 1.0] and 0.3 < kept[2] < 0.7

    def emptied(x):  # one cell in eight emptied by training, the rest as before
        return young(x) * torch.where(cell_of(x) % 8 == 0, 1e-3, 1.0)

    fraction = OccupancyGrid(1.0, res=16, threshold=0.04, mean_fraction=0.1)
    fraction.update(0, emptied, torch.Generator().manual_seed(1))
    cells = torch.arange(16 ** 3)
    assert not fraction.occupied[cells % 8 == 0].any() and fraction.occupied[cells % 8 != 0].all()
    # a learnt field, dense where it is occupied: the cut is the threshold itself, as before
    dense = OccupancyGrid(1.0, res=16, threshold=0.04, mean_fraction=0.1)
    dense.update(0, lambda x: 1000.0 * emptied(x), torch.Generator().manual_seed(1))
    assert torch.equal(dense.occupied, cells % 8 != 0)
    assert float(dense.density.mean()) * 0.1 > 0.04
