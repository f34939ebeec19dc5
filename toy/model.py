"""Coordinate MLP for one image: (x, y) -> [warp] -> encoding -> MLP -> output activation -> RGB.

`layers` (for titles) is [input features, *hidden, 3], the notation of the study: [2,64,64,64,3] is
raw input with three hidden layers of 64 (8,707 parameters). Parameters counted are the trainable
ones (a Gaussian feature matrix is fixed, so it does not count).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

import torch
from torch import nn

from toy.encodings import (AffineWarp, FrequencyEncoding, GaussianFourierEncoding, LearnedEmbedding,
                           MLPWarp, RawEncoding)

ENCODINGS = ("raw", "sin", "sincos", "gauss", "learned")
ACTIVATIONS = ("relu", "leaky", "sine")
OUTPUTS = ("none", "sigmoid", "relu", "leaky")
WARPS = ("none", "affine", "mlp")
EMBED_ACTIVATIONS = ("sine", "relu", "leaky", "tanh")


@dataclass(frozen=True)
class ModelConfig:
    encoding: str = "sin"  # one of ENCODINGS; "sin" with 10 frequencies is the study's [20, ...] input
    frequencies: int = 10  # L for "sin"/"sincos": octaves 2^0..2^(L-1) times pi
    pe_sigma: float = 0.0  # > 0: log-linear frequencies sigma^(j/L) (Tancik et al.'s PE) instead of octaves
    gauss_features: int = 256  # m for "gauss" (input features = 2m)
    gauss_sigma: float = 10.0  # standard deviation of B for "gauss" (Tancik et al.'s best for photos)
    embed_dim: int = 20  # N for "learned": Linear(2 -> N); the study used 20
    embed_activation: str = "sine"  # after Linear(2 -> N); sine makes it a learned Fourier basis
    embed_scale: float = 30.0  # initial frequency range of a sine embedding
    warp: str = "none"  # learned 2->2 coordinate warp in front of the encoding
    warp_hidden: int = 16  # hidden width of the MLP warp
    hidden: tuple[int, ...] = (64, 64, 64)  # hidden widths
    activation: str = "relu"  # hidden activation; "sine" is SIREN (Sitzmann et al. 2020)
    leaky_slope: float = 0.01  # negative slope of LeakyReLU (torch's default)
    omega_0: float = 30.0  # SIREN frequency factor
    output: str = "none"  # after the last layer: none / sigmoid / relu (saturates) / leaky

    def validated(self) -> "ModelConfig":
        for name, value, allowed in (("encoding", self.encoding, ENCODINGS),
                                     ("activation", self.activation, ACTIVATIONS),
                                     ("output", self.output, OUTPUTS), ("warp", self.warp, WARPS),
                                     ("embed_activation", self.embed_activation, EMBED_ACTIVATIONS)):
            if value not in allowed:
                raise ValueError(f"{name} must be one of {', '.join(allowed)}, got {value!r}")
        if not self.hidden or min(self.hidden) < 1:
            raise ValueError(f"hidden widths must be positive, got {list(self.hidden)}")
        return self

    def with_(self, **changes) -> "ModelConfig":
        return replace(self, **changes)


def _activation(name: str, slope: float) -> nn.Module:
    return {"relu": nn.ReLU(), "leaky": nn.LeakyReLU(slope), "tanh": nn.Tanh(), "none": nn.Identity(),
            "sigmoid": nn.Sigmoid()}[name]


class Sine(nn.Module):
    def __init__(self, omega: float = 1.0):
        super().__init__()
        self.omega = omega

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sin(self.omega * x)


class CoordMLP(nn.Module):
    """(x, y) in [-1, 1] -> RGB. Built deterministically from `generator`."""

    def __init__(self, config: ModelConfig, generator: torch.Generator):
        super().__init__()
        cfg = config.validated()
        self.config = cfg
        # Seed torch's default initialisers through the generator so a config + seed is reproducible.
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(torch.randint(0, 2**31 - 1, (1,), generator=generator)))
            self.warp = (AffineWarp() if cfg.warp == "affine" else
                         MLPWarp(cfg.warp_hidden) if cfg.warp == "mlp" else None)
            self.encoding = self._make_encoding(cfg, generator)
            widths = [self.encoding.out_features, *cfg.hidden, 3]
            self.linears = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:], strict=True))
            if cfg.activation == "sine":
                self._siren_init()
        self.hidden_act = (Sine(cfg.omega_0) if cfg.activation == "sine"
                           else _activation(cfg.activation, cfg.leaky_slope))
        self.output_act = _activation(cfg.output, cfg.leaky_slope)
        self.layers = widths  # [in, *hidden, 3], for titles

    @staticmethod
    def _make_encoding(cfg: ModelConfig, generator: torch.Generator) -> nn.Module:
        if cfg.encoding == "raw":
            return RawEncoding()
        if cfg.encoding in ("sin", "sincos"):
            return FrequencyEncoding(cfg.frequencies, with_cos=cfg.encoding == "sincos", sigma=cfg.pe_sigma)
        if cfg.encoding == "gauss":
            return GaussianFourierEncoding(cfg.gauss_features, cfg.gauss_sigma, generator)
        sine = cfg.embed_activation == "sine"
        act = Sine() if sine else _activation(cfg.embed_activation, cfg.leaky_slope)
        return LearnedEmbedding(cfg.embed_dim, act, cfg.embed_scale, sine)

    def _siren_init(self) -> None:
        """SIREN init: first layer U(-1/in, 1/in), later U(-sqrt(6/in)/omega_0, +)."""
        with torch.no_grad():
            for i, lin in enumerate(self.linears):
                fan_in = lin.in_features
                bound = 1.0 / fan_in if i == 0 else math.sqrt(6.0 / fan_in) / self.config.omega_0
                lin.weight.uniform_(-bound, bound)

    @property
    def n_params(self) -> int:
        return sum(p.numel() for p in self.parameters() if p.requires_grad)

    def warped(self, xy: torch.Tensor) -> torch.Tensor:  # [n, 2] -> [n, 2]
        return self.warp(xy) if self.warp is not None else xy

    def features(self, xy: torch.Tensor) -> torch.Tensor:  # [n, 2] -> [n, F]
        return self.encoding(self.warped(xy))

    def forward(self, xy: torch.Tensor) -> torch.Tensor:  # [n, 2] -> [n, 3]
        h = self.features(xy)
        for lin in self.linears[:-1]:
            h = self.hidden_act(lin(h))
        return self.output_act(self.linears[-1](h))
