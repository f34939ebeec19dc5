"""How well training currently fits each training image, from the rays the steps draw anyway.

Every step draws its rays from random training images and computes each ray's error; summed per
image and decayed by step (a half-life of HALF_LIFE steps), that is each camera's recent training
PSNR at no extra cost: the viewer colours the training cameras' frustums with it while training
runs, where scoring them by rendering each view would take the worker seconds to minutes. It is a
training figure (the rays are the ones the model is fitted to), not a held-out score.
"""
from __future__ import annotations

import math

import torch

from nerf.train.metrics import mse_to_psnr

HALF_LIFE = 100  # steps: an image's estimate rests on the rays of roughly the last 1.4 x this many steps
MIN_RAYS = 8.0  # decayed ray count below which an image's estimate is not given (NaN)


class CameraFit:
    """Per training image: decayed sums of its rays' squared errors and of its ray count."""

    def __init__(self, n_images: int, device: torch.device | str = "cpu", half_life: float = HALF_LIFE):
        self.decay = 0.5 ** (1.0 / half_life)
        self.error = torch.zeros(n_images, dtype=torch.float64, device=device)
        self.rays = torch.zeros(n_images, dtype=torch.float64, device=device)

    def add(self, images: torch.Tensor, errors: torch.Tensor) -> None:
        """One step's rays: their image indices [n] and squared errors [n] (mean over RGB)."""
        self.error.mul_(self.decay).index_add_(0, images, errors.detach().to(self.error.dtype))
        self.rays.mul_(self.decay).index_add_(0, images, torch.ones_like(self.error[:1]).expand(images.shape[0]))

    def psnrs(self) -> tuple[float, ...]:
        """Each image's PSNR in dB over its recent rays; NaN for an image too few rays have come from."""
        rays = self.rays.tolist()
        mse = (self.error / self.rays.clamp_min(1e-12)).tolist()
        return tuple(mse_to_psnr(m) if n >= MIN_RAYS else math.nan for m, n in zip(mse, rays, strict=True))
