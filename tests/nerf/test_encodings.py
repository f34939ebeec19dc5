"""nerf/encodings.py: frequency encoding convention, SH orthonormality, hash grid vs a slow reference."""
import math
import threading

import torch

from nerf.models.encodings import HASH_PRIMES, FrequencyEncoding, HashGrid, SphericalHarmonics, TableGrads


def test_frequency_encoding_convention():
    enc = FrequencyEncoding(2, include_input=True)
    x = torch.tensor([[0.25, 0.5, -1.0]])
    out = enc(x)
    assert enc.out_dim == 3 * 5 == out.shape[1]
    expected = torch.cat([x, torch.sin(math.pi * x), torch.cos(math.pi * x),
                          torch.sin(2 * math.pi * x), torch.cos(2 * math.pi * x)], dim=1)
    torch.testing.assert_close(out, expected)
    assert FrequencyEncoding(3, include_input=False).out_dim == 18


def test_spherical_harmonics_orthonormal():
    g = torch.Generator().manual_seed(0)
    d = torch.nn.functional.normalize(torch.randn(400_000, 3, generator=g, dtype=torch.float64), dim=-1)
    sh = SphericalHarmonics(4)
    y = sh(d)
    assert y.shape == (400_000, 16) and sh.out_dim == 16
    gram = y.T @ y / d.shape[0] * 4 * math.pi  # Monte Carlo integral over the sphere
    assert (gram - torch.eye(16, dtype=torch.float64)).abs().max() < 0.02


def reference_hash_grid(grid: HashGrid, x: torch.Tensor) -> torch.Tensor:
    """Slow and obvious: loop over levels and the 8 corners."""
    outs = []
    mask = (1 << grid.log2_table) - 1
    for level, res in enumerate(grid.resolutions):
        pos = x.double() * res
        base = torch.minimum(pos.floor(), torch.tensor(res - 1.0, dtype=torch.float64))
        frac = pos - base
        base = base.long()
        acc = torch.zeros(x.shape[0], grid.n_features, dtype=torch.float64)
        for bx in (0, 1):
            for by in (0, 1):
                for bz in (0, 1):
                    c = base + torch.tensor([bx, by, bz])
                    w = ((frac[:, 0] if bx else 1 - frac[:, 0]) * (frac[:, 1] if by else 1 - frac[:, 1])
                         * (frac[:, 2] if bz else 1 - frac[:, 2]))
                    if (res + 1) ** 3 <= 2 ** grid.log2_table:
                        row = c[:, 0] + (res + 1) * c[:, 1] + (res + 1) ** 2 * c[:, 2]
                    else:
                        row = (c[:, 0] * HASH_PRIMES[0]) ^ (c[:, 1] * HASH_PRIMES[1]) ^ (c[:, 2] * HASH_PRIMES[2])
                        row = row & mask
                    feats = grid.table.detach().double()[int(grid.offsets[level]) + row]
                    acc += w[:, None] * feats
        outs.append(acc)
    return torch.cat(outs, dim=1)


def test_hash_grid_matches_reference_dense_and_hashed_levels():
    torch.manual_seed(0)
    grid = HashGrid(n_levels=6, n_features=2, log2_table=10, base_res=4, max_res=64, init_scale=1.0)
    assert 0 < grid.n_dense < grid.n_levels  # both kinds of level are exercised
    x = torch.rand(500, 3)
    x[0] = 1.0  # upper faces
    x[1] = 0.0
    out = grid(x)
    assert out.shape == (500, grid.out_dim)
    torch.testing.assert_close(out.double(), reference_hash_grid(grid, x), atol=1e-5, rtol=1e-5)


def test_hash_grid_gradcheck_float64():
    torch.manual_seed(0)
    grid = HashGrid(n_levels=3, n_features=2, log2_table=6, base_res=2, max_res=8, init_scale=1.0).double()
    x = torch.rand(7, 3, dtype=torch.float64)

    def f(table):  # the encoding as a function of its table (positions carry no gradient)
        return torch.func.functional_call(grid, {"table": table}, (x,))
    table = grid.table.detach().clone().requires_grad_(True)
    assert torch.autograd.gradcheck(f, (table,), eps=1e-6, atol=1e-6)


def test_hash_grid_backward_matches_plain_indexing():
    """The hand-written backward against autograd through table[rows], on a table small enough
    that many corners share a row (the scatter must add them all up)."""
    torch.manual_seed(0)
    grid = HashGrid(n_levels=4, n_features=2, log2_table=5, base_res=2, max_res=16, init_scale=1.0)
    x = torch.rand(300, 3)
    upstream = torch.randn(300, grid.out_dim)
    (g1,) = torch.autograd.grad((grid(x) * upstream).sum(), grid.table)
    rows, weights = grid.corner_indices(x)
    assert rows.shape == weights.shape == (4, 8, 300)
    plain = (grid.table[rows.long()] * weights[..., None]).sum(dim=1)  # [L, n, F]
    plain = plain.permute(1, 0, 2).reshape(300, grid.out_dim)
    torch.testing.assert_close(grid(x), plain)
    (g2,) = torch.autograd.grad((plain * upstream).sum(), grid.table)
    torch.testing.assert_close(g1, g2)


def test_collected_table_gradients_equal_autograds():
    """Several lookups in one pass (the marcher's rounds) collected into one buffer give what
    autograd's per-lookup gradients add up to, through backward() and through autograd.grad, and
    the other parameters' gradients are untouched."""
    torch.manual_seed(0)
    grid = HashGrid(n_levels=4, n_features=2, log2_table=5, base_res=2, max_res=16, init_scale=1.0)
    head = torch.nn.Linear(grid.out_dim, 1)
    xs = [torch.rand(n, 3) for n in (50, 70, 30)]

    def loss():
        return sum(head(grid(x)).square().sum() for x in xs)

    plain = torch.autograd.grad(loss(), [grid.table, head.weight])
    collector = TableGrads()
    with collector.collecting():
        total = loss()
    assert TableGrads.active() is None  # the context ends with the block
    grads = collector.gradients([grid.table, head.weight],
                                torch.autograd.grad(total, [grid.table, head.weight], allow_unused=True))
    torch.testing.assert_close(grads[0], plain[0])
    torch.testing.assert_close(grads[1], plain[1])

    collector = TableGrads()
    with collector.collecting():
        total = loss()
    total.backward()
    assert grid.table.grad is None  # autograd got nothing for the table: it waits in the collector
    collector.accumulate()
    torch.testing.assert_close(grid.table.grad, plain[0])
    torch.testing.assert_close(head.weight.grad, plain[1])


def test_table_gradients_are_collected_per_thread():
    """A collector on one thread never sees another thread's lookups (the shard pool's passes)."""
    grid = HashGrid(n_levels=2, n_features=2, log2_table=5, base_res=2, max_res=8, init_scale=1.0)
    x = torch.rand(20, 3)
    seen = []

    def other():
        seen.append(TableGrads.active())
        (g,) = torch.autograd.grad(grid(x).sum(), grid.table)  # no collector here: autograd's own
        seen.append(g)

    collector = TableGrads()
    with collector.collecting():
        t = threading.Thread(target=other)
        t.start()
        t.join()
    assert seen[0] is None and seen[1].abs().sum() > 0
    assert collector.gradients([grid.table], (None,)) == (None,)  # nothing collected on this thread
