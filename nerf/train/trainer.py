"""Trainer: one model, its optimizer and its data; step(), evaluate(), render(), save()/restore().

Model-agnostic: it trains any nerf.models.base.RadianceModel. One thread calls it (the viewer's
worker owns one Trainer). With a `pool` (nerf.train.shards.ShardPool, set by the viewer on CPUs) a
step splits its batch into one shard per pool thread (nerf.train.batching), and renders and
occupancy refreshes work through several chunks at once.

The Trainer steps and owns the run's state; the schedule (nerf.train.schedule), ray batches
(nerf.train.batching), image rendering and metrics (nerf.train.evaluation) and the checkpoint file
(nerf.train.checkpoint) live in their own modules; nerf.train.run builds every Trainer (new, or
restored from a checkpoint). A checkpoint restores the generators too: save, restore and continue
gives the same losses as not stopping.
"""
from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch

from nerf.data.cameras import image_rays
from nerf.data.scene import Cameras, Scene
from nerf.device import flush_denormals
from nerf.errors import InputError
from nerf.data.crop import CropBox
from nerf.models.base import RenderOutput
from nerf.models.encodings import TableGrads
from nerf.models.registry import build_model
from nerf.train.batching import (BACKGROUNDS, cameras_on, extend_shard_generators, map_shards, sample_batch,
                                 sum_shard_grads, to_model_space)
from nerf.train.camera_fit import CameraFit
from nerf.train.checkpoint import write_checkpoint
from nerf.train.config import TrainConfig
from nerf.train.evaluation import EvalResult, evaluate_views, render_image, target_image
from nerf.train.metrics import mse_to_psnr
from nerf.train.protocol import StepResult, StepSync
from nerf.train.schedule import adapted_batch_rays, learning_rate
from nerf.train.shards import ShardPool


def _optimizer(params: list[dict]) -> torch.optim.Optimizer:
    # fused Adam: much faster per step than the for-each version on CPU and CUDA (BENCHMARKS.md, "NeRF engine")
    try:
        return torch.optim.Adam(params, betas=(0.9, 0.99), fused=True)
    except (RuntimeError, TypeError, ValueError):
        return torch.optim.Adam(params, betas=(0.9, 0.99))


@dataclass
class _Pass:
    """One forward + backward over a batch or a shard of it (its loss already weighted by its share)."""

    loss: torch.Tensor  # 0-d, detached: the sum of the model's MSE terms
    last_term: torch.Tensor  # 0-d, detached: the last (finest) term, which the reported PSNR is of
    samples_per_ray: float | torch.Tensor
    ray_errors: torch.Tensor  # [n] detached: each ray's squared error of the finest term (mean over RGB)
    grads: tuple | None = None  # per parameter, when the gradients were returned instead of accumulated


