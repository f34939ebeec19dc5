"""Trainer: one model, its optimizer and its data; step(), evaluate(), render(), save()/load().

Model-agnostic: it trains any nerf.models.base.RadianceModel. One thread calls it
(the viewer's worker owns one Trainer). With a `pool` (nerf.train.shards.ShardPool, set by the viewer
on CPUs) a step splits its batch into one shard per pool thread, each with its own generator, and
renders and occupancy refreshes work through several chunks at once.

Batches are random rays across all training images (image index and pixel drawn uniformly) from
one torch.Generator on the training device, so a run is reproducible from (config, seed), and a
checkpoint restores the generator too: save, load and continue gives the same losses as not
stopping.
"""
from __future__ import annotations

import copy
import math
import time
from pathlib import Path
from typing import Callable

import torch

from nerf.data.cameras import image_rays, pixel_rays, to_ndc
from nerf.train.config import TrainConfig
from nerf.train.metrics import mse_to_psnr, psnr, ssim
from nerf.models.base import RenderOutput, build_model
from nerf.train.shards import ShardPool, even_bounds
from nerf.data.scene import Cameras, Scene
from nerf.errors import InputError

BACKGROUNDS = {"white": (1.0, 1.0, 1.0), "black": (0.0, 0.0, 0.0)}
BUDGET_MILESTONES = (0.5, 0.75, 0.9)  # "budget" schedule: lr x lr_decay at each (nerfacc's recipe)
MIN_BATCH_RAYS = 256  # floor of the adapted batch (early steps march every cell of every ray)
CHECKPOINT_VERSION = 1




def _optimizer(params: list[dict], device: torch.device) -> torch.optim.Optimizer:
    # fused Adam is ~10x faster per step than the for-each version on CPU and CUDA
    try:
        return torch.optim.Adam(params, betas=(0.9, 0.99), fused=True)
    except (RuntimeError, TypeError, ValueError):
        return torch.optim.Adam(params, betas=(0.9, 0.99))


