"""A fake Trainer for testing the viewer and the worker without any NeRF.

It satisfies nerf.train.protocol.TrainerLike (tests/nerf/test_worker.py checks it against the real
Trainer's signatures) and has the rest of the Trainer API the viewer uses. `render` paints a procedural
image from the camera's ray directions (a coloured checker on the direction sphere), so any change of
pose changes the image.
"""
from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path

import torch

from nerf.data.cameras import image_rays, look_at, make_cameras
from nerf.data.scene import Scene, Split
from nerf.models.base import RenderOutput
from nerf.train.evaluation import EvalResult
from nerf.train.protocol import StepResult


@dataclass(frozen=True)
class FakeConfig:
    model_name: str = "ngp"
    lr: float = 1e-2
    batch_rays: int = 1024
    target_samples: int = 0


def make_fake_scene(size: int = 16, n_train: int = 4, n_test: int = 2) -> Scene:
    """A tiny in-memory scene: cameras on a circle looking at the origin, images from FakeTrainer."""
    splits = {}
    for name, n in (("train", n_train), ("test", n_test)):
        c2w = torch.stack([look_at((4 * math.cos(a), 4 * math.sin(a), 1.5), (0, 0, 0))
                           for a in torch.linspace(0, 2 * math.pi, n + 1)[:-1].tolist()])
        cams = make_cameras(c2w, size, size, fov_y_deg=40.0)
        images = torch.stack([paint(cams, i) for i in range(n)])
        splits[name] = Split(name, images, cams, [f"{name}_{i}.png" for i in range(n)])
    return Scene("fake", "blender", Path("fake"), splits, bound=1.5, near=2.0, far=6.0,
                 scale=2.0, offset=(0.5, -1.0, 0.25))


def paint(cameras, index: int, step: int = 10**6) -> torch.Tensor:
    """[H, W, 3] procedural colours of the ray directions; sharper as `step` grows."""
    _, d = image_rays(cameras, index)  # [H, W, 3]
    freq = 3.0 + min(step, 200) / 50.0
    checker = ((torch.floor(d[..., 0] * freq) + torch.floor(d[..., 1] * freq)
                + torch.floor(d[..., 2] * freq)) % 2).unsqueeze(-1)
    return (0.5 + 0.5 * d) * (0.6 + 0.4 * checker)


class FakeTrainer:
    """Trainer stand-in. Knobs: `step_seconds`, `render_row_seconds`, `fail_next_step`, `fail_next_render`,
    `nan_steps`."""

    def __init__(self, scene: Scene | None = None, config: FakeConfig | None = None, device="cpu",
                 step_seconds: float = 0.002, render_row_seconds: float = 0.0):
        self.scene = scene if scene is not None else make_fake_scene()
        self.config = config or FakeConfig()
        self.device = torch.device(device)
        self.step_seconds = step_seconds
        self.render_row_seconds = render_row_seconds
        self.step_count = 0
        self.train_seconds = 0.0
        self.fail_next_step = False
        self.fail_next_render = False
        self.nan_steps = 0  # the next steps' losses are not finite (each "restores" the last snapshot)
        self.lr, self.batch_rays = self.config.lr, self.config.batch_rays
        self.resets = 0
        self.progress: float | None = None  # set by the worker before each step
        self.pool = None  # set by a worker that shards
        self.progress_seen: list = []
        self.yielded = 0  # steps dropped for a waiting camera move
        self.thread_ids: set[int] = set()  # which threads touched the trainer: must be one

    def _touch(self) -> None:
        self.thread_ids.add(threading.get_ident())

    def step(self, should_yield=None) -> StepResult:
        self._touch()
        if self.fail_next_step:
            self.fail_next_step = False
            raise RuntimeError("fake step failure")
        self.progress_seen.append(self.progress)
        time.sleep(self.step_seconds / 2)  # "forward"
        if should_yield is not None and should_yield():
            self.yielded += 1
            self.train_seconds += self.step_seconds / 2
            return StepResult("yielded", self.step_count, self.step_seconds / 2)
        time.sleep(self.step_seconds / 2)  # "backward"
        self.train_seconds += self.step_seconds
        if self.nan_steps:
            self.nan_steps -= 1
            return StepResult("nan_recovered", self.step_count, self.step_seconds, rays=self.batch_rays)
        self.step_count += 1
        loss = 0.1 / (1 + 0.05 * self.step_count)
        return StepResult("trained", self.step_count, self.step_seconds, rays=self.batch_rays, loss=loss,
                          psnr=-10 * math.log10(loss), samples_per_ray=32.0, lr=self.lr)

    def set_lr(self, lr: float) -> None:
        self._touch()
        self.lr = lr

    def set_batch_rays(self, n: int) -> None:
        self._touch()
        self.batch_rays = n

    def camera_psnrs(self) -> tuple[float, ...]:
        """Not known before the first step; then view i fits 20 + i dB plus a step's share (as `step`'s PSNR)."""
        self._touch()
        n = len(self.scene.split("train"))
        if self.step_count == 0:
            return (math.nan,) * n
        return tuple(20.0 + i + min(self.step_count, 1000) / 100.0 for i in range(n))

    def reset(self) -> None:
        self._touch()
        self.step_count = 0
        self.train_seconds = 0.0
        self.resets += 1

    def evaluate(self, split: str = "test", max_views=None, should_abort=None) -> EvalResult | None:
        self._touch()
        for _ in range(5):
            if should_abort is not None and should_abort():
                return None
            time.sleep(0.01)
        views = len(self.scene.split(split))
        psnr = 20.0 + min(self.step_count, 1000) / 100.0
        return EvalResult(psnr=psnr, ssim=0.8, views=views, per_view_psnr=[psnr] * views)

    def render(self, cameras, index: int = 0, *, background=(1.0, 1.0, 1.0), max_samples=None,
               should_abort=None, chunk=None, crop=None) -> RenderOutput | None:
        self._touch()
        if self.fail_next_render:
            self.fail_next_render = False
            raise RuntimeError("fake render failure")
        for _ in range(cameras.height):  # chunked by rows, like the real renderer
            if should_abort is not None and should_abort():
                return None
            if self.render_row_seconds:
                time.sleep(self.render_row_seconds)
        rgb = paint(cameras, index, self.step_count)
        h, w = rgb.shape[:2]
        depth = torch.linspace(2.0, 6.0, h)[:, None].expand(h, w).clone()
        opacity = torch.ones(h, w)
        return RenderOutput(rgb=rgb, depth=depth, opacity=opacity)

    def save(self, path) -> None:
        self._touch()
        torch.save({"step": self.step_count, "model": self.config.model_name}, path)

    @classmethod
    def load(cls, path, scene=None, device="cpu") -> "FakeTrainer":
        data = torch.load(path)
        t = cls(scene, replace(FakeConfig(), model_name=data["model"]), device)
        t.step_count = data["step"]
        return t
