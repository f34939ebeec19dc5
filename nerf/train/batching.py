"""Training rays: random batches across all training images, and the shards a pooled step splits
one batch into.

Batches are random rays across all training images (image index and pixel drawn uniformly, among
the pixels a split's masks leave when it has masks) from one torch.Generator on the training
device, so a run is reproducible from (config, seed). A pooled step (nerf.train.shards.ShardPool)
gives each shard its own generator and sums the shards' gradients in shard order, so a run does
not depend on which thread finished first.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Callable, TypeVar

import torch

from nerf.data.cameras import pixel_rays, to_ndc
from nerf.data.scene import Cameras
from nerf.train.shards import ShardPool, even_bounds

T = TypeVar("T")

BACKGROUNDS = {"white": (1.0, 1.0, 1.0), "black": (0.0, 0.0, 0.0)}
SHARD_SEED_STRIDE = 7919  # shard i is seeded seed + 7919 (i + 1): apart from the occupancy grid's seed + 1


def cameras_on(cameras: Cameras, device: torch.device) -> Cameras:
    """The same cameras on `device` (every other field, the camera type included, kept)."""
    return replace(cameras, c2w=cameras.c2w.to(device), fx=cameras.fx.to(device), fy=cameras.fy.to(device),
                   cx=cameras.cx.to(device), cy=cameras.cy.to(device),
                   distortion=None if cameras.distortion is None else cameras.distortion.to(device))


def to_model_space(rays_o: torch.Tensor, rays_d: torch.Tensor, train_cameras: Cameras, ndc: bool
                   ) -> tuple[torch.Tensor, torch.Tensor]:
    """Rays [n, 3] as the model takes them: NDC scenes map every camera's rays with the TRAINING
    intrinsics (one NDC space for all cameras), other scenes keep world space."""
    if not ndc:
        return rays_o, rays_d
    cams = train_cameras
    return to_ndc(rays_o, rays_d, float(cams.fx[0]), float(cams.fy[0]), cams.width, cams.height)


def background(name: str, n: int, generator: torch.Generator, device: torch.device) -> torch.Tensor:
    """[n, 3] background colours: "random" (one per ray, drawn from `generator`) or BACKGROUNDS[name]."""
    if name == "random":
        return torch.rand(n, 3, generator=generator, device=device)
    return torch.tensor(BACKGROUNDS[name], device=device).expand(n, 3)


def draw_pixels(shape: tuple[int, int, int], n: int, generator: torch.Generator, device: torch.device,
                masks: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """n pixels drawn uniformly from images of `shape` (N, H, W): image index, row, column [n] each.
    With `masks` [N, H, W] bool, uniformly among the pixels set there only (nerfstudio's masked
    pixel sampler): drawn pixels that fall on a masked one are drawn again, from the same generator,
    so a run stays reproducible from its seed. The masks must set at least one pixel."""
    n_img, h, w = shape
    idx = torch.randint(0, n_img, (n,), generator=generator, device=device)
    py = torch.randint(0, h, (n,), generator=generator, device=device)
    px = torch.randint(0, w, (n,), generator=generator, device=device)
    if masks is None:
        return idx, py, px
    redraw = ~masks[idx, py, px]
    while bool(redraw.any()):  # expected rounds: log(n) / log(1 / masked share)
        k = int(redraw.sum())
        idx[redraw] = torch.randint(0, n_img, (k,), generator=generator, device=device)
        py[redraw] = torch.randint(0, h, (k,), generator=generator, device=device)
        px[redraw] = torch.randint(0, w, (k,), generator=generator, device=device)
        redraw = ~masks[idx, py, px]
    return idx, py, px


def sample_batch(images: torch.Tensor, cameras: Cameras, n: int, generator: torch.Generator, *,
                 has_alpha: bool, background_name: str, ndc: bool, masks: torch.Tensor | None = None,
                 image_index: bool = False) -> tuple[torch.Tensor, ...]:
    """n random rays of the training `images` [N, H, W, C] (float, or uint8 in 0..255) seen by
    `cameras`: rays_o, rays_d [n, 3] in model space, target rgb [n, 3], background [n, 3], and
    with `image_index` each ray's image [n] last. RGBA targets are composited on `background_name`;
    RGB scenes train on black. `masks` [N, H, W] bool (a split's, nerf.data.formats.masks): only
    pixels set there are drawn."""
    g, dev = generator, images.device
    idx, py, px = draw_pixels(tuple(images.shape[:3]), n, g, dev, masks)
    pix = images[idx, py, px].float()  # [n, C]
    if images.dtype == torch.uint8:
        pix = pix / 255.0
    rays_o, rays_d = pixel_rays(cameras, idx, px.float() + 0.5, py.float() + 0.5)
    bg = background(background_name if has_alpha else "black", n, g, dev)
    target = pix[:, :3]
    if has_alpha:
        target = target * pix[:, 3:] + bg * (1.0 - pix[:, 3:])
    rays_o, rays_d = to_model_space(rays_o, rays_d, cameras, ndc)
    return (rays_o, rays_d, target, bg, idx) if image_index else (rays_o, rays_d, target, bg)


def extend_shard_generators(generators: list[torch.Generator], k: int, seed: int,
                            device: torch.device) -> None:
    """Grows `generators` (in place) to at least k, shard i's seeded from `seed` and i alone."""
    while len(generators) < k:
        generators.append(torch.Generator(device=device).manual_seed(
            seed + SHARD_SEED_STRIDE * (len(generators) + 1)))


def map_shards(pool: ShardPool, n: int, fn: Callable[[int, slice, float], T]) -> list[T]:
    """fn(i, rows, weight) for the pool.size near-equal shards of a batch of n rays, in shard order;
    weight is the shard's share of the batch."""
    bounds = even_bounds(n, pool.size)

    def shard(i: int) -> T:
        return fn(i, slice(bounds[i], bounds[i + 1]), (bounds[i + 1] - bounds[i]) / n)

    return pool.map(shard, pool.size)


def sum_shard_grads(params: list[torch.Tensor], shard_grads: list[tuple]) -> None:
    """Sets each parameter's .grad to the sum of the shards' gradients (tuples in `params` order,
    None where a shard did not reach a parameter), added in shard order."""
    for j, p in enumerate(params):
        grads = [g[j] for g in shard_grads if g[j] is not None]
        p.grad = sum(grads[1:], grads[0]) if grads else None
