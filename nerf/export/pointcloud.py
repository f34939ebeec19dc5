"""Point clouds: where the training rays end (their expected depth), with the colour they see.

The model arrives as a callable, as for meshes (nerf.export.mesh):

    rays(rays_o [n, 3], rays_d [n, 3]) -> (rgb [n, 3], depth [n], opacity [n])

Rays that stay mostly transparent (opacity below `min_opacity`) end nowhere and are dropped; points
outside the crop box too. Floaters leave isolated points, removed by the statistical test PCL and
Open3D use: a point whose mean distance to its k nearest neighbours lies more than `std_ratio`
standard deviations above the mean of that distance is an outlier.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from nerf.data.cameras import pixel_rays
from nerf.data.crop import CropBox
from nerf.data.scene import Cameras

RayFn = Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor, torch.Tensor]]
CHUNK = 1 << 14  # rays per call


def remove_outliers(points: np.ndarray, k: int = 16, std_ratio: float = 2.0) -> np.ndarray:
    """Mask [N] of points to keep (statistical outlier removal)."""
    from scipy.spatial import cKDTree
    if len(points) <= k:
        return np.ones(len(points), bool)
    dist, _ = cKDTree(points).query(points, k=k + 1)  # the first neighbour is the point itself
    mean = dist[:, 1:].mean(axis=1)
    return mean <= mean.mean() + std_ratio * mean.std()


@torch.no_grad()
def surface_points(rays: RayFn, cameras: Cameras, n_points: int, crop: CropBox, *, seed: int = 0,
                   min_opacity: float = 0.5, device="cpu",
                   should_abort: Callable[[], bool] | None = None,
                   progress: Callable[[float], None] | None = None,
                   chunk: int = CHUNK) -> tuple[np.ndarray, np.ndarray] | None:
    """About n_points surface points [N, 3] and uint8 colours [N, 3] from random training pixels
    (before outlier removal); None when aborted. Draws rays until n_points survive or 8 x n_points
    rays were cast, `chunk` rays per call; progress(fraction) after each call, the nearer of the two ends."""
    gen = torch.Generator().manual_seed(seed)
    pts, cols, cast = [], [], 0
    while sum(len(p) for p in pts) < n_points and cast < 8 * n_points:
        if should_abort is not None and should_abort():
            return None
        n = chunk
        cam = torch.randint(len(cameras), (n,), generator=gen)
        px = torch.rand(n, generator=gen) * cameras.width
        py = torch.rand(n, generator=gen) * cameras.height
        rays_o, rays_d = pixel_rays(cameras, cam, px, py)
        rgb, depth, opacity = rays(rays_o.to(device), rays_d.to(device))
        p = rays_o.to(device) + depth[:, None] * rays_d.to(device)
        keep = (opacity > min_opacity) & crop.contains(p)
        pts.append(p[keep].float().cpu().numpy())
        cols.append((rgb[keep].float().clamp(0, 1).cpu().numpy() * 255.0 + 0.5).astype(np.uint8))
        cast += n
        if progress is not None:
            progress(min(1.0, max(sum(len(p) for p in pts) / n_points, cast / (8 * n_points))))
    points, colours = np.concatenate(pts)[:n_points], np.concatenate(cols)[:n_points]
    return points.astype(np.float64), colours
