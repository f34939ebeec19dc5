"""nerf/train/metrics.py against the direct formulas."""
import pytest
import torch

from nerf.train.metrics import gaussian_window, psnr, ssim


def _ssim_direct(x, y, k=11, sigma=1.5):
    """Wang et al.'s formula evaluated window by window (slow, obvious)."""
    w = gaussian_window(k, sigma)
    vals = []
    for c in range(x.shape[2]):
        for i in range(x.shape[0] - k + 1):
            for j in range(x.shape[1] - k + 1):
                a, b = x[i:i + k, j:j + k, c].double(), y[i:i + k, j:j + k, c].double()
                ma, mb = (w * a).sum(), (w * b).sum()
                va, vb = (w * (a - ma) ** 2).sum(), (w * (b - mb) ** 2).sum()
                cov = (w * (a - ma) * (b - mb)).sum()
                c1, c2 = 0.01 ** 2, 0.03 ** 2
                vals.append(((2 * ma * mb + c1) * (2 * cov + c2)) / ((ma ** 2 + mb ** 2 + c1) * (va + vb + c2)))
    return float(torch.stack(vals).mean())


def test_metrics_against_direct_formulas():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(16, 14, 3, generator=g)
    y = (x + 0.1 * torch.randn(16, 14, 3, generator=g)).clamp(0, 1)
    assert ssim(x, y) == pytest.approx(_ssim_direct(x, y), abs=1e-9)
    assert ssim(x, x) == pytest.approx(1.0)
    assert psnr(torch.zeros(4, 4, 3), torch.full((4, 4, 3), 0.1)) == pytest.approx(20.0)


def test_an_image_smaller_than_the_window_is_scored_with_the_window_it_holds():
    # an 8x6 capture (nerf-train evaluates it too) crashed in conv2d: the 11x11 window did not fit
    g = torch.Generator().manual_seed(1)
    x = torch.rand(6, 8, 3, generator=g)
    y = (x + 0.1 * torch.randn(6, 8, 3, generator=g)).clamp(0, 1)
    assert ssim(x, y) == pytest.approx(_ssim_direct(x, y, k=5), abs=1e-9)  # 6 rows hold an odd window of 5
    assert ssim(x, x) == pytest.approx(1.0) and ssim(x[:1, :1], y[:1, :1]) <= 1.0
