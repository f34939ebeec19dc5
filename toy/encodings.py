"""Input encodings and learned 2->2 coordinate warps for coordinate networks.

Coordinates are pixel centres in [-1, 1] (x right, y down). Every encoding maps [n, 2] -> [n, F]
and reports F as `out_features`. Conventions (chosen so the study's parameter counts come out exactly):
- "raw": (x, y) itself, F = 2.
- "sin": NeRF's gamma without the cos half and without the raw input: sin(2^k pi x), sin(2^k pi y),
  k = 0..L-1, F = 2L (L = 10 gives the study's 20 input features).
- "sincos": sin and cos of the same frequencies, F = 4L; with pe_sigma > 0 the frequencies are
  Tancik et al.'s log-linear sigma^(j/L) cycles per image instead of octaves.
- "gauss": random Fourier features (Tancik et al. 2020): [sin(pi B v), cos(pi B v)] with
  B ~ N(0, sigma^2) of shape [m, 2], F = 2m. With v in [-1, 1] this has the spectrum of the paper's
  sin(2 pi B v') for v' in [0, 1]. B is a fixed buffer, not a parameter.
- "learned": Linear(2 -> N) followed by an activation, trained jointly (the study's "learned
  embedding"), F = N; adds 3N parameters.
"""
from __future__ import annotations

import math

import torch
from torch import nn


class RawEncoding(nn.Module):
    out_features = 2

    def forward(self, xy: torch.Tensor) -> torch.Tensor:  # [n, 2] -> [n, 2]
        return xy


class FrequencyEncoding(nn.Module):
    """sin (and optionally cos) of n_freqs frequencies per coordinate.

    sigma = 0: NeRF's octaves 2^k pi, k = 0..n_freqs-1. sigma > 0: Tancik et al.'s log-linear
    frequencies pi sigma^(j/m), j = 0..m-1 (m = n_freqs), i.e. 1 to about sigma cycles per image.
    """

    def __init__(self, n_freqs: int, with_cos: bool, sigma: float = 0.0):
        super().__init__()
        if n_freqs < 1:
            raise ValueError(f"n_freqs must be >= 1, got {n_freqs}")
        self.with_cos = with_cos
        steps = torch.arange(n_freqs, dtype=torch.float32)
        freqs = 2.0 ** steps if sigma <= 0 else sigma ** (steps / n_freqs)
        self.register_buffer("freqs", math.pi * freqs)
        self.out_features = 2 * n_freqs * (2 if with_cos else 1)

    def forward(self, xy: torch.Tensor) -> torch.Tensor:  # [n, 2] -> [n, F]
        angles = (xy[:, :, None] * self.freqs).flatten(1)  # [n, 2L]: x's frequencies, then y's
        if self.with_cos:
            return torch.cat([torch.sin(angles), torch.cos(angles)], dim=1)
        return torch.sin(angles)


class GaussianFourierEncoding(nn.Module):
    """Random Fourier features with a seeded Gaussian matrix B [m, 2] of standard deviation sigma."""

    def __init__(self, n_features: int, sigma: float, generator: torch.Generator):
        super().__init__()
        b = torch.randn(n_features, 2, generator=generator) * sigma
        self.register_buffer("B", b)
        self.out_features = 2 * n_features

    def forward(self, xy: torch.Tensor) -> torch.Tensor:  # [n, 2] -> [n, 2m]
        angles = math.pi * xy @ self.B.T  # [n, m]
        return torch.cat([torch.sin(angles), torch.cos(angles)], dim=1)


class LearnedEmbedding(nn.Module):
    """Linear(2 -> N) + activation. With "sine" the first layer is a learned Fourier basis whose
    initial frequencies are uniform in [-scale, scale] (as a SIREN first layer with omega_0 = scale)."""

    def __init__(self, n_out: int, activation: nn.Module, scale: float, sine: bool):
        super().__init__()
        self.linear = nn.Linear(2, n_out)
        self.activation = activation
        self.out_features = n_out
        if sine:
            with torch.no_grad():
                self.linear.weight.uniform_(-scale, scale)
                self.linear.bias.uniform_(-math.pi, math.pi)

    def forward(self, xy: torch.Tensor) -> torch.Tensor:  # [n, 2] -> [n, N]
        return self.activation(self.linear(xy))


class AffineWarp(nn.Module):
    """Learned 2x2 matrix + bias on the coordinates, initialised to the identity."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(2, 2)
        with torch.no_grad():
            self.linear.weight.copy_(torch.eye(2))
            self.linear.bias.zero_()

    def forward(self, xy: torch.Tensor) -> torch.Tensor:  # [n, 2] -> [n, 2]
        return self.linear(xy)


class MLPWarp(nn.Module):
    """xy + MLP(xy): a smooth learned deformation; the last layer starts at zero so it is the identity."""

    def __init__(self, hidden: int = 16):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(2, hidden), nn.Tanh(), nn.Linear(hidden, hidden), nn.Tanh(),
                                 nn.Linear(hidden, 2))
        with torch.no_grad():
            self.net[-1].weight.zero_()
            self.net[-1].bias.zero_()

    def forward(self, xy: torch.Tensor) -> torch.Tensor:  # [n, 2] -> [n, 2]
        return xy + self.net(xy)
