"""Whole images from a model, chunk by chunk, and their quality against held-out views.

Rendering is chunked so memory stays bounded and so a caller (the viewer) can abort a stale render
between chunks; with a ShardPool the pool's threads render a round of chunks side by side.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import torch

from nerf.data.scene import Scene
from nerf.models.base import RadianceModel, RenderOutput
from nerf.train.metrics import psnr, ssim
from nerf.train.shards import ShardPool


@dataclass(frozen=True)
class EvalResult:
    """Quality of a model on the first `views` views of a split."""

    psnr: float  # mean over the views, dB
    ssim: float  # mean over the views
    views: int
    per_view_psnr: list[float]
    per_view_ssim: list[float] = field(default_factory=list)  # same order; empty from fakes that skip it
    images: list[torch.Tensor] | None = None  # the predictions [H, W, 3], when asked to keep them


@torch.no_grad()
def render_image(model: RadianceModel, rays_o: torch.Tensor, rays_d: torch.Tensor, background: torch.Tensor,
                 size: tuple[int, int], *, chunk: int, pool: ShardPool | None = None,
                 max_samples: int | None = None, should_abort: Callable[[], bool] | None = None,
                 crop=None) -> RenderOutput | None:
    """The image of rays_o, rays_d [H * W, 3] (model space) of `size` (H, W) on `background` [3]:
    a RenderOutput of CPU float32 [H, W] maps, or None if should_abort() became true between
    rounds of chunks. A round is one chunk of `chunk` rays, split between the pool's threads.
    `crop` (a nerf.data.crop.CropBox) shows only what lies inside the box."""
    h, w = size
    parts: dict[str, list[torch.Tensor]] = {"rgb": [], "depth": [], "opacity": []}
    samples = 0.0
    per_round = 1 if pool is None else pool.size
    chunk = -(-chunk // per_round)  # with a pool, its threads share each `chunk` rays: abort as often
    starts = list(range(0, rays_o.shape[0], chunk))

    def render_chunk(s: int) -> RenderOutput:
        return model.render_rays(rays_o[s:s + chunk], rays_d[s:s + chunk], background,
                                 stratified=False, generator=None, max_samples=max_samples, crop=crop)

    for r in range(0, len(starts), per_round):
        if should_abort is not None and should_abort():
            return None
        group = starts[r:r + per_round]
        if len(group) == 1:
            outs = [render_chunk(group[0])]
        else:
            outs = pool.map(lambda j, group=group: render_chunk(group[j]), len(group))
        for out in outs:
            for k in parts:
                parts[k].append(getattr(out, k).float().cpu())
            samples += float(out.samples_per_ray) * out.rgb.shape[0]
    return RenderOutput(rgb=torch.cat(parts["rgb"]).reshape(h, w, 3).clamp(0, 1),
                        depth=torch.cat(parts["depth"]).reshape(h, w),
                        opacity=torch.cat(parts["opacity"]).reshape(h, w),
                        samples_per_ray=samples / max(h * w, 1))


def target_image(scene: Scene, split: str, index: int, background) -> torch.Tensor:
    """Ground truth [H, W, 3] of view `index` of `split`, RGBA composited on `background` (rgb)."""
    bg = torch.tensor(background)
    image = scene.split(split).images[index]  # one view: never composite the whole split
    if image.shape[-1] == 4:
        return image[..., :3] * image[..., 3:] + bg * (1.0 - image[..., 3:])
    return image


@torch.no_grad()
def evaluate_views(render_view: Callable[[int], RenderOutput | None], target_view: Callable[[int], torch.Tensor],
                   n: int, device: torch.device, keep_images: bool = False,
                   on_view: Callable[[int, torch.Tensor, torch.Tensor, float, float], None] | None = None
                   ) -> EvalResult | None:
    """Mean PSNR and SSIM of render_view(i) against target_view(i) for i < n, or None as soon as a
    render is aborted. SSIM runs on `device` (fast on a GPU). on_view(i, pred, target, psnr, ssim)
    sees each view as it is scored (nerf-eval's LPIPS and the named test images), so no caller
    has to hold every image."""
    psnrs, ssims, images = [], [], []
    for i in range(n):
        out = render_view(i)
        if out is None:
            return None
        target = target_view(i)
        psnrs.append(psnr(out.rgb, target))
        ssims.append(ssim(out.rgb.to(device), target.to(device)))
        if keep_images:
            images.append(out.rgb)
        if on_view is not None:
            on_view(i, out.rgb, target, psnrs[-1], ssims[-1])
    return EvalResult(psnr=sum(psnrs) / max(n, 1), ssim=sum(ssims) / max(n, 1), views=n,
                      per_view_psnr=psnrs, per_view_ssim=ssims, images=images if keep_images else None)
