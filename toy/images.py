"""Loading the image a coordinate network fits.

Decoding is nerf.data.formats.images.read_image's (16-bit scaled by 65535, EXIF orientation honoured); the
toy lab then wants plain RGB: RGBA is composited on white (the study's images have white backgrounds).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from nerf.data.formats.images import read_image
from nerf.errors import InputError


def load_image(path: str | Path, size: int | None = None) -> np.ndarray:
    """Read an image file -> [H, W, 3] float32 in [0, 1].

    size: if given, the image is centre-cropped to a square and resized to size x size (Lanczos),
    as Tancik et al. do for their 512x512 natural images. Raises InputError on any bad file.
    """
    image = read_image(path)  # [H, W, 3 or 4]
    if image.shape[-1] == 4:
        alpha = image[..., 3:4]
        image = (image[..., :3] * alpha + (1.0 - alpha)).astype(np.float32)  # composite on white
    if image.shape[0] < 2 or image.shape[1] < 2:
        raise InputError(path, f"image too small ({image.shape[1]}x{image.shape[0]})")
    if size is not None:
        image = square_resize(image, size)
    return image


def square_resize(rgb: np.ndarray, size: int) -> np.ndarray:
    """Centre-crop [H, W, 3] to a square, resize to [size, size, 3] (float32 in [0, 1])."""
    if size < 2:
        raise InputError("<size>", f"image size must be at least 2, got {size}")
    h, w = rgb.shape[:2]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    crop = rgb[top:top + side, left:left + side]
    if side == size:
        return np.ascontiguousarray(crop, dtype=np.float32)
    channels = [Image.fromarray(crop[..., c].astype(np.float32), mode="F") for c in range(3)]
    resized = [np.asarray(ch.resize((size, size), Image.Resampling.LANCZOS)) for ch in channels]
    return np.clip(np.stack(resized, axis=-1), 0.0, 1.0).astype(np.float32)


def default_image(size: int | None = 256) -> tuple[np.ndarray, str]:
    """The project's default toy image, or a generated one while assets/toy_default.png is missing.

    Returns (rgb [H, W, 3], name for titles).
    """
    import assets

    path = assets.default_image_path()
    if path.exists():
        return load_image(path, size), path.name
    return generated_image(size or 256), "generated"


def generated_image(size: int = 64) -> np.ndarray:
    """A deterministic test image with coarse and fine detail: [size, size, 3] float32 in [0, 1].

    Smooth colour gradients, a disc, and a stripe pattern whose frequency rises to the right, so raw
    coordinates visibly fail on the fine part while encodings succeed.
    """
    t = (np.arange(size, dtype=np.float32) + 0.5) / size
    y, x = np.meshgrid(t, t, indexing="ij")
    r = 0.5 + 0.4 * np.sin(2 * np.pi * x)
    g = 0.5 + 0.4 * np.cos(2 * np.pi * y)
    b = 0.5 + 0.45 * np.sin(np.pi * (4 + 28 * x) * x) * (y > 0.5)
    disc = ((x - 0.3) ** 2 + (y - 0.3) ** 2) < 0.03
    rgb = np.stack([r, g, b], axis=-1)
    rgb[disc] = (0.95, 0.85, 0.1)
    return np.clip(rgb, 0.0, 1.0).astype(np.float32)
