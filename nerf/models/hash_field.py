"""Radiance fields: points (and view directions) -> density and colour.

`HashField` is instant-NGP's field (Mueller et al. 2022, section 5.4): a multiresolution hash grid,
a one-hidden-layer density MLP whose first output is log-density, and a colour MLP fed the other
density outputs and the view direction in spherical harmonics. The vanilla MLP field lives with the
vanilla model (nerf/vanilla.py).
"""
from __future__ import annotations

import torch
from torch import nn

from nerf.models.encodings import HashGrid, SphericalHarmonics


class _TruncExp(torch.autograd.Function):
    """exp(x) whose gradient uses exp(min(x, 15)): large log-densities early in training would
    otherwise produce huge gradients (instant-NGP, torch-ngp)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x)
        return torch.exp(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        (x,) = ctx.saved_tensors
        return grad * torch.exp(x.clamp(max=15.0))


def trunc_exp(x: torch.Tensor) -> torch.Tensor:
    return _TruncExp.apply(x.float())


def mlp(in_dim: int, hidden: int, out_dim: int, n_hidden: int) -> nn.Sequential:
    """ReLU MLP with `n_hidden` hidden layers, no output activation, no biases (as tiny-cuda-nn)."""
    layers: list[nn.Module] = []
    d = in_dim
    for _ in range(n_hidden):
        layers += [nn.Linear(d, hidden, bias=False), nn.ReLU(inplace=True)]
        d = hidden
    layers.append(nn.Linear(d, out_dim, bias=False))
    return nn.Sequential(*layers)


class HashField(nn.Module):
    """instant-NGP field over the cube [-bound, bound]^3.

    density(x [n, 3]) -> sigma [n]; forward(x [n, 3], d [n, 3] unit) -> (sigma [n], rgb [n, 3]);
    geometry + color split forward in two, so inference can skip colour for hidden samples.
    """

    def __init__(self, bound: float, n_levels: int = 16, n_features: int = 2, log2_table: int = 19,
                 base_res: int = 16, max_res: int = 2048, hidden: int = 64, geo_features: int = 15,
                 density_shift: float = 0.0):
        super().__init__()
        self.bound = float(bound)
        self.density_shift = float(density_shift)
        self.grid = HashGrid(n_levels, n_features, log2_table, base_res, max_res)
        self.density_mlp = mlp(self.grid.out_dim, hidden, 1 + geo_features, n_hidden=1)
        self.dir_encoding = SphericalHarmonics(4)
        self.color_mlp = mlp(geo_features + self.dir_encoding.out_dim, hidden, 3, n_hidden=2)

    def _geometry(self, x: torch.Tensor) -> torch.Tensor:
        unit = (x + self.bound) / (2.0 * self.bound)  # [n, 3] in [0, 1]
        return self.density_mlp(self.grid(unit))  # [n, 1 + geo]

    def _sigma(self, h: torch.Tensor) -> torch.Tensor:
        return trunc_exp(h[:, 0] + self.density_shift if self.density_shift else h[:, 0])

    def density(self, x: torch.Tensor) -> torch.Tensor:
        return self._sigma(self._geometry(x))

    def forward(self, x: torch.Tensor, d: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self._geometry(x)
        return self._sigma(h), self.color(h, d)

    def geometry(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(sigma [n], h [n, 1 + geo]): density and the density MLP's output that `color` takes."""
        h = self._geometry(x)
        return self._sigma(h), h

    def color(self, h: torch.Tensor, d: torch.Tensor) -> torch.Tensor:
        """rgb [n, 3] from `geometry`'s h and unit directions d [n, 3]."""
        rgb = torch.sigmoid(self.color_mlp(torch.cat([h[:, 1:], self.dir_encoding(d).to(h.dtype)], -1)))
        return rgb.float()

    def param_groups(self, lr: float, weight_decay: float, eps: float) -> list[dict]:
        """The hash table without weight decay (it would erase rarely-seen entries), MLPs with."""
        mlps = list(self.density_mlp.parameters()) + list(self.color_mlp.parameters())
        return [dict(params=[self.grid.table], lr=lr, eps=eps, weight_decay=0.0, name="table"),
                dict(params=mlps, lr=lr, eps=eps, weight_decay=weight_decay, name="mlp")]
