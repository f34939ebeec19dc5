"""The scene's dataset views as the viewer uses them: how many, their images on a background and
their cameras at a resolution scale. No window here (tests/viewer/test_dataset_views.py)."""
from __future__ import annotations

import numpy as np
import torch

from nerf.data.cameras import fov_deg, resized_cameras


class DatasetViews:
    """Views of `scene` (a nerf.data.scene.Scene)."""

    def __init__(self, scene):
        self.scene = scene

    def count(self, split: str) -> int:
        return len(self.scene.split(split))

    def c2ws(self, split: str = "train") -> np.ndarray:
        """[N, 4, 4] camera-to-world poses of a split, OpenGL convention."""
        return self.scene.split(split).cameras.c2w.numpy().astype(np.float64)

    def ground_truth(self, split: str, index: int, background) -> np.ndarray:
        """Dataset image `index` of `split` [H, W, 3] on `background` (RGB in [0, 1])."""
        return self.scene.split(split).rgb(torch.tensor(background), index).numpy()

    def camera(self, split: str, index: int, scale: float):
        """Camera `index` of a split at `scale` x its resolution (at most full), distortion kept."""
        c = self.scene.split(split).cameras.one(index)
        if scale >= 1.0:
            return c
        return resized_cameras(c, max(8, int(c.width * scale)), max(8, int(c.height * scale)))

    def fov_y_deg(self, split: str = "train") -> float:
        """Vertical field of view of the split's first camera."""
        c = self.scene.split(split).cameras
        return fov_deg(float(c.fy[0]), c.height)

    def nearest(self, split: str, eye: np.ndarray) -> int:
        """The view of `split` whose camera is nearest the point eye [3]."""
        return int(np.argmin(np.linalg.norm(self.c2ws(split)[:, :3, 3] - np.asarray(eye), axis=1)))

    def jump(self, split: str, snapped: int | None, eye: np.ndarray, delta: int) -> int:
        """The view `[` / `]` go to: from a snapped view the one `delta` on (wrapping round), from
        anywhere else the nearest camera first (instant-ngp's keys)."""
        if snapped is None:
            return self.nearest(split, eye)
        return (snapped + delta) % self.count(split)
