"""What the toy worker publishes: one ConfigSnapshot per trained configuration inside a LabSnapshot.

Plain CPU numpy arrays and numbers, made on the worker thread and read by the viewer panel and
toy.views, so nothing in them is shared with the trainers.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from toy.train import ToyTrainer, describe

GRID_LINES = 9  # lines of constant x (and of constant y) in the warp grid
GRID_POINTS = 33  # points along each grid line
FIELD_RES = 32  # resolution of the warped-coordinate colour map and of the embedding channel maps


@dataclass
class History:
    """PSNR curves of one configuration, one entry per snapshot."""

    steps: list[int] = field(default_factory=list)
    train: list[float] = field(default_factory=list)
    heldout: list[float] = field(default_factory=list)


@dataclass(frozen=True)
class ConfigSnapshot:
    """Everything the panel draws for one configuration."""

    step: int
    recon: np.ndarray  # [H, W, 3] float in [0, 1]
    error_map: np.ndarray  # [H, W] mean absolute error per pixel
    train_psnr: float
    heldout_psnr: float  # the train PSNR when every pixel is trained on (heldout_is_train)
    heldout_is_train: bool
    history: tuple[list[int], list[float], list[float]]  # (steps, train PSNR, held-out PSNR)
    warp_grid: np.ndarray  # [2 * GRID_LINES, GRID_POINTS, 2] the identity grid after the 2->2 warp
    warp_field: np.ndarray  # [FIELD_RES, FIELD_RES, 2] warped coordinates of a regular grid
    embedding: np.ndarray | None  # [N, FIELD_RES, FIELD_RES] learned embedding channels, else None
    title: str  # toy.train.describe: layers, parameters, encoding
    params: int
    image_values: int
    layers: list[int]


@dataclass(frozen=True)
class LabSnapshot:
    """The worker's state as one newest-wins item: both configurations, or an error."""

    configs: list[ConfigSnapshot]  # empty after an error or before the first setup
    image: np.ndarray | None  # [H, W, 3] the target image
    image_name: str
    running: bool
    error: str | None  # set when training, a command or a snapshot failed; training then stops
    steps_per_s: float


def identity_grid(n_lines: int = GRID_LINES, n_points: int = GRID_POINTS) -> torch.Tensor:
    """[2 * n_lines, n_points, 2] (x, y) in [-1, 1]: vertical lines, then horizontal lines."""
    ticks = torch.linspace(-1, 1, n_lines)
    along = torch.linspace(-1, 1, n_points)
    vertical = torch.stack([ticks[:, None].expand(-1, n_points), along[None, :].expand(n_lines, -1)], dim=-1)
    horizontal = vertical.flip(-1)
    return torch.cat([vertical, horizontal], dim=0)


@torch.no_grad()
def snapshot_of(trainer: ToyTrainer, history: History, image: np.ndarray) -> ConfigSnapshot:
    """Evaluate `trainer` and append to its `history`."""
    evaluation = trainer.evaluate()
    held = evaluation["heldout_psnr"]
    history.steps.append(trainer.step_count)
    history.train.append(evaluation["train_psnr"])
    history.heldout.append(evaluation["train_psnr"] if held is None else held)
    model = trainer.model
    device = trainer.device
    grid = identity_grid().to(device)
    warped_grid = model.warped(grid.reshape(-1, 2)).reshape(grid.shape).cpu().numpy()  # [2L, P, 2]
    ticks = (torch.arange(FIELD_RES, dtype=torch.float32) + 0.5) / FIELD_RES * 2 - 1
    yy, xx = torch.meshgrid(ticks, ticks, indexing="ij")
    field_xy = torch.stack([xx, yy], dim=-1).reshape(-1, 2).to(device)
    warped_field = model.warped(field_xy).reshape(FIELD_RES, FIELD_RES, 2).cpu().numpy()
    embedding = None
    if model.config.encoding == "learned":
        embedding = model.encoding(model.warped(field_xy)).T.reshape(-1, FIELD_RES, FIELD_RES).cpu().numpy()
    recon = evaluation["recon"].clamp(0, 1).numpy()
    return ConfigSnapshot(
        step=trainer.step_count, recon=recon, error_map=np.abs(recon - image).mean(axis=-1),
        train_psnr=evaluation["train_psnr"], heldout_psnr=history.heldout[-1], heldout_is_train=held is None,
        history=(list(history.steps), list(history.train), list(history.heldout)),
        warp_grid=warped_grid, warp_field=warped_field, embedding=embedding, title=describe(trainer),
        params=trainer.n_params, image_values=trainer.image_values, layers=list(model.layers))
