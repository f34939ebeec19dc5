"""Volume rendering: the NeRF quadrature, dense and packed (ragged), and compositing.

NeRF (Mildenhall et al. 2020, eq. 3): for samples i along a ray with density sigma_i and interval
length delta_i,
    alpha_i = 1 - exp(-sigma_i delta_i)
    T_i     = prod_{j<i} (1 - alpha_j) = exp(-sum_{j<i} sigma_j delta_j)
    w_i     = T_i alpha_i,       C = sum_i w_i c_i + (1 - sum_i w_i) * background.
Transmittance is computed from the exclusive cumulative sum of sigma*delta (the log form), which is
exact and avoids a product of many numbers near 1.

"Packed" samples are a flat list of samples of many rays ([n_samples] tensors) with `ray_indices`
[n_samples] (sorted ascending, samples of one ray contiguous and ordered by depth), as produced by
the occupancy-culled marcher: no padding, no per-ray Python loop.
"""
from __future__ import annotations

import torch


def volume_weights(sigmas: torch.Tensor, deltas: torch.Tensor
                   ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Dense quadrature. sigmas, deltas: [n_rays, n_samples].

    Returns (weights, transmittance, alphas), each [n_rays, n_samples]; transmittance[i] is T_i, the
    light surviving up to (not including) sample i.
    """
    assert sigmas.shape == deltas.shape and sigmas.ndim == 2, (sigmas.shape, deltas.shape)
    tau = sigmas * deltas  # [n_rays, n_samples] optical depth of each interval
    alphas = 1.0 - torch.exp(-tau)
    excl = torch.cumsum(tau, dim=-1) - tau  # sum_{j<i} tau_j
    trans = torch.exp(-excl)
    return trans * alphas, trans, alphas


def _cumsum_dtype(device: torch.device) -> torch.dtype:
    # a packed cumsum runs across all rays of a batch; float32 would lose the per-ray offsets
    return torch.float32 if device.type == "mps" else torch.float64


def packed_exclusive_sum(values: torch.Tensor, ray_indices: torch.Tensor, n_rays: int) -> torch.Tensor:
    """Per-ray exclusive prefix sums of packed values [n_samples] -> [n_samples] (same dtype)."""
    cs = torch.cumsum(values.to(_cumsum_dtype(values.device)), dim=0)
    excl = cs - values.to(cs.dtype)
    counts = torch.bincount(ray_indices, minlength=n_rays)  # [n_rays]
    starts = torch.cumsum(counts, 0) - counts  # first sample of each ray
    # the running sum before a ray's first sample is subtracted from all its samples
    offset = excl.index_select(0, starts.clamp(max=max(values.shape[0] - 1, 0)))  # [n_rays]
    return (excl - offset.index_select(0, ray_indices)).to(values.dtype)


def volume_weights_packed(sigmas: torch.Tensor, deltas: torch.Tensor, ray_indices: torch.Tensor,
                          n_rays: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Packed quadrature. sigmas, deltas, ray_indices: [n_samples] (ray_indices sorted).

    Returns (weights, transmittance, alphas), each [n_samples]. Differentiable in sigmas.
    """
    assert sigmas.shape == deltas.shape == ray_indices.shape and sigmas.ndim == 1
    tau = sigmas * deltas
    alphas = 1.0 - torch.exp(-tau)
    if tau.numel() == 0:
        return tau, tau, alphas
    trans = torch.exp(-packed_exclusive_sum(tau, ray_indices, n_rays))
    return trans * alphas, trans, alphas


def composite(weights: torch.Tensor, rgbs: torch.Tensor, t_mid: torch.Tensor,
              ray_indices: torch.Tensor | None, n_rays: int, background: torch.Tensor | None
              ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Accumulate colour, depth and opacity per ray.

    Dense: weights, t_mid [n_rays, n_samples], rgbs [n_rays, n_samples, 3], ray_indices None.
    Packed: weights, t_mid [n_samples], rgbs [n_samples, 3], ray_indices [n_samples].
    background: [n_rays, 3], [3] or None (= black, nothing added).
    Returns rgb [n_rays, 3], depth [n_rays] (expected termination distance given the ray terminates:
    sum w t / sum w, 0 where nothing is hit) and opacity [n_rays] (sum of weights).
    """
    if ray_indices is None:
        opacity = weights.sum(dim=-1)
        rgb = (weights[..., None] * rgbs).sum(dim=-2)
        depth_sum = (weights * t_mid).sum(dim=-1)
    else:
        dtype = rgbs.dtype
        w = weights.to(dtype)
        zeros = torch.zeros(n_rays, dtype=dtype, device=weights.device)
        opacity = zeros.index_add(0, ray_indices, w)
        rgb = torch.zeros(n_rays, 3, dtype=dtype, device=weights.device).index_add(
            0, ray_indices, w[:, None] * rgbs)
        depth_sum = zeros.index_add(0, ray_indices, w * t_mid.to(dtype))
    depth = depth_sum / opacity.clamp_min(1e-10)
    if background is not None:
        rgb = rgb + (1.0 - opacity)[:, None] * background.to(rgb.dtype)
    return rgb, depth, opacity


def distortion_packed(weights: torch.Tensor, s_start: torch.Tensor, s_end: torch.Tensor,
                      ray_indices: torch.Tensor, n_rays: int) -> torch.Tensor:
    """mip-NeRF 360's distortion loss (Barron et al. 2022, eq. 15) of each ray, packed: [n_rays].

        sum_ij w_i w_j |m_i - m_j| + 1/3 sum_i w_i^2 (s_end_i - s_start_i),   m = interval midpoints

    over a ray's samples in a normalised distance s (intervals sorted along the ray, as marched).
    Small when a ray's weight sits in one short stretch, as on a surface; haze and floaters spread
    it. The double sum is 2 sum_i w_i (m_i W_i - S_i) with W_i, S_i the sums of w and w m in front
    of sample i, so the cost is linear. Differentiable in the weights."""
    mid = 0.5 * (s_start + s_end).to(weights.dtype)
    inter = 2.0 * weights * (mid * packed_exclusive_sum(weights, ray_indices, n_rays)
                             - packed_exclusive_sum(weights * mid, ray_indices, n_rays))
    intra = weights.square() * (s_end - s_start).to(weights.dtype) / 3.0
    return torch.zeros(n_rays, dtype=weights.dtype, device=weights.device).index_add(0, ray_indices, inter + intra)
