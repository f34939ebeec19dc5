"""The original NeRF (Mildenhall et al. 2020): coarse + fine 8x256 MLPs with positional encoding,
stratified then hierarchical sampling, and the NeRF volume-rendering quadrature.

Architecture (paper, appendix A / fig. 7), per MLP:
    gamma(x) [63] -> 8 x (Linear 256, ReLU), gamma(x) concatenated again to the 5th layer's
    activation (so layer 6 takes 256 + 63 inputs) -> sigma = softplus(Linear 1 - 1)  [paper: ReLU]
                                             -> feature = Linear 256 (no activation)
    [feature, gamma(d)] [256 + 27] -> Linear 128, ReLU -> Linear 3, sigmoid = rgb
with gamma of 10 frequencies for positions and 4 for view directions (`nerf.models.encodings`).

Two computations are arranged for speed without changing that function or its parameters:
- the direction layer's product with gamma(d) is the same for every sample of a ray, so it is done
  once per ray and broadcast (its weight matrix is split column-wise, not duplicated);
- the fine network re-uses the coarse samples' positional encoding, encoding only the new samples.

Sampling: the ray's segment inside the scene cube [-bound, bound]^3, clipped to the scene's near /
far; rays that miss the cube get only the background. NDC scenes (rays already mapped by the
Trainer with nerf.data.cameras.to_ndc) sample from z = -1 to z = +1 in NDC, linear in NDC depth as in
the paper, without clipping x and y. `coarse_samples` stratified samples for the coarse MLP,
`fine_samples` more drawn from its weights (nerf.volume.sampling.sample_pdf); the fine MLP evaluates
all of them together, sorted. Both renders are returned as loss terms (eq. 6). The paper's raw
density noise (for real scenes only) is not used.

One deliberate change: density is softplus(x - 1) as in mip-NeRF, not the paper's ReLU. With ReLU
a run can fall into empty space for good: once every pre-activation is negative no gradient
reaches it (seed 1 of the CPU schedule stalled at 10.3 dB, the all-background image, while seed 0
reached 20.2 dB); softplus always passes a gradient.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from nerf.data.crop import CropBox
from nerf.models.base import RadianceModel, RenderOutput
from nerf.models.encodings import FrequencyEncoding
from nerf.volume.compositing import composite, volume_weights
from nerf.volume.aabb import ray_aabb
from nerf.volume.sampling import intervals, sample_pdf, stratified_samples

SKIP_AFTER = 4  # gamma(x) is concatenated to the output of layer 4 (0-based), i.e. the 5th layer
CHUNK_SAMPLES = 1 << 16  # MLP evaluations per chunk of rays: bounds memory when rendering images


class NeRFMLP(nn.Module):
    """One NeRF MLP: encoded positions (+ per-ray direction term) -> raw density and colour."""

    def __init__(self, pos_dim: int, dir_dim: int, width: int = 256, depth: int = 8, skip: int = SKIP_AFTER):
        super().__init__()
        self.skip = skip
        layers = []
        for i in range(depth):
            fan_in = pos_dim if i == 0 else width + (pos_dim if i == skip + 1 else 0)
            layers.append(nn.Linear(fan_in, width))
        self.layers = nn.ModuleList(layers)
        self.sigma = nn.Linear(width, 1)
        self.feature = nn.Linear(width, width)
        self.rgb_hidden = nn.Linear(width + dir_dim, width // 2)  # input order: [feature, gamma(d)]
        self.rgb_out = nn.Linear(width // 2, 3)
        for m in self.modules():  # the reference code's (Keras) default: Glorot uniform, zero bias
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                nn.init.zeros_(m.bias)

    def direction_term(self, dir_enc: torch.Tensor) -> torch.Tensor:
        """gamma(d) [n_rays, dir_dim] -> its share of the rgb_hidden pre-activation [n_rays, width/2]."""
        w = self.rgb_hidden.weight[:, self.feature.out_features:]
        return F.linear(dir_enc, w, self.rgb_hidden.bias)

    def forward(self, pos_enc: torch.Tensor, dir_term: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """pos_enc [n_rays, S, pos_dim], dir_term [n_rays, width/2] -> sigma [n_rays, S], rgb [n_rays, S, 3]."""
        n, s, c = pos_enc.shape
        x = pos_enc.reshape(n * s, c)  # explicit sizes: n may be 0
        h = x
        for i, layer in enumerate(self.layers):
            h = F.relu(layer(h), inplace=True)  # Linear's backward does not need its output
            if i == self.skip:
                h = torch.cat([x, h], dim=-1)
        sigma = F.softplus(self.sigma(h) - 1.0).reshape(n, s)  # not ReLU: see the module docstring
        w_feat = self.rgb_hidden.weight[:, : self.feature.out_features]
        hid = F.linear(self.feature(h), w_feat).reshape(n, s, w_feat.shape[0]) + dir_term[:, None, :]
        rgb = torch.sigmoid(self.rgb_out(F.relu(hid, inplace=True)))  # [n, s, 3]
        return sigma, rgb


@dataclass(frozen=True)
class NeRFConfig:
    """The original NeRF's sampling and MLPs; the dataclass defaults are the paper's."""

    name: ClassVar[str] = "nerf"
    coarse_samples: int = 64  # stratified samples per ray (paper: 64)
    fine_samples: int = 128  # importance samples per ray (paper: 128)
    pos_freqs: int = 10  # positional encoding frequencies of x (paper: 10)
    dir_freqs: int = 4  # of the view direction (paper: 4)
    width: int = 256  # MLP width (paper: 256)
    depth: int = 8  # MLP layers before the density head (paper: 8, skip at 4)

    @classmethod
    def tuned(cls, device: str = "cpu", scene_type: str = "bounded",
              frontal: bool = False) -> tuple["NeRFConfig", dict]:
        """This config and the TrainConfig fields for training it on a device kind ("cpu" | "cuda").

        CUDA: the paper's settings (Adam lr 5e-4 decaying exponentially, 1024 rays per batch,
        64 + 128 samples).
        CPU: the same architecture, but a 2-core CPU evaluates the full MLP at only ~3,000 samples
        per second when shared (BENCHMARKS.md), so the paper's 256 MLP evaluations per ray leave
        ~50 optimizer steps in 10 minutes. 16 + 16 samples (48 evaluations per ray) on the cube
        segment and 128-ray batches give ~5x more steps, which is what the first minutes need.
        """
        if device == "cuda":
            return cls(), dict(lr=5e-4, lr_decay_steps=25000, lr_decay=0.1, lr_min_factor=0.01, batch_rays=1024)
        return cls(coarse_samples=16, fine_samples=16), dict(batch_rays=128, lr=1e-3, lr_decay_steps=2000,
                                                             lr_decay=0.5, lr_min_factor=0.1)


class VanillaNeRF(RadianceModel):
    """The nerf model: coarse and fine NeRF MLPs.

    scene_bound: content lies in [-bound, bound]^3; near/far clip the cube segment of object scenes
    (both ignored for NDC, where rays run from z = -1 to z = +1); config: a NeRFConfig, which sizes
    the model and the samples. Unbounded scenes are sampled inside their region
    of full detail only: this model has no contraction (the background beyond stays black).
    """

    def __init__(self, scene_bound: float, near: float, far: float, ndc: bool, config: NeRFConfig, *,
                 unbounded: bool = False, seed: int = 0):
        super().__init__()
        self.bound = float(scene_bound)
        self.near = float(near)
        self.far = float(far)
        self.ndc = bool(ndc)
        self.n_coarse = int(config.coarse_samples)
        self.n_fine = int(config.fine_samples)
        self.pos_enc = FrequencyEncoding(config.pos_freqs)
        self.dir_enc = FrequencyEncoding(config.dir_freqs)
        width, depth = config.width, config.depth
        self.coarse = NeRFMLP(self.pos_enc.out_dim, self.dir_enc.out_dim, width, depth)
        self.fine = NeRFMLP(self.pos_enc.out_dim, self.dir_enc.out_dim, width, depth)

    def sample_counts(self, max_samples: int | None) -> tuple[int, int]:
        """(coarse, fine) samples per ray; max_samples caps coarse + fine, keeping their ratio."""
        n_c, n_f = self.n_coarse, self.n_fine
        if max_samples is not None and max_samples < n_c + n_f:
            n_c2 = max(2, math.floor(max_samples * n_c / (n_c + n_f)))
            n_c, n_f = n_c2, max(0, max_samples - n_c2)
        return n_c, n_f

    def ray_segments(self, rays_o: torch.Tensor, rays_d: torch.Tensor
                     ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(near [n], far [n], hit [n] bool): each ray's segment inside the scene cube."""
        if self.ndc:
            # z bounds only, from the near plane z = -1 to z = +1 (infinity): edge rays of cameras
            # away from the average pose start outside |x|, |y| <= 1 and head inwards (to_ndc)
            dz = rays_d[:, 2].clamp_min(1e-6)
            near = ((-1.0 - rays_o[:, 2]) / dz).clamp_min(0.0)
            far = (1.0 - rays_o[:, 2]) / dz
            return near, far, far > near
        near, far, hit = ray_aabb(rays_o, rays_d, self.bound)
        near = near.clamp_min(self.near)
        far = far.clamp_max(self.far)
        return near, far, hit & (far > near)

    def render_rays(self, rays_o: torch.Tensor, rays_d: torch.Tensor, background: torch.Tensor, *,
                    stratified: bool, generator: torch.Generator | None,
                    max_samples: int | None = None, crop: CropBox | None = None) -> RenderOutput:
        """rays_o, rays_d [n, 3] (unit directions), background [n, 3] or [3] -> see nerf.models.base.
        A crop box clips each ray's segment, so every sample lands inside it."""
        n = rays_o.shape[0]
        bg = background.to(rays_o).expand(n, 3)
        n_c, n_f = self.sample_counts(max_samples)
        near, far, hit = self.ray_segments(rays_o, rays_d)
        if crop is not None:  # the crop box is the unit cube for rays scaled by its half size
            half = torch.as_tensor(crop.size / 2.0, dtype=rays_o.dtype, device=rays_o.device)
            centre = torch.as_tensor(crop.centre, dtype=rays_o.dtype, device=rays_o.device)
            c_near, c_far, c_hit = ray_aabb((rays_o - centre) / half, rays_d / half, 1.0)
            near, far = torch.maximum(near, c_near), torch.minimum(far, c_far)
            hit = hit & c_hit & (far > near)
        idx = hit.nonzero().squeeze(1)  # [m] rays that cross the cube; the rest show the background
        m = idx.shape[0]
        zeros = torch.zeros(n, dtype=rays_o.dtype, device=rays_o.device)
        o, d, nr, fr, b = rays_o[idx], rays_d[idx], near[idx], far[idx], bg[idx]
        chunk = max(1, CHUNK_SAMPLES // (2 * n_c + n_f))
        # with no hit at all one empty chunk still runs, so the outputs stay attached to the
        # parameters and a training step's backward() works (with zero gradients)
        parts = [self._render_hit(o[i:i + chunk], d[i:i + chunk], nr[i:i + chunk], fr[i:i + chunk],
                                  b[i:i + chunk], n_c, n_f, stratified, generator)
                 for i in range(0, max(m, 1), chunk)]
        rgb_c = bg.index_copy(0, idx, torch.cat([p.rgb_terms[0] for p in parts]))
        rgb_f = bg.index_copy(0, idx, torch.cat([p.rgb for p in parts]))
        return RenderOutput(
            rgb=rgb_f,
            depth=zeros.index_copy(0, idx, torch.cat([p.depth for p in parts])),
            opacity=zeros.index_copy(0, idx, torch.cat([p.opacity for p in parts])),
            rgb_terms=[rgb_c, rgb_f],
            samples_per_ray=(2 * n_c + n_f) * m / n,  # MLP evaluations per ray (coarse + fine)
        )

    @torch.no_grad()
    def density(self, pts: torch.Tensor) -> torch.Tensor:
        """The fine MLP's density (it does not depend on the direction)."""
        no_direction = torch.zeros(pts.shape[0], self.fine.rgb_hidden.out_features, device=pts.device)
        return self.fine(self.pos_enc(pts[:, None, :]), no_direction)[0][:, 0]

    def _render_hit(self, o, d, near, far, bg, n_c: int, n_f: int, stratified: bool,
                    generator: torch.Generator | None) -> RenderOutput:
        """Coarse then fine render of rays that cross the cube: o, d, bg [m, 3], near, far [m]."""
        dir_enc = self.dir_enc(d)  # [m, 27]
        t_c, delta_c = stratified_samples(near, far, n_c, stratified, generator)  # [m, n_c]
        enc_c = self.pos_enc(o[:, None, :] + t_c[..., None] * d[:, None, :])  # [m, n_c, 63]
        sigma_c, rgb_c = self.coarse(enc_c, self.coarse.direction_term(dir_enc))
        w_c = self._weights(sigma_c, delta_c)
        rgb_coarse, _, _ = composite(w_c, rgb_c, t_c + 0.5 * delta_c, None, o.shape[0], bg)

        t_f = sample_pdf(torch.cat([t_c, far[:, None]], dim=-1), w_c, n_f, stratified, generator)
        enc_f = self.pos_enc(o[:, None, :] + t_f[..., None] * d[:, None, :])  # [m, n_f, 63]
        t_all, order = torch.sort(torch.cat([t_c, t_f], dim=-1), dim=-1)  # [m, n_c + n_f]
        enc_all = torch.cat([enc_c, enc_f], dim=1).gather(
            1, order[..., None].expand(-1, -1, enc_c.shape[-1]))
        delta = intervals(t_all, far)
        sigma, rgb = self.fine(enc_all, self.fine.direction_term(dir_enc))
        w = self._weights(sigma, delta)
        rgb_fine, depth, opacity = composite(w, rgb, t_all + 0.5 * delta, None, o.shape[0], bg)
        return RenderOutput(rgb_fine, depth, opacity, rgb_terms=[rgb_coarse, rgb_fine])

    def _weights(self, sigmas: torch.Tensor, deltas: torch.Tensor) -> torch.Tensor:
        """Quadrature weights [m, S] (NeRF eq. 3). NDC rays end at infinity (z = +1) and forward-
        facing scenes have no background, so there the light left after the last interval is
        given to the last sample: the paper's code gets the same by a last delta of 1e10, which in
        float32 cancels the transmittance computed as cumsum - tau (weights summed to ~2). Object
        scenes keep the remainder for the background."""
        weights, _, _ = volume_weights(sigmas, deltas)
        if not self.ndc:
            return weights
        rest = (1.0 - weights.sum(dim=-1, keepdim=True)).clamp_min(0.0)  # [m, 1]
        return torch.cat([weights[:, :-1], weights[:, -1:] + rest], dim=-1)
