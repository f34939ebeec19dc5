"""Input encodings: NeRF frequency (positional) encoding, spherical harmonics, multiresolution hash grid.

All encodings are nn.Modules mapping [n, in_dim] -> [n, out_dim] and expose `out_dim`.
"""
from __future__ import annotations

import contextlib
import math
import threading

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
        """x [n, 3] in [0, 1] -> rows into `table` [L, 8, n] and trilinear weights [L, 8, n].

        Corner c = 4*bx + 2*by + bz (a bit per axis). Points run along the last, contiguous axis:
        every op then streams over n with the small axes (level, corner) outside, which is what
        vectorises; with n first and corners innermost the same ops ran 4x slower on a CPU.
        Per-axis terms are built at [L, 3, 2, n] first (level offsets folded in there where they
        can be), then combined by broadcasting into preallocated outputs. Rows are int32 while
        the table has fewer than 2^31 elements (half the memory traffic of int64); the hash's
        products are taken in int64 and masked before narrowing, so nothing overflows.
        """
        n, levels, k = x.shape[0], self.n_levels, self.n_dense
        rows_dtype = torch.int32 if self.table.numel() < 2 ** 31 else torch.int64
        res = self.res[:, None, None]
        pos = x.float().clamp(0.0, 1.0).t()[None] * res  # [L, 3, n]
        # clamp so the +1 corner of points on the upper face stays inside the grid
        base = torch.minimum(pos.floor(), res - 1)
        frac = pos - base
        w = torch.stack([1.0 - frac, frac], dim=2)  # [L, 3, 2, n]
        weights = torch.empty(levels, 2, 2, 2, n, device=x.device)
        torch.mul(w[:, 0, :, None, None] * w[:, 1, None, :, None], w[:, 2, None, None, :], out=weights)
        base = base.long()
        corner = torch.stack([base, base + 1], dim=2)  # [L, 3, 2, n]
        rows = torch.empty(levels, 2, 2, 2, n, dtype=rows_dtype, device=x.device)
        if k > 0:
            t = corner[:k] * self.dense_strides[:k, :, None, None]  # [k, 3, 2, n]
            t[:, 0] += self.offsets[:k, None, None]
            t = t.to(rows_dtype)
            torch.add(t[:, 0, :, None, None] + t[:, 1, None, :, None], t[:, 2, None, None, :], out=rows[:k])
        if k < levels:
            t = corner[k:] * self.primes[None, :, None, None]  # [L-k, 3, 2, n]
            t = (t & ((1 << self.log2_table) - 1)).to(rows_dtype)  # (a ^ b ^ c) & m == a&m ^ b&m ^ c&m
            h = rows[k:]
            torch.bitwise_xor(t[:, 0, :, None, None] ^ t[:, 1, None, :, None], t[:, 2, None, None, :], out=h)
            h += self.offsets[k:, None, None, None, None].to(rows_dtype)
        return rows.view(levels, 8, n), weights.view(levels, 8, n)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x [n, 3] in [0, 1]^3 -> features [n, n_levels * n_features]. Differentiable in the table
        (positions get no gradient)."""
        rows, weights = self.corner_indices(x.detach())
        return _HashLookup.apply(self.table, rows, weights)


class _HashLookup(torch.autograd.Function):
    """The hash grid's lookup and trilinear interpolation, one feature at a time.

    table [R, F], rows [L, 8, n] and weights [L, 8, n] -> [n, L * F]. Each feature is gathered from
    the flat table into a contiguous [L, 8, n] block and reduced over the corners there; the
    backward scatters the corners' shares back with one 1-D index_add_ per feature (atomics on CUDA).
    Gathering [L, n, 8, F] blocks and scattering whole rows ran 1.7x slower on a CPU, and
    nn.functional.embedding's backward (which sorts the indices) slower still (BENCHMARKS.md,
    "Speeding up the step").
    """

    @staticmethod
    def forward(ctx, table: torch.Tensor, rows: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        levels, _, n = rows.shape
        n_features = table.shape[1]
        flat = table.reshape(-1)
        first = rows.reshape(-1) * n_features  # element index of each corner's first feature
        w = weights.to(table.dtype)
        out = torch.empty(n, levels, n_features, dtype=table.dtype, device=table.device)
        for f in range(n_features):
            feats = flat.index_select(0, first + f if f else first).view(levels, 8, n)
            out[:, :, f] = (feats * w).sum(dim=1).t()
        ctx.save_for_backward(first, w)
        ctx.table_shape = table.shape
        ctx.sink = TableGrads.active()
        ctx.table = table if ctx.sink is not None else None
        return out.view(n, levels * n_features)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        first, w = ctx.saved_tensors
        n_rows, n_features = ctx.table_shape
        levels, _, n = w.shape
        grad = grad.reshape(n, levels, n_features).to(w.dtype)
        sink = ctx.sink
        if sink is None:
            grad_table = torch.zeros(n_rows * n_features, dtype=w.dtype, device=w.device)
        else:  # into the pass's one buffer; autograd gets nothing to add for the table
            grad_table = sink.buffer(ctx.table).view(-1)
        for f in range(n_features):
            share = w * grad[:, :, f].t()[:, None, :]  # [L, 8, n]: what each corner receives
            grad_table.index_add_(0, first + f if f else first, share.reshape(-1))
        return (None if sink is not None else grad_table.view(n_rows, n_features)), None, None


class TableGrads:
    """One training pass's gradients of the hash tables, each summed into a single buffer.

    A batch's samples reach the field in several calls (the marcher works in rounds,
    nerf.volume.rounds), and autograd gives every call's lookup a dense table-sized gradient of its
    own, then adds them up: for a 2^17-row CPU table, five 12 MB fills and adds a step, a fifth of a
    128-ray step's time (BENCHMARKS.md, "One gradient buffer per hash table"). Lookups made inside
    `collecting()` scatter straight into one buffer per table and hand autograd nothing for it;
    `gradients` then gives the sums in the place autograd would have.

    The context is per thread (as torch.no_grad is), so the shard pool's threads each collect
    their own pass. A lookup remembers the collector of its forward, so its backward may run later.
    """

    _local = threading.local()

    def __init__(self):
        self._buffers: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}  # id(table) -> (table, grad)

    @classmethod
    def active(cls) -> "TableGrads | None":
        return getattr(cls._local, "collector", None)

    @contextlib.contextmanager
    def collecting(self):
        previous = TableGrads.active()
        TableGrads._local.collector = self
        try:
            yield self
        finally:
            TableGrads._local.collector = previous

    def buffer(self, table: torch.Tensor) -> torch.Tensor:
        """The summed gradient of `table` so far (zeros when first asked), table-shaped."""
        entry = self._buffers.get(id(table))
        if entry is None:
            entry = self._buffers[id(table)] = (table, torch.zeros_like(table, memory_format=torch.contiguous_format))
        return entry[1]

    def gradients(self, params: list[torch.Tensor], grads: tuple) -> tuple:
        """torch.autograd.grad's result for `params` with the collected sums put in: a table's own
        entry (None, as autograd saw no gradient for it) plus its buffer."""
        out = list(grads)
        for j, p in enumerate(params):
            entry = self._buffers.get(id(p))
            if entry is not None and entry[0] is p:
                out[j] = entry[1] if out[j] is None else out[j] + entry[1]
        return tuple(out)

    def accumulate(self) -> None:
        """Adds the collected sums to the tables' .grad, as loss.backward() does for other parameters."""
        for table, grad in self._buffers.values():
            table.grad = grad if table.grad is None else table.grad + grad
