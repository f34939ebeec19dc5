"""Generated captures written as nerfstudio writes a processed phone video: RGB JPGs in images/ and one
transforms.json with per-frame intrinsics (OPENCV, optionally with lens distortion), no splits (the
loader holds out every 8th frame) and `aabb_scale` only when asked for.

A scene module supplies the cameras (poses and intrinsics) and a shading function of rays; this module
casts the rays of each pixel (through the lens model nerf.data.cameras uses to read the files back, so
an image and its stored camera agree exactly), averages each pixel's supersamples and writes the files.
The camera paths the scenes share (circles and arcs around a point, outward-looking rings) are here too.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from PIL import Image

from nerf.data.cameras import camera_directions
from nerf.data.generated.synthetic import pose_at

Shader = Callable[[np.ndarray, np.ndarray], np.ndarray]  # unit rays o, d [n, 3] -> colour [n, 3] in [0, 1]


@dataclass(frozen=True)
class Intrinsics:
    """One frame's pinhole and lens, in pixels, as transforms.json stores them."""

    fx: float
    fy: float
    cx: float
    cy: float
    distortion: tuple[float, float, float, float] | None = None  # OPENCV k1, k2, p1, p2; None: an ideal lens

    @classmethod
    def from_fov(cls, width: int, height: int, fov_x: float) -> "Intrinsics":
        """Square pixels, centred principal point, horizontal field of view `fov_x` in radians."""
        focal = 0.5 * width / math.tan(0.5 * fov_x)
        return cls(focal, focal, width / 2.0, height / 2.0)

    def to_json(self) -> dict:
        out = {"fl_x": self.fx, "fl_y": self.fy, "cx": self.cx, "cy": self.cy}
        if self.distortion is not None:
            out.update(zip(("k1", "k2", "p1", "p2"), self.distortion, strict=True))
        return out


def pixel_rays(c2w: np.ndarray, intr: Intrinsics, width: int, height: int,
               supersample: int) -> tuple[np.ndarray, np.ndarray]:
    """Rays o, d [height*width*k*k, 3] (k = supersample) through a regular k x k grid in each pixel,
    ordered row-major by pixel, then by sub-sample, so a reshape to [H, W, k*k, 3] groups each pixel.

    The lens is undone with nerf.data.cameras.camera_directions, the function the loader's rays use.
    """
    offsets = (torch.arange(supersample, dtype=torch.float64) + 0.5) / supersample
    u = (torch.arange(width, dtype=torch.float64)[:, None] + offsets).reshape(-1)  # [W*k]
    v = (torch.arange(height, dtype=torch.float64)[:, None] + offsets).reshape(-1)  # [H*k]
    k = supersample
    px = u.reshape(1, width, 1, k).expand(height, width, k, k).reshape(-1)
    py = v.reshape(height, 1, k, 1).expand(height, width, k, k).reshape(-1)
    dist = None
    if intr.distortion is not None:
        k1, k2, p1, p2 = intr.distortion
        dist = torch.tensor([[k1, k2, 0.0, 0.0, p1, p2]], dtype=torch.float64).expand(len(px), 6)
    dirs = camera_directions((px - intr.cx) / intr.fx, (py - intr.cy) / intr.fy, "perspective", dist)
    d = dirs.numpy() @ np.asarray(c2w, np.float64)[:3, :3].T
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    return np.repeat(np.asarray(c2w, np.float64)[None, :3, 3], len(d), axis=0), d


def render_frame(shade: Shader, c2w: np.ndarray, intr: Intrinsics, width: int, height: int,
                 supersample: int) -> np.ndarray:
    """RGB [H, W, 3] float32 in [0, 1]: the mean of each pixel's supersample rays."""
    o, d = pixel_rays(c2w, intr, width, height, supersample)
    rgb = shade(o, d).reshape(height, width, supersample * supersample, 3).mean(axis=2)
    return np.clip(rgb, 0.0, 1.0).astype(np.float32)


def write_capture(out_dir: str | Path, shade: Shader, poses: np.ndarray, intrinsics: list[Intrinsics],
                  width: int, height: int, supersample: int = 3, aabb_scale: float | None = None,
                  quality: int = 95) -> Path:
    """Render every frame into `out_dir`: images/frame_NNNNN.jpg and transforms.json. Frames of an
    earlier, larger capture in the folder are removed first, so it holds exactly this capture."""
    out = Path(out_dir)
    (out / "images").mkdir(parents=True, exist_ok=True)
    for stale in (out / "images").glob("frame_*.jpg"):
        stale.unlink()
    frames = []
    for i, (c2w, intr) in enumerate(zip(poses, intrinsics, strict=True)):
        rgb = render_frame(shade, c2w, intr, width, height, supersample)
        name = f"images/frame_{i + 1:05d}.jpg"
        Image.fromarray(np.round(rgb * 255).astype(np.uint8)).save(out / name, quality=quality)
        frames.append({"file_path": name, "transform_matrix": np.asarray(c2w).tolist(), **intr.to_json(),
                       "w": width, "h": height})
    meta = {"camera_model": "OPENCV", "frames": frames}
    if aabb_scale is not None:
        meta["aabb_scale"] = aabb_scale
    (out / "transforms.json").write_text(json.dumps(meta, indent=2) + "\n")
    return out


# --- camera paths ------------------------------------------------------------------------------

def orbit(n: int, radius: float, height: float, target, start_deg: float = 0.0, span_deg: float = 360.0,
          rng: np.random.Generator | None = None, wobble: float = 0.0, swing: float = 0.0) -> np.ndarray:
    """n cameras [n, 4, 4] on a circle (span 360) or an arc around the z axis at `height`, each looking at
    `target` [3]; the height rises and falls by `swing` twice per turn, and `wobble` (with `rng`) jitters
    angle, radius and height as a hand-held walk does."""
    if n == 0:
        return np.zeros((0, 4, 4))
    steps = n if span_deg >= 360.0 else max(n - 1, 1)  # a circle does not repeat its first view
    a = np.radians(start_deg + span_deg * np.arange(n) / steps)
    r, h = np.full(n, radius), height + swing * np.sin(2 * a)
    if wobble > 0:
        a = a + rng.uniform(-wobble, wobble, n) * math.radians(span_deg / steps)
        r = r + rng.uniform(-wobble, wobble, n) * 0.1 * radius
        h = h + rng.uniform(-wobble, wobble, n) * 0.1
    eyes = np.stack([r * np.cos(a), r * np.sin(a), h], axis=1)
    return np.round(np.stack([pose_at(e, target) for e in eyes]), 8)  # as written: images match the json
