"""Input encodings: NeRF frequency (positional) encoding, spherical harmonics, multiresolution hash grid.

All encodings are nn.Modules mapping [n, in_dim] -> [n, out_dim] and expose `out_dim`.
"""
from __future__ import annotations

import math

import torch
from torch import nn

# instant-NGP's spatial hash (Mueller et al. 2022, eq. 4): x*1 xor y*p2 xor z*p3, mod table size
HASH_PRIMES = (1, 2654435761, 805459861)


class FrequencyEncoding(nn.Module):
    """NeRF positional encoding (Mildenhall et al. 2020, eq. 4).

    Convention: for x [n, in_dim] the output is the concatenation
        [x, sin(2^0 pi x), cos(2^0 pi x), sin(2^1 pi x), cos(2^1 pi x), ...,
            sin(2^(L-1) pi x), cos(2^(L-1) pi x)]
    where each block is [n, in_dim] (all coordinates of one frequency and function together) and
    L = n_freqs. `x` itself is included first when include_input. The paper's formula has the pi;
    its reference code omits it (inputs there lie in [-1, 1] roughly, so it matters for the scale of
    the lowest frequency only). out_dim = in_dim * (include_input + 2 * n_freqs).
    """

    def __init__(self, n_freqs: int, include_input: bool = True, in_dim: int = 3):
        super().__init__()
        self.n_freqs = n_freqs
        self.include_input = include_input
        self.in_dim = in_dim
        self.register_buffer("freqs", math.pi * 2.0 ** torch.arange(n_freqs, dtype=torch.float32),
                             persistent=False)

    @property
    def out_dim(self) -> int:
        return self.in_dim * (int(self.include_input) + 2 * self.n_freqs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        xf = x[..., None, :] * self.freqs[:, None].to(x.dtype)  # [..., L, in_dim]
        sc = torch.stack([torch.sin(xf), torch.cos(xf)], dim=-2)  # [..., L, 2, in_dim]
        sc = sc.flatten(-3)  # [..., L * 2 * in_dim], ordered freq-major, then sin/cos, then coord
        return torch.cat([x, sc], dim=-1) if self.include_input else sc


class SphericalHarmonics(nn.Module):
    """Real spherical harmonics of unit directions, bands 0..degree-1 (degree**2 outputs).

    Same basis and sign convention as instant-NGP / tiny-cuda-nn (orthonormal over the sphere).
    Supports degree 1..4.
    """

    def __init__(self, degree: int = 4):
        super().__init__()
        if not 1 <= degree <= 4:
            raise ValueError(f"SphericalHarmonics supports degree 1..4, got {degree}")
        self.degree = degree

    @property
    def out_dim(self) -> int:
        return self.degree ** 2

    def forward(self, d: torch.Tensor) -> torch.Tensor:
        """d: [n, 3] unit vectors -> [n, degree**2]."""
        x, y, z = d.unbind(-1)
        out = [torch.full_like(x, 0.28209479177387814)]
        if self.degree > 1:
            out += [-0.48860251190291987 * y, 0.48860251190291987 * z, -0.48860251190291987 * x]
        if self.degree > 2:
            xx, yy, zz = x * x, y * y, z * z
            out += [1.0925484305920792 * x * y, -1.0925484305920792 * y * z,
                    0.94617469575755997 * zz - 0.31539156525251999, -1.0925484305920792 * x * z,
                    0.54627421529603959 * (xx - yy)]
        if self.degree > 3:
            out += [0.59004358992664352 * y * (yy - 3 * xx), 2.8906114426405538 * x * y * z,
                    0.45704579946446572 * y * (1 - 5 * zz), 0.3731763325901154 * z * (5 * zz - 3),
                    0.45704579946446572 * x * (1 - 5 * zz), 1.4453057213202769 * z * (xx - yy),
                    0.59004358992664352 * x * (3 * yy - xx)]
        return torch.stack(out, dim=-1)


class _GatherRows(torch.autograd.Function):
    """table[idx] whose backward scatters with index_add_ on int64 indices.

    On a CPU this backward is several times faster than nn.functional.embedding's (which sorts the
    indices first; BENCHMARKS.md, "NeRF engine"); on CUDA index_add_ uses atomics and is as fast as embedding's.
    """

    @staticmethod
    def forward(ctx, table: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(idx)
        ctx.n_rows, ctx.dtype = table.shape[0], table.dtype
        return table.index_select(0, idx)  # [len(idx), F]

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        (idx,) = ctx.saved_tensors
        grad_table = torch.zeros(ctx.n_rows, grad.shape[1], dtype=ctx.dtype, device=grad.device)
        grad_table.index_add_(0, idx, grad.to(ctx.dtype))
        return grad_table, None


def gather_rows(table: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """table [R, F], idx int64 [m] -> [m, F], differentiable in `table` only."""
    return _GatherRows.apply(table, idx)


class HashGrid(nn.Module):
    """Multiresolution hash encoding (instant-NGP, Mueller et al. 2022, section 3).

    Input points lie in [0, 1]^3 (callers normalise from the scene cube). Level l has resolution
    N_l = floor(base_res * b^l), b = exp((ln max_res - ln base_res) / (n_levels - 1)); its vertices
    (N_l + 1 per axis) are indexed densely when (N_l + 1)^3 fits the table, else hashed into
    2^log2_table rows. All levels live in one parameter `table` [sum of level sizes, n_features];
    `offsets[l]` is level l's first row. Trilinear interpolation of the 8 corner features; the output
    is [n, n_levels * n_features], level-major.
    """

    def __init__(self, n_levels: int = 16, n_features: int = 2, log2_table: int = 19,
                 base_res: int = 16, max_res: int = 2048, init_scale: float = 1e-4):
        super().__init__()
        self.n_levels, self.n_features, self.log2_table = n_levels, n_features, log2_table
        growth = math.exp((math.log(max_res) - math.log(base_res)) / max(n_levels - 1, 1))
        table_size = 2 ** log2_table
        res, sizes, hashed = [], [], []
        for level in range(n_levels):
            r = int(math.floor(base_res * growth ** level))
            dense_size = (r + 1) ** 3
            res.append(r)
            hashed.append(dense_size > table_size)
            sizes.append(table_size if dense_size > table_size else dense_size)
        # dense levels come first because resolutions grow; the forward pass relies on it
        self.n_dense = sum(1 for h in hashed if not h)
        assert not any(hashed[: self.n_dense])
        self.resolutions = res
        self.level_sizes = sizes
        offsets = [0]
        for s in sizes:
            offsets.append(offsets[-1] + s)
        self.register_buffer("res", torch.tensor(res, dtype=torch.float32), persistent=False)
        self.register_buffer("offsets", torch.tensor(offsets[:-1], dtype=torch.int64), persistent=False)
        strides = torch.tensor([[1, r + 1, (r + 1) ** 2] for r in res], dtype=torch.int64)  # [L, 3]
        self.register_buffer("dense_strides", strides, persistent=False)
        self.register_buffer("primes", torch.tensor(HASH_PRIMES, dtype=torch.int64), persistent=False)
        self.table = nn.Parameter(torch.empty(offsets[-1], n_features).uniform_(-init_scale, init_scale))

    @property
    def out_dim(self) -> int:
        return self.n_levels * self.n_features

    def corner_indices(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x [n, 3] in [0, 1] -> rows into `table` [L, n, 8] and trilinear weights [L, n, 8].

        Level-major so each level group is a contiguous slice. Corner c = 4*bx + 2*by + bz (a bit
        per axis). Per-axis terms are built at [L, n, 2] size first (level offsets folded in there),
        then combined by broadcasting into preallocated outputs, so only a few ops (and no
        temporaries) run at the 8-corner size.
        """
        n, levels, k = x.shape[0], self.n_levels, self.n_dense
        pos = x.float().clamp(0.0, 1.0)[None] * self.res[:, None, None]  # [L, n, 3]
        # clamp so the +1 corner of points on the upper face stays inside the grid
        base = torch.minimum(pos.floor(), self.res[:, None, None] - 1)
        frac = pos - base  # [L, n, 3]
        base = base.long()
        corner = torch.stack([base, base + 1], dim=-1)  # [L, n, 3, 2]
        w1 = torch.stack([1.0 - frac, frac], dim=-1)  # [L, n, 3, 2]
        weights = torch.empty(levels, n, 2, 2, 2, device=x.device)
        torch.mul(w1[:, :, 0, :, None, None] * w1[:, :, 1, None, :, None], w1[:, :, 2, None, None, :],
                  out=weights)
        idx = torch.empty(levels, n, 2, 2, 2, dtype=torch.int64, device=x.device)
        if k > 0:
            t = corner[:k] * self.dense_strides[:k, None, :, None]  # [k, n, 3, 2]
            tx = t[:, :, 0] + self.offsets[:k, None, None]
            torch.add(tx[:, :, :, None, None] + t[:, :, 1, None, :, None], t[:, :, 2, None, None, :],
                      out=idx[:k])
        if k < levels:
            t = corner[k:] * self.primes[None, None, :, None]  # [L-k, n, 3, 2]
            h = idx[k:]
            torch.bitwise_xor(t[:, :, 0, :, None, None] ^ t[:, :, 1, None, :, None],
                              t[:, :, 2, None, None, :], out=h)
            h &= (1 << self.log2_table) - 1
            h += self.offsets[k:, None, None, None, None]
        return idx.view(levels, n, 8), weights.view(levels, n, 8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x [n, 3] in [0, 1]^3 -> features [n, n_levels * n_features]."""
        n = x.shape[0]
        idx, weights = self.corner_indices(x)
        feats = gather_rows(self.table, idx.reshape(-1)).view(self.n_levels, n, 8, self.n_features)
        out = (feats * weights[..., None].to(feats.dtype)).sum(dim=2)  # [L, n, F]
        return out.permute(1, 0, 2).reshape(n, self.out_dim)
