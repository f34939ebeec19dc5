"""nerfstudio's masks (`mask_path` per frame): which pixels of a view may supervise training.

As in nerfstudio, a mask is an image of the view's size whose zero pixels are excluded and any
other value keeps the pixel (its pixel sampler draws rays only where the mask is set). With
--downscale K a pixel of the smaller image is kept only when all K x K pixels it averages are: a
masked pixel (a moving person, the capture rig) must never leak into the colour it supervises.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from nerf.data.formats.images import area_downscale, image_header, read_image
from nerf.errors import InputError


def read_mask(path: Path, width: int, height: int, downscale: int) -> np.ndarray:
    """[height // downscale, width // downscale] bool: True where the pixel may supervise."""
    w, h, _ = image_header(path)
    if (w, h) != (width, height):
        raise InputError(path, f"mask is {w}x{h} but its image is {width}x{height}")
    keep = (read_image(path)[..., 0] > 0).astype(np.float32)  # grey is replicated to RGB: channel 0 is it
    return area_downscale(keep[..., None], downscale)[..., 0] >= 1.0 - 1e-6  # every source pixel kept


def read_masks(masks: list[Path | None], width: int, height: int, downscale: int, split: str) -> torch.Tensor | None:
    """[N, height // downscale, width // downscale] bool for a split's views (a view without a mask keeps
    every pixel), or None when no view has one. InputError when the masks leave no pixel to train on."""
    if all(m is None for m in masks):
        return None
    shape = (height // downscale, width // downscale)
    out = torch.ones((len(masks), *shape), dtype=torch.bool)
    for i, path in enumerate(masks):
        if path is not None:
            out[i] = torch.from_numpy(read_mask(path, width, height, downscale))
    if not out.any():
        first = next(m for m in masks if m is not None)
        raise InputError(first.parent, f"the masks of split '{split}' exclude every pixel")
    return out