class Trainer:
    def __init__(self, scene: Scene, config: TrainConfig, device: torch.device | str = "cpu"):
        self.scene = scene
        self.config = config
        self.device = torch.device(device)
        split = scene.split("train")
        self.cameras = _cameras_to(split.cameras, self.device)
        # uint8 on CUDA: 4x less GPU memory for the same 8-bit images (converted before the copy, so
        # the float images never reach the GPU); float on CPU (no conversion per batch)
        if self.device.type == "cuda":
            self.images = split.images.mul(255).round_().to(torch.uint8).to(self.device)
        else:
            self.images = split.images.to(self.device)
        self.has_alpha = split.has_alpha
        if self.device.type == "cuda":
            # fp32 MLPs with TF32 products: the range of fp32 (no loss scaling), ~fp16 speed
            torch.backends.cuda.matmul.allow_tf32 = True
        # fraction of the run's step or time budget done, set by whoever owns the budget (the headless
        # loop, the viewer's worker); the "budget" schedule reads it, None falls back to "exp"
        self.progress: float | None = None
        self.meta: dict = {}  # free-form, saved with checkpoints (headless stores its downscale here)
        self.pool: ShardPool | None = None  # None: one thread runs everything (torch's own threads)
        self.reset()

    # ---- setup -------------------------------------------------------------------------------
    def reset(self) -> None:
        """Fresh weights, optimizer, occupancy grid and sampler; step 0."""
        c = self.config
        with torch.random.fork_rng(devices=[]):  # seed the init without touching the global RNG
            torch.manual_seed(c.seed)
            self.model = build_model(c.model, self.scene, c, self.device)
        self.lr = c.lr
        self.batch_rays = c.batch_rays
        self.adaptive_batch = c.target_samples > 0  # until the user sets a batch size
        self.optimizer = _optimizer(self.model.param_groups(self.lr), self.device)
        self.generator = torch.Generator(device=self.device).manual_seed(c.seed)
        self.shard_generators: list[torch.Generator] = []  # one per shard of a pooled step, made as needed
        self.step_count = 0
        self._deferred_update: int | None = None  # a model.update(step) put off for a waiting frame
        self._snapshot = None
        self._take_snapshot()

    def set_lr(self, lr: float) -> None:
        """New base learning rate; the decay schedule continues from the current step."""
        self.lr = float(lr)
        self._apply_lr()

    def set_batch_rays(self, n: int) -> None:
        """A fixed batch: also turns off the adaptive batch of config.target_samples."""
        self.batch_rays = max(1, int(n))
        self.adaptive_batch = False

    def _adapt_batch(self, samples_per_ray: float) -> None:
        """Next batch so that it holds about config.target_samples samples (instant-NGP)."""
        c = self.config
        wanted = c.target_samples / max(samples_per_ray, 1e-3)
        self.batch_rays = int(min(max(wanted, MIN_BATCH_RAYS), c.max_batch_rays))

    def _lr_at(self, step: int) -> float:
        c = self.config
        if c.lr_schedule == "budget" and self.progress is not None:
            return self.lr * c.lr_decay ** sum(self.progress >= m for m in BUDGET_MILESTONES)
        factor = max(c.lr_decay ** (step / max(c.lr_decay_steps, 1)), c.lr_min_factor)
        return self.lr * factor

    def _apply_lr(self) -> None:
        lr = self._lr_at(self.step_count)
        for group in self.optimizer.param_groups:
            group["lr"] = lr

    # ---- rays --------------------------------------------------------------------------------
    def _ndc(self, rays_o: torch.Tensor, rays_d: torch.Tensor):
        if not self.scene.ndc:
            return rays_o, rays_d
        cams = self.cameras  # one NDC space for every camera: the training intrinsics
        return to_ndc(rays_o, rays_d, float(cams.fx[0]), float(cams.fy[0]), cams.width, cams.height)

    def _background(self, name: str, n: int) -> torch.Tensor:
        if name == "random":
            return torch.rand(n, 3, generator=self.generator, device=self.device)
        return torch.tensor(BACKGROUNDS[name], device=self.device).expand(n, 3)

    def sample_batch(self, n: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Random training rays: rays_o, rays_d [n, 3], target rgb [n, 3], background [n, 3]."""
        n_img, h, w = self.images.shape[:3]
        g, dev = self.generator, self.device
        idx = torch.randint(0, n_img, (n,), generator=g, device=dev)
        py = torch.randint(0, h, (n,), generator=g, device=dev)
        px = torch.randint(0, w, (n,), generator=g, device=dev)
        pix = self.images[idx, py, px].float()  # [n, C]
        if self.images.dtype == torch.uint8:
            pix = pix / 255.0
        rays_o, rays_d = pixel_rays(self.cameras, idx, px.float() + 0.5, py.float() + 0.5)
        bg = self._background(self.config.train_background if self.has_alpha else "black", n)
        target = pix[:, :3]
        if self.has_alpha:
            target = target * pix[:, 3:] + bg * (1.0 - pix[:, 3:])
        rays_o, rays_d = self._ndc(rays_o, rays_d)
        return rays_o, rays_d, target, bg

    # ---- training ----------------------------------------------------------------------------
    def step(self, should_yield: Callable[[], bool] | None = None) -> dict:
        """One optimisation step. Returns {"step","loss","psnr","rays","samples_per_ray","seconds"}
        plus "nan_recovered": True when the loss was not finite and the last snapshot was restored.

        should_yield() is asked once the forward pass is done: if true, the step is dropped (no
        update, step count unchanged) and {"step","rays": 0,"seconds","yielded": True} returned,
        so a viewer waits for half a step at most, not a whole one, before it can render. The
        model's update after the optimizer step (the occupancy grid's refresh) asks it too, between
        chunks, and finishes at the start of the next step."""
        t0 = time.perf_counter()
        if self._deferred_update is not None:  # finish the model update a frame interrupted
            if self.model.update(self._deferred_update, should_yield, pool=self.pool) is False:
                return self._yielded(t0)
            self._deferred_update = None
        self._apply_lr()
        rays_o, rays_d, target, bg = self.sample_batch(self.batch_rays)
        self.optimizer.zero_grad(set_to_none=True)
        if self.pool is None:
            shards = [self._forward_backward(rays_o, rays_d, target, bg, self.generator, should_yield)]
        else:
            shards = self._sharded_forward_backward(rays_o, rays_d, target, bg, should_yield)
        if any(s is None for s in shards):
            self.optimizer.zero_grad(set_to_none=True)
            return self._yielded(t0)
        # the one sync per step: logging and the NaN check need the loss
        loss_value = sum(float(s["loss"]) for s in shards)
        last_term = sum(float(s["last_term"]) for s in shards)
        samples_per_ray = sum(float(s["samples_per_ray"]) for s in shards)
        stats = {"step": self.step_count, "rays": self.batch_rays}
        if not math.isfinite(loss_value):
            self._restore_snapshot()
            stats.update(step=self.step_count, loss=loss_value, psnr=float("nan"), samples_per_ray=0.0,
                         seconds=time.perf_counter() - t0, nan_recovered=True)
            return stats
        self.optimizer.step()
        self.step_count += 1
        # an occupancy refresh takes up to ~1.5 s on a CPU inside the viewer: a frame may stop it
        if self.model.update(self.step_count, should_yield, pool=self.pool) is False:
            self._deferred_update = self.step_count
        if self.adaptive_batch:
            self._adapt_batch(samples_per_ray)
        if self.step_count % self.config.nan_snapshot_every == 0:
            self._take_snapshot()
        stats.update(step=self.step_count, loss=loss_value, psnr=mse_to_psnr(last_term),
                     samples_per_ray=samples_per_ray, seconds=time.perf_counter() - t0,
                     lr=self._lr_at(self.step_count))
        return stats

    def _forward_backward(self, rays_o, rays_d, target, bg, generator, should_yield, *, weight: float = 1.0,
                          params: list[torch.Tensor] | None = None) -> dict | None:
        """Forward, loss and backward of one batch (or shard) of rays; None if should_yield() said
        so after the forward pass. The loss is scaled by `weight` (a shard's share of the batch).
        Gradients go into .grad, or with `params` are returned as "grads" instead."""
        out = self.model.render_rays(rays_o, rays_d, bg, stratified=True, generator=generator)
        if should_yield is not None and should_yield():
            return None
        losses = [torch.mean((term - target) ** 2) for term in out.rgb_terms]
        loss = sum(losses) * weight
        result = {"loss": loss.detach(), "last_term": losses[-1].detach() * weight,
                  "samples_per_ray": out.samples_per_ray * weight}
        if params is None:
            loss.backward()
        else:
            result["grads"] = torch.autograd.grad(loss, params, allow_unused=True)
        return result

    def _sharded_forward_backward(self, rays_o, rays_d, target, bg, should_yield) -> list[dict | None]:
        """_forward_backward on one shard of the batch per pool thread. Each shard returns its
        gradients and they are summed in shard order, so a run does not depend on which thread
        finished first."""
        n, k = rays_o.shape[0], self.pool.size
        bounds = even_bounds(n, k)
        while len(self.shard_generators) < k:
            seed = self.config.seed + 7919 * (len(self.shard_generators) + 1)  # apart from the grid's seed + 1
            self.shard_generators.append(torch.Generator(device=self.device).manual_seed(seed))
        params = [p for group in self.optimizer.param_groups for p in group["params"]]

        def shard(i: int) -> dict | None:
            s = slice(bounds[i], bounds[i + 1])
            return self._forward_backward(rays_o[s], rays_d[s], target[s], bg[s], self.shard_generators[i],
                                          should_yield, weight=(bounds[i + 1] - bounds[i]) / n, params=params)

        shards = self.pool.map(shard, k)
        if all(s is not None for s in shards):
            for j, p in enumerate(params):
                grads = [s["grads"][j] for s in shards if s["grads"][j] is not None]
                p.grad = sum(grads[1:], grads[0]) if grads else None
        return shards

    def _yielded(self, t0: float) -> dict:
        """step()'s result when it gave way to a waiting frame: nothing learned."""
        return {"step": self.step_count, "rays": 0, "seconds": time.perf_counter() - t0, "yielded": True}

    def _state(self) -> dict:
        return {"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                "extra": self.model.extra_state(), "step": self.step_count,
                "generator": self.generator.get_state(), "lr": self.lr, "batch_rays": self.batch_rays,
                "adaptive_batch": self.adaptive_batch,
                "shard_generators": [g.get_state() for g in self.shard_generators]}

    def _load_state(self, s: dict) -> None:
        self.model.load_state_dict(s["model"])
        self.optimizer.load_state_dict(s["optimizer"])
        self.model.load_extra_state(s["extra"])
        self._deferred_update = None
        self.step_count = int(s["step"])
        self.generator.set_state(s["generator"].cpu())  # generator states are CPU byte tensors
        self.lr, self.batch_rays = float(s["lr"]), int(s["batch_rays"])
        self.adaptive_batch = bool(s.get("adaptive_batch", self.config.target_samples > 0))
        self.shard_generators = []
        for state in s.get("shard_generators", []):
            self.shard_generators.append(torch.Generator(device=self.device))
            self.shard_generators[-1].set_state(state.cpu())

    def _take_snapshot(self) -> None:
        self._snapshot = copy.deepcopy(self._state())

    def _restore_snapshot(self) -> None:
        self._load_state(copy.deepcopy(self._snapshot))

    # ---- rendering and evaluation ------------------------------------------------------------
    @torch.no_grad()
    def render(self, cameras: Cameras, index: int = 0, *, background=(1.0, 1.0, 1.0),
               max_samples: int | None = None, should_abort: Callable[[], bool] | None = None,
               chunk: int | None = None) -> dict | None:
        """Render camera `index` of `cameras` in chunks of `chunk` rays (default config.render_chunk).

        A smaller chunk lets should_abort() stop a stale render sooner (the viewer's case).

        Returns {"rgb" [H, W, 3], "depth" [H, W], "opacity" [H, W]} as CPU float32, or None if
        should_abort() became true between chunks. depth is the distance along the unit ray (NDC
        distance for NDC scenes). `background` applies to scenes trained with alpha; scenes without
        alpha were trained on black (their images cover every ray), so they render on black."""
        rays_o, rays_d = image_rays(_cameras_to(cameras, self.device), index)
        h, w = rays_o.shape[:2]
        rays_o, rays_d = self._ndc(rays_o.reshape(-1, 3), rays_d.reshape(-1, 3))
        if not self.has_alpha:
            background = BACKGROUNDS["black"]
        bg = torch.as_tensor(background, dtype=torch.float32, device=self.device)
        parts: dict[str, list[torch.Tensor]] = {"rgb": [], "depth": [], "opacity": []}
        chunk = chunk or self.config.render_chunk
        per_round = 1 if self.pool is None else self.pool.size
        chunk = -(-chunk // per_round)  # with a pool, its threads share each `chunk` rays: abort as often
        starts = list(range(0, rays_o.shape[0], chunk))

        def render_chunk(s: int) -> RenderOutput:
            return self.model.render_rays(rays_o[s:s + chunk], rays_d[s:s + chunk], bg,
                                          stratified=False, generator=None, max_samples=max_samples)

        for r in range(0, len(starts), per_round):
            if should_abort is not None and should_abort():
                return None
            group = starts[r:r + per_round]
            if len(group) == 1:
                outs = [render_chunk(group[0])]
            else:
                outs = self.pool.map(lambda j: render_chunk(group[j]), len(group))
            for out in outs:
                for k in parts:
                    parts[k].append(getattr(out, k).float().cpu())
        return {"rgb": torch.cat(parts["rgb"]).reshape(h, w, 3).clamp(0, 1),
                "depth": torch.cat(parts["depth"]).reshape(h, w),
                "opacity": torch.cat(parts["opacity"]).reshape(h, w)}

    def target_image(self, split: str, index: int, background=None) -> torch.Tensor:
        """Ground truth [H, W, 3] of a view, composited on the eval background (or `background`)."""
        bg = torch.tensor(BACKGROUNDS[self.config.eval_background] if background is None else background)
        image = self.scene.split(split).images[index]  # one view: never composite the whole split
        if image.shape[-1] == 4:
            return image[..., :3] * image[..., 3:] + bg * (1.0 - image[..., 3:])
        return image

    @torch.no_grad()
    def evaluate(self, split: str = "test", max_views: int | None = None,
                 should_abort: Callable[[], bool] | None = None, keep_images: bool = False) -> dict | None:
        """Mean PSNR and SSIM over the first max_views views of `split` (all by default), rendered
        on config.eval_background. Returns {"psnr","ssim","views","per_view_psnr"} (and "images",
        a list of predicted [H, W, 3], with keep_images), or None if aborted."""
        sp = self.scene.split(split)
        n = len(sp) if max_views is None else min(max_views, len(sp))
        bg = BACKGROUNDS[self.config.eval_background]
        psnrs, ssims, images = [], [], []
        for i in range(n):
            out = self.render(sp.cameras, i, background=bg, should_abort=should_abort)
            if out is None:
                return None
            target = self.target_image(split, i)
            psnrs.append(psnr(out["rgb"], target))
            ssims.append(ssim(out["rgb"].to(self.device), target.to(self.device)))  # fast on a GPU
            if keep_images:
                images.append(out["rgb"])
        result = {"psnr": sum(psnrs) / max(n, 1), "ssim": sum(ssims) / max(n, 1), "views": n,
                  "per_view_psnr": psnrs}
        if keep_images:
            result["images"] = images
        return result

    # ---- checkpoints -------------------------------------------------------------------------
    def save(self, path: str | Path) -> None:
        """Everything needed to resume exactly: config, model, optimizer, occupancy grid, step, RNG."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        payload = {"version": CHECKPOINT_VERSION, "config": self.config.to_dict(),
                   "scene": {"root": str(self.scene.root), "name": self.scene.name},
                   "meta": dict(self.meta), "state": self._state()}
        tmp = path.with_name(path.name + ".tmp")
        torch.save(payload, tmp)
        tmp.replace(path)  # never leave a half-written checkpoint under the real name

    @classmethod
    def load(cls, path: str | Path, scene: Scene | None = None, device: torch.device | str = "cpu"
             ) -> "Trainer":
        """A Trainer restored from `path`. Without `scene`, the scene is reloaded from the root
        recorded in the checkpoint (with the downscale in its meta, if any)."""
        payload = read_checkpoint(path)
        config = TrainConfig.from_dict(payload["config"])
        if scene is None:
            from nerf.data.loaders import load_scene
            scene = load_scene(payload["scene"]["root"],
                               downscale=int(payload.get("meta", {}).get("downscale", 1)))
        trainer = cls(scene, config, device)
        trainer.meta = dict(payload.get("meta", {}))
        try:
            trainer._load_state(payload["state"])
        except (KeyError, RuntimeError, ValueError) as e:
            raise InputError(path, f"does not match this scene/model: {str(e).splitlines()[0]}")
        trainer._take_snapshot()
        return trainer


def read_checkpoint(path: str | Path) -> dict:
    """The checkpoint dict at `path`, or InputError."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "no such checkpoint file")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as e:  # torch raises many types for a corrupt file
        raise InputError(path, f"not a readable checkpoint ({type(e).__name__})")
    if not isinstance(payload, dict) or payload.get("version") != CHECKPOINT_VERSION:
        raise InputError(path, "not a nerf-viewer checkpoint (or from an incompatible version)")
    return payload


def _cameras_to(cameras: Cameras, device: torch.device) -> Cameras:
    return Cameras(c2w=cameras.c2w.to(device), fx=cameras.fx.to(device), fy=cameras.fy.to(device),
                   cx=cameras.cx.to(device), cy=cameras.cy.to(device), width=cameras.width,
                   height=cameras.height,
                   distortion=None if cameras.distortion is None else cameras.distortion.to(device))
