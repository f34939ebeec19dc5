"""Fitting one image with a coordinate MLP: pixel split, Adam steps, PSNR on trained and held-out pixels.

Held-out pixels are all pixels not trained on; when every pixel is trained on, held-out PSNR equals
train PSNR (reported as such, it measures nothing new). Knows nothing about threads or windows.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import torch

from toy.model import CoordMLP, ModelConfig

SAMPLINGS = ("random", "grid2")


@dataclass(frozen=True)
class FitConfig:
    steps: int = 500  # Adam steps
    lr: float = 1e-3  # Adam learning rate (Tancik et al. use 1e-3)
    batch: int = 0  # pixels per step; 0 = full batch (every training pixel every step)
    fraction: float = 1.0  # share of pixels trained on, drawn once with `seed`
    # "random" (a seeded `fraction` of pixels) or "grid2" (even rows and columns, Tancik et al.)
    sampling: str = "random"
    seed: int = 0  # seeds the weights, the pixel draw and the mini-batches


def pixel_coords(height: int, width: int) -> torch.Tensor:
    """Pixel centres in [-1, 1], row-major: [H*W, 2] as (x, y), y down."""
    ys = (torch.arange(height, dtype=torch.float32) + 0.5) / height * 2 - 1
    xs = (torch.arange(width, dtype=torch.float32) + 0.5) / width * 2 - 1
    y, x = torch.meshgrid(ys, xs, indexing="ij")
    return torch.stack([x, y], dim=-1).reshape(-1, 2)


def psnr(mse: float) -> float:
    """PSNR in dB for colours in [0, 1]."""
    return float("inf") if mse <= 0 else -10.0 * math.log10(mse)


def split_pixels(height: int, width: int, fraction: float, sampling: str,
                 generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """(train indices, held-out indices) into the row-major pixel list; disjoint, together all pixels."""
    n = height * width
    if sampling == "grid2":
        rows, cols = torch.meshgrid(torch.arange(height), torch.arange(width), indexing="ij")
        mask = ((rows % 2 == 0) & (cols % 2 == 0)).reshape(-1)
    elif sampling == "random":
        if not 0.0 < fraction <= 1.0:
            raise ValueError(f"pixel fraction must be in (0, 1], got {fraction}")
        n_train = max(1, round(fraction * n))
        mask = torch.zeros(n, dtype=torch.bool)
        mask[torch.randperm(n, generator=generator)[:n_train]] = True
    else:
        raise ValueError(f"sampling must be one of {', '.join(SAMPLINGS)}, got {sampling!r}")
    return mask.nonzero().squeeze(1), (~mask).nonzero().squeeze(1)


class ToyTrainer:
    """One coordinate MLP fitting one image [H, W, 3] float32 in [0, 1]."""

    def __init__(self, image: np.ndarray, model_config: ModelConfig, fit_config: FitConfig = FitConfig(),
                 device: torch.device | str = "cpu"):
        if image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(f"image must be [H, W, 3], got {image.shape}")
        self.device = torch.device(device)
        self.model_config = model_config.validated()
        self.fit_config = fit_config
        self.height, self.width = image.shape[:2]
        self.colors = torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32)).reshape(-1, 3).to(self.device)
        self.coords = pixel_coords(self.height, self.width).to(self.device)  # [H*W, 2]
        self.reset()

    def reset(self) -> None:
        """Fresh weights, optimizer and pixel split from the seed; step 0."""
        gen = torch.Generator().manual_seed(self.fit_config.seed)
        train_idx, held_idx = split_pixels(self.height, self.width, self.fit_config.fraction,
                                           self.fit_config.sampling, gen)
        self.train_idx, self.heldout_idx = train_idx.to(self.device), held_idx.to(self.device)
        self.model = CoordMLP(self.model_config, gen).to(self.device)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=self.fit_config.lr)
        self.batch_generator = torch.Generator().manual_seed(self.fit_config.seed + 1)
        self.step_count = 0
        self._train_xy = self.coords[self.train_idx]  # [n_train, 2]
        self._train_rgb = self.colors[self.train_idx]  # [n_train, 3]

    @property
    def n_params(self) -> int:
        return self.model.n_params

    @property
    def image_values(self) -> int:
        return self.height * self.width * 3

    @property
    def n_train_pixels(self) -> int:
        return int(self.train_idx.numel())

    @property
    def n_pixels(self) -> int:
        return self.height * self.width

    def set_lr(self, lr: float) -> None:
        for group in self.optimizer.param_groups:
            group["lr"] = lr

    def step(self) -> dict:
        """One Adam step on the training pixels (all of them, or a seeded mini-batch)."""
        t0 = time.perf_counter()
        xy, rgb = self._train_xy, self._train_rgb
        batch = self.fit_config.batch
        if 0 < batch < xy.shape[0]:
            pick = torch.randint(0, xy.shape[0], (batch,), generator=self.batch_generator).to(self.device)
            xy, rgb = xy[pick], rgb[pick]
        loss = torch.mean((self.model(xy) - rgb) ** 2)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self.step_count += 1
        loss_value = float(loss.detach())
        return {"step": self.step_count, "loss": loss_value, "batch_psnr": psnr(loss_value),
                "seconds": time.perf_counter() - t0}

    @torch.no_grad()
    def predict(self, chunk: int = 1 << 16) -> torch.Tensor:
        """The whole reconstruction: [H, W, 3] float32 on the CPU (not clipped)."""
        out = torch.cat([self.model(self.coords[i:i + chunk]) for i in range(0, self.coords.shape[0], chunk)])
        return out.reshape(self.height, self.width, 3).cpu()

    @torch.no_grad()
    def evaluate(self, prediction: torch.Tensor | None = None) -> dict:
        """{"train_psnr", "heldout_psnr" (None when every pixel is trained on), "full_psnr", "recon" [H, W, 3]}.

        PSNR is measured on the prediction clipped to [0, 1], as a displayed image would be.
        """
        pred = self.predict() if prediction is None else prediction
        err = (pred.clamp(0, 1).reshape(-1, 3) - self.colors.cpu()) ** 2  # [H*W, 3]
        per_pixel = err.mean(dim=1)
        held = self.heldout_idx.cpu()
        return {"train_psnr": psnr(float(per_pixel[self.train_idx.cpu()].mean())),
                "heldout_psnr": psnr(float(per_pixel[held].mean())) if held.numel() else None,
                "full_psnr": psnr(float(per_pixel.mean())), "recon": pred}


def describe(trainer: ToyTrainer) -> str:
    """Title line: layers, parameters vs image values, pixels used."""
    layers = ",".join(str(w) for w in trainer.model.layers)
    share = 100.0 * trainer.n_train_pixels / trainer.n_pixels
    cfg = trainer.model_config
    extras = [cfg.encoding]
    if cfg.warp != "none":
        extras.append(f"warp {cfg.warp}")
    extras.append(f"{cfg.activation}/out {cfg.output}")
    return (f"[{layers}] {' '.join(extras)} | {trainer.n_params:,} params vs {trainer.image_values:,} values"
            f" | {share:.0f}% px")
