"""Samples along rays: stratified samples and the hierarchical (importance) sampler of NeRF
(Mildenhall et al. 2020, section 5.2). The segment they sample comes from nerf.volume.aabb.

Interval convention (used by every function here and by nerf.models.vanilla): a ray's samples
t_0 < t_1 < ... < t_{N-1} in [near, far] stand for the intervals [t_i, t_{i+1}], the last one
ending at `far`; so deltas_i = t_{i+1} - t_i and deltas_{N-1} = far - t_{N-1}. The paper's code
gives the last sample a delta of 1e10 instead, which makes anything at the far end opaque; here
`far` is where the scene cube ends, so the distance to `far` is the honest length, and the rest of
the ray is left to the background (for NDC rays, whose far end is infinity, nerf.models.vanilla gives that
rest to the last sample instead, as the 1e10 does). With this convention the edges [t_0, ..., t_{N-1}, far] are
exactly the bins whose weights the hierarchical sampler resamples.
"""
from __future__ import annotations

import torch


def intervals(t: torch.Tensor, far: torch.Tensor) -> torch.Tensor:
    """Interval lengths of sorted samples t [n, N] whose last interval ends at far [n]: [n, N]."""
    return torch.diff(t, dim=-1, append=far[:, None].to(t.dtype))


def stratified_samples(near: torch.Tensor, far: torch.Tensor, n_samples: int, stratified: bool,
                       generator: torch.Generator | None) -> tuple[torch.Tensor, torch.Tensor]:
    """Stratified sampling of [near, far] (NeRF eq. 2).

    near, far: [n_rays]. The segment is cut into n_samples equal bins; sample i is at the start of
    bin i when not stratified (evenly spaced, t_0 = near), or uniformly at random inside bin i when
    stratified. Returns (t [n_rays, n_samples] sorted, deltas [n_rays, n_samples]).
    """
    n = near.shape[0]
    steps = torch.arange(n_samples, dtype=near.dtype, device=near.device)  # [N]
    if stratified:
        u = torch.rand(n, n_samples, generator=generator, dtype=near.dtype, device=near.device)
        steps = steps + u  # [n, N]
    t = near[:, None] + (far - near)[:, None] * (steps / n_samples)  # [n, N]
    return t, intervals(t, far)


def sample_pdf(bins: torch.Tensor, weights: torch.Tensor, n_samples: int, stratified: bool,
               generator: torch.Generator | None, eps: float = 1e-5) -> torch.Tensor:
    """Inverse-transform sampling of the piecewise-constant PDF given by `weights` on `bins`
    (NeRF eq. 5, the fine network's samples).

    bins: [n_rays, n_bins + 1] sorted bin edges; weights: [n_rays, n_bins] >= 0 (not normalised;
    treated as constants: no gradient flows through the resampling, as in the paper). `eps` is
    added to every weight so that rays with no density still get (uniform) samples and the CDF is
    strictly increasing. The CDF is inverted at n_samples quantiles u: (i + 0.5) / n_samples
    when not stratified, (i + U[0,1)) / n_samples when stratified (one per stratum of [0, 1], which
    covers the PDF more evenly than the paper's sorted uniform draws). Inside a bin the CDF is
    linear, so the inverse interpolates linearly between the bin's edges.
    Returns t [n_rays, n_samples], sorted along each ray, inside [bins[:, 0], bins[:, -1]].
    """
    assert bins.shape[:-1] == weights.shape[:-1] and bins.shape[-1] == weights.shape[-1] + 1, \
        (bins.shape, weights.shape)
    n = weights.shape[0]
    w = weights.detach() + eps  # [n, B]
    pdf = w / w.sum(dim=-1, keepdim=True)
    cdf = torch.cumsum(pdf, dim=-1).clamp_max(1.0)
    cdf = torch.cat([torch.zeros_like(cdf[:, :1]), cdf], dim=-1)  # [n, B + 1], cdf[:, 0] = 0
    steps = torch.arange(n_samples, dtype=w.dtype, device=w.device)
    if stratified:
        u = steps + torch.rand(n, n_samples, generator=generator, dtype=w.dtype, device=w.device)
    else:
        u = (steps + 0.5).expand(n, n_samples)
    u = (u / n_samples).contiguous()  # [n, S] in [0, 1)

    # the bin k with cdf[k] <= u < cdf[k + 1]; clamps keep u == 1 and rounding in range
    above = torch.searchsorted(cdf, u, right=True).clamp(1, cdf.shape[-1] - 1)  # [n, S]
    below = above - 1
    cdf_lo, cdf_hi = cdf.gather(-1, below), cdf.gather(-1, above)
    bin_lo, bin_hi = bins.detach().gather(-1, below), bins.detach().gather(-1, above)
    denom = cdf_hi - cdf_lo
    frac = ((u - cdf_lo) / torch.where(denom < 1e-12, torch.ones_like(denom), denom)).clamp(0.0, 1.0)
    return bin_lo + frac * (bin_hi - bin_lo)