class Trainer:
    def __init__(self, scene: Scene, config: TrainConfig, device: torch.device | str = "cpu"):
        self.scene = scene
        self.config = config
        self.device = torch.device(device)
        split = scene.split("train")
        self.cameras = cameras_on(split.cameras, self.device)
        # uint8 on CUDA: 4x less GPU memory for the same 8-bit images (converted before the copy, so
        # the float images never reach the GPU); float on CPU (no conversion per batch)
        if self.device.type == "cuda":
            self.images = split.images.mul(255).round_().to(torch.uint8).to(self.device)
        else:
            self.images = split.images.to(self.device)
        self.masks = None if split.masks is None else split.masks.to(self.device)  # [N, H, W] bool or None
        self.has_alpha = split.has_alpha
        if self.device.type == "cuda":
            # fp32 MLPs with TF32 products: the range of fp32 (no loss scaling), ~fp16 speed
            torch.backends.cuda.matmul.allow_tf32 = True
        # fraction of the run's step or time budget done, set by whoever owns the budget (the headless
        # loop, the viewer's worker); the "budget" schedule reads it, None falls back to "exp"
        self.progress: float | None = None
        self.meta: dict = {}  # saved with checkpoints: how the scene was read (nerf.train.run sets it)
        self.pool: ShardPool | None = None  # None: one thread runs everything (torch's own threads)
        # a distributed rank's part in each step (nerf.distributed); None: this process is the whole run.
        # A rank's step must not yield: every rank has to reach the gradient reduce
        self.sync: StepSync | None = None
        self.reset()

    # ---- setup -------------------------------------------------------------------------------
    def reset(self) -> None:
        """Fresh weights, optimizer, occupancy grid and sampler; step 0."""
        c = self.config
        with torch.random.fork_rng(devices=[]):  # seed the init without touching the global RNG
            torch.manual_seed(c.seed)
            self.model = build_model(self.scene, c.model, self.device, seed=c.seed)
        self.lr = c.lr
        self.batch_rays = c.batch_rays
        self.adaptive_batch = c.target_samples > 0  # until the user sets a batch size
        self.optimizer = _optimizer(self.model.param_groups(self.lr))
        self.generator = torch.Generator(device=self.device).manual_seed(c.seed)
        self.shard_generators: list[torch.Generator] = []  # one per shard of a pooled step, made as needed
        self.step_count = 0
        self.train_seconds = 0.0  # time spent in step() over the run, resumed runs included
        self.camera_fit = CameraFit(self.images.shape[0], self.device)  # each training image's recent fit
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

    def current_lr(self) -> float:
        """The learning rate the next step uses (the schedule at this step and progress)."""
        return learning_rate(self.config, self.lr, self.step_count, self.progress)

    def _apply_lr(self) -> None:
        lr = self.current_lr()
        for group in self.optimizer.param_groups:
            group["lr"] = lr

    def sample_batch(self, n: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Random training rays: rays_o, rays_d [n, 3], target rgb [n, 3], background [n, 3]."""
        return self._draw_batch(n)[:4]

    def _draw_batch(self, n: int) -> tuple[torch.Tensor, ...]:
        """sample_batch's rays and, last, each ray's training image index [n]."""
        return sample_batch(self.images, self.cameras, n, self.generator, has_alpha=self.has_alpha,
                            background_name=self.config.train_background, ndc=self.scene.ndc, masks=self.masks,
                            image_index=True)

    def camera_psnrs(self) -> tuple[float, ...]:
        """Each training image's PSNR over the rays recently trained on it (NaN: too few yet)."""
        return self.camera_fit.psnrs()

    # ---- training ----------------------------------------------------------------------------
    def step(self, should_yield: Callable[[], bool] | None = None) -> StepResult:
        """One optimisation step, as a StepResult: "trained", or "nan_recovered" when the loss was not
        finite and the last snapshot was restored.

        should_yield() is asked once the forward pass is done: if true, the step is dropped (no
        update, step count unchanged) and a "yielded" result with no rays returned,
        so a viewer waits for half a step at most, not a whole one, before it can render. The
        model's update after the optimizer step (the occupancy grid's refresh) asks it too, between
        chunks, and finishes at the start of the next step. A dropped step draws no random numbers
        (the generators are put back), so yielding never changes the run."""
        flush_denormals()  # per thread: the viewer steps on its worker, not the thread that built this
        result = self._step(should_yield)
        self.train_seconds += result.seconds
        return result

    def _step(self, should_yield: Callable[[], bool] | None) -> StepResult:
        t0 = time.perf_counter()
        if self._deferred_update is not None:  # finish the model update a frame interrupted
            if self.model.update(self._deferred_update, should_yield, pool=self.pool) is False:
                return self._yielded(t0)
            self._deferred_update = None
        self._apply_lr()
        random_states = self._generator_states()
        n, weight = (self.batch_rays, 1.0) if self.sync is None else self.sync.share(self.batch_rays)
        seed = None if self.sync is None else self.sync.step_seed(self.step_count)
        if seed is not None:
            self.generator.manual_seed(seed)
        rays_o, rays_d, target, bg, images = self._draw_batch(n)
        self.optimizer.zero_grad(set_to_none=True)
        if self.pool is None:
            passes = [self._forward_backward(rays_o, rays_d, target, bg, self.generator, should_yield, weight=weight)]
        else:
            passes = self._sharded_forward_backward(rays_o, rays_d, target, bg, should_yield, weight)
        if any(p is None for p in passes):
            self.optimizer.zero_grad(set_to_none=True)
            self._set_generator_states(random_states)
            return self._yielded(t0)
        # the one sync per step: logging and the NaN check need the loss
        loss_value = sum(float(p.loss) for p in passes)
        last_term = sum(float(p.last_term) for p in passes)
        samples_per_ray = sum(float(p.samples_per_ray) for p in passes)
        if self.sync is not None:  # the global batch's figures, the same on every rank, as are the gradients
            loss_value, last_term, samples_per_ray = self.sync.reduce([loss_value, last_term, samples_per_ray])
        rays = self.batch_rays
        if not math.isfinite(loss_value):
            self._restore_snapshot()
            return StepResult("nan_recovered", self.step_count, time.perf_counter() - t0, rays=rays,
                              loss=loss_value)
        self.optimizer.step()
        self.step_count += 1
        self.camera_fit.add(images, torch.cat([p.ray_errors for p in passes]))
        # an occupancy refresh is long on a CPU inside the viewer: a frame may stop it
        if self.model.update(self.step_count, should_yield, pool=self.pool if self.sync is None else self.sync.rows
                             ) is False:
            self._deferred_update = self.step_count
        if self.adaptive_batch:
            self.batch_rays = adapted_batch_rays(self.config, samples_per_ray)
        if self.step_count % self.config.nan_snapshot_every == 0:
            self._take_snapshot()
        return StepResult("trained", self.step_count, time.perf_counter() - t0, rays=rays, loss=loss_value,
                          psnr=mse_to_psnr(last_term), samples_per_ray=samples_per_ray, lr=self.current_lr())

    def _forward_backward(self, rays_o, rays_d, target, bg, generator, should_yield, *, weight: float = 1.0,
                          params: list[torch.Tensor] | None = None) -> _Pass | None:
        """Forward, loss and backward of one batch (or shard) of rays; None if should_yield() said
        so after the forward pass. The loss is scaled by `weight` (a shard's share of the batch).
        Gradients go into .grad, or with `params` are returned in the _Pass instead."""
        table_grads = TableGrads()  # the hash tables' gradients of every marching round in one buffer
        with table_grads.collecting():
            out = self.model.render_rays(rays_o, rays_d, bg, stratified=True, generator=generator)
        if should_yield is not None and should_yield():
            return None
        losses = [torch.mean((term - target) ** 2) for term in out.rgb_terms]
        loss = (sum(losses) + out.regularizer) * weight
        ray_errors = (out.rgb_terms[-1].detach() - target).square().mean(dim=-1)
        result = _Pass(loss.detach(), losses[-1].detach() * weight, out.samples_per_ray * weight, ray_errors)
        if params is None:
            loss.backward()
            table_grads.accumulate()
        else:
            result.grads = table_grads.gradients(params, torch.autograd.grad(loss, params, allow_unused=True))
        return result

    def _sharded_forward_backward(self, rays_o, rays_d, target, bg, should_yield,
                                  weight: float = 1.0) -> list[_Pass | None]:
        """_forward_backward on one shard of the batch per pool thread, the gradients summed in
        shard order; `weight` is the batch's own (a distributed rank's share of the global batch)."""
        extend_shard_generators(self.shard_generators, self.pool.size, self.config.seed, self.device)
        params = [p for group in self.optimizer.param_groups for p in group["params"]]

        def shard(i: int, rows: slice, share: float) -> _Pass | None:
            return self._forward_backward(rays_o[rows], rays_d[rows], target[rows], bg[rows],
                                          self.shard_generators[i], should_yield, weight=weight * share,
                                          params=params)

        passes = map_shards(self.pool, rays_o.shape[0], shard)
        if all(p is not None for p in passes):
            sum_shard_grads(params, [p.grads for p in passes])
        return passes

    def _yielded(self, t0: float) -> StepResult:
        """step()'s result when it gave way to a waiting frame: nothing learned."""
        return StepResult("yielded", self.step_count, time.perf_counter() - t0)

    # ---- state -------------------------------------------------------------------------------
    def _generator_states(self) -> list[torch.Tensor]:
        return [g.get_state() for g in (self.generator, *self.shard_generators)]

    def _set_generator_states(self, states: list[torch.Tensor]) -> None:
        # strict=False: shard generators first made during the step being undone have no saved state
        for g, state in zip((self.generator, *self.shard_generators), states, strict=False):
            g.set_state(state)

    def _state(self) -> dict:
        return {"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                "extra": self.model.extra_state(), "step": self.step_count, "train_seconds": self.train_seconds,
                "deferred_update": self._deferred_update,
                "generator": self.generator.get_state(), "lr": self.lr, "batch_rays": self.batch_rays,
                "adaptive_batch": self.adaptive_batch,
                "shard_generators": [g.get_state() for g in self.shard_generators]}

    def _load_state(self, s: dict) -> None:
        self.model.load_state_dict(s["model"])
        self.optimizer.load_state_dict(s["optimizer"])
        self.model.load_extra_state(s["extra"])
        self._deferred_update = s.get("deferred_update")  # an update a stop signal or a frame put off
        self.step_count = int(s["step"])
        self.train_seconds = float(s.get("train_seconds", 0.0))
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
        seconds = self.train_seconds  # the time spent is not undone
        self._load_state(copy.deepcopy(self._snapshot))
        self.train_seconds = seconds

    # ---- rendering and evaluation ------------------------------------------------------------
    @torch.no_grad()
    def render(self, cameras: Cameras, index: int = 0, *, background=(1.0, 1.0, 1.0),
               max_samples: int | None = None, should_abort: Callable[[], bool] | None = None,
               chunk: int | None = None, crop: CropBox | None = None) -> RenderOutput | None:
        """Camera `index` of `cameras` as a RenderOutput of CPU float32 [H, W] maps, rendered in
        chunks of `chunk` rays (default config.render_chunk); None if should_abort() became true
        between chunks. A smaller chunk lets should_abort() stop a stale render sooner (the
        viewer's case). `background` applies to scenes trained with alpha; scenes without alpha
        were trained on black (their images cover every ray), so they render on black. `crop` (a
        nerf.data.crop.CropBox in the normalised world) shows only what lies inside it."""
        rays_o, rays_d = image_rays(cameras_on(cameras, self.device), index)
        h, w = rays_o.shape[:2]
        rays_o, rays_d = to_model_space(rays_o.reshape(-1, 3), rays_d.reshape(-1, 3), self.cameras,
                                        self.scene.ndc)
        if not self.has_alpha:
            background = BACKGROUNDS["black"]
        bg = torch.as_tensor(background, dtype=torch.float32, device=self.device)
        return render_image(self.model, rays_o, rays_d, bg, (h, w), chunk=chunk or self.config.render_chunk,
                            pool=self.pool, max_samples=max_samples, should_abort=should_abort, crop=crop)

    def target_image(self, split: str, index: int, background=None) -> torch.Tensor:
        """Ground truth [H, W, 3] of a view, composited on the eval background (or `background`)."""
        bg = BACKGROUNDS[self.config.eval_background] if background is None else background
        return target_image(self.scene, split, index, bg)

    @torch.no_grad()
    def evaluate(self, split: str = "test", max_views: int | None = None,
                 should_abort: Callable[[], bool] | None = None, keep_images: bool = False) -> EvalResult | None:
        """Mean PSNR and SSIM over the first max_views views of `split` (all by default), rendered
        on config.eval_background; the predicted images too with keep_images. None if aborted."""
        sp = self.scene.split(split)
        n = len(sp) if max_views is None else min(max_views, len(sp))
        bg = BACKGROUNDS[self.config.eval_background]
        return evaluate_views(lambda i: self.render(sp.cameras, i, background=bg, should_abort=should_abort),
                              lambda i: self.target_image(split, i), n, self.device, keep_images)

    # ---- checkpoints -------------------------------------------------------------------------
    def save(self, path: str | Path) -> None:
        """Everything needed to resume exactly: config, model, optimizer, occupancy grid, step, RNG."""
        write_checkpoint(path, self.config, self.scene, self.meta, self._state())

    def restore(self, state: dict, path: str | Path) -> None:
        """Continue the run saved in a checkpoint's `state` (nerf.train.checkpoint); InputError naming
        `path` when it does not fit this scene and model."""
        try:
            self._load_state(state)
        except (KeyError, RuntimeError, ValueError, TypeError, AttributeError) as e:
            raise InputError(path, f"does not match this scene/model: {(str(e).splitlines() or [type(e).__name__])[0]}"
                             ) from None
        self._take_snapshot()
