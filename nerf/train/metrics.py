"""Image quality metrics: PSNR and SSIM, on [H, W, 3] float images in [0, 1]."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def mse_to_psnr(mse: float) -> float:
    return -10.0 * math.log10(max(mse, 1e-10))


def psnr(pred: torch.Tensor, target: torch.Tensor) -> float:
    """Peak signal-to-noise ratio in dB for images in [0, 1]."""
    return mse_to_psnr(float(torch.mean((pred.float() - target.float()) ** 2)))


def gaussian_1d(size: int = 11, sigma: float = 1.5, dtype=torch.float64) -> torch.Tensor:
    x = torch.arange(size, dtype=dtype) - (size - 1) / 2.0
    g = torch.exp(-(x ** 2) / (2.0 * sigma ** 2))
    return g / g.sum()  # [size], sums to 1


def gaussian_window(size: int = 11, sigma: float = 1.5, dtype=torch.float64) -> torch.Tensor:
    g = gaussian_1d(size, sigma, dtype)
    return g[:, None] * g[None, :]  # [size, size], sums to 1


def ssim(pred: torch.Tensor, target: torch.Tensor, window: int = 11, sigma: float = 1.5,
         k1: float = 0.01, k2: float = 0.03) -> float:
    """Structural similarity (Wang et al. 2004) with an 11x11 Gaussian window (sigma 1.5), computed
    per channel over 'valid' window positions (no padding) and averaged, as in the NeRF papers'
    evaluation code. pred, target: [H, W, C] in [0, 1]. An image smaller than the window (a few
    pixels a side) is scored with the largest odd window it holds, instead of failing."""
    window = min(window, *pred.shape[:2])
    window -= 1 - window % 2  # odd: the window has a centre pixel
    x = pred.double().permute(2, 0, 1)[:, None]  # [C, 1, H, W]
    y = target.double().permute(2, 0, 1)[:, None]
    # the 2-D Gaussian is the outer product of a 1-D one: two 1-D passes, 2k instead of k^2 products
    g = gaussian_1d(window, sigma).to(x.device)
    gv, gh = g[None, None, :, None], g[None, None, None, :]  # [1, 1, k, 1], [1, 1, 1, k]

    def blur(z: torch.Tensor) -> torch.Tensor:
        return F.conv2d(F.conv2d(z, gv), gh)
    mu_x, mu_y = blur(x), blur(y)
    sxx = blur(x * x) - mu_x ** 2
    syy = blur(y * y) - mu_y ** 2
    sxy = blur(x * y) - mu_x * mu_y
    c1, c2 = k1 ** 2, k2 ** 2
    s = ((2 * mu_x * mu_y + c1) * (2 * sxy + c2)) / ((mu_x ** 2 + mu_y ** 2 + c1) * (sxx + syy + c2))
    return float(s.mean())
