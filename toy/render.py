"""Frames for the toy lab: uint8 images with title lines, error maps, side-by-side panels, GIF/MP4 files
(written by nerf.media).

Text uses PIL's bundled default font, so no font files or extra dependencies are needed.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from nerf.media import colormap, to_uint8, write_video

# Error colour map anchors (black -> purple -> orange -> yellow), a small magma look-alike.
_ERR_ANCHORS = np.array([[0, 0, 0], [80, 18, 123], [222, 73, 104], [252, 253, 191]], dtype=np.float32)
ERROR_RANGE = 0.25  # mean absolute error mapped to the top colour


@lru_cache(maxsize=1)
def _font() -> ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=11)
    except TypeError:  # Pillow < 10.1 has only the fixed bitmap font
        return ImageFont.load_default()


LINE_HEIGHT = 14


def error_colours(error: np.ndarray) -> np.ndarray:
    """[H, W] mean absolute error -> [H, W, 3] uint8 (the top colour from ERROR_RANGE on)."""
    return colormap(error / ERROR_RANGE, _ERR_ANCHORS).astype(np.uint8)


def error_map(recon, target) -> np.ndarray:
    """Mean absolute error per pixel as colours: [H, W, 3] uint8 (top colour = ERROR_RANGE or more)."""
    err = np.abs(np.clip(np.asarray(recon, np.float32), 0, 1) - np.asarray(target, np.float32)).mean(axis=-1)
    return error_colours(err)


def wrap_lines(lines: list[str], width: int) -> list[str]:
    """Split each line at " | " (then at spaces) so it fits `width` pixels."""
    font, out = _font(), []
    for line in lines:
        current = ""
        for piece in line.replace(" | ", "\n| ").split("\n"):
            for word in piece.split(" "):
                candidate = word if not current else f"{current} {word}"
                if current and font.getlength(candidate) > width - 4:
                    out.append(current)
                    current = word.lstrip("| ") if word.startswith("|") else word
                else:
                    current = candidate
        if current:
            out.append(current)
    return out


def titled(image: np.ndarray, lines: list[str], n_lines: int | None = None) -> np.ndarray:
    """Put title lines above an [H, W, 3] uint8 image (white text on dark grey): [H + 14 k, W, 3].

    n_lines pads the title block to a fixed number of lines, so frames of one video keep one size.
    """
    h, w = image.shape[:2]
    wrapped = wrap_lines(lines, w)
    k = max(len(wrapped), n_lines or 0)
    banner = Image.new("RGB", (w, LINE_HEIGHT * k + 2), (32, 32, 32))
    draw = ImageDraw.Draw(banner)
    for i, line in enumerate(wrapped[:k]):
        draw.text((3, 1 + LINE_HEIGHT * i), line, fill=(240, 240, 240), font=_font())
    return np.concatenate([np.asarray(banner), image], axis=0)


def side_by_side(panels: list[np.ndarray], gap: int = 4) -> np.ndarray:
    """Join uint8 [H_i, W_i, 3] images left to right on white, top-aligned."""
    h = max(p.shape[0] for p in panels)
    w = sum(p.shape[1] for p in panels) + gap * (len(panels) - 1)
    out = np.full((h, w, 3), 255, dtype=np.uint8)
    x = 0
    for p in panels:
        out[:p.shape[0], x:x + p.shape[1]] = p
        x += p.shape[1] + gap
    return out


def result_panel(recon, error_rgb: np.ndarray | None, lines: list[str], n_lines: int,
                 min_width: int = 128) -> np.ndarray:
    """[reconstruction | error] under title lines; small images are enlarged (nearest) to at least
    min_width per picture so the titles stay legible. recon: [H, W, 3] float; error_rgb: [H, W, 3] uint8."""
    pictures = [to_uint8(recon)] + ([error_rgb] if error_rgb is not None else [])
    zoom = -(-min_width // pictures[0].shape[1])
    if zoom > 1:
        pictures = [p.repeat(zoom, axis=0).repeat(zoom, axis=1) for p in pictures]
    return titled(side_by_side(pictures, gap=2), lines, n_lines=n_lines)


def _same_size(frames: list[np.ndarray], even: bool = False) -> list[np.ndarray]:
    """Pad frames (bottom/right, white) to the largest size; even sizes for H.264's 4:2:0."""
    h = max(f.shape[0] for f in frames)
    w = max(f.shape[1] for f in frames)
    if even:
        h, w = h + h % 2, w + w % 2
    out = []
    for f in frames:
        if f.shape[:2] != (h, w):
            padded = np.full((h, w, 3), 255, dtype=np.uint8)
            padded[:f.shape[0], :f.shape[1]] = f
            f = padded
        out.append(f)
    return out


def write_gif(path: str | Path, frames: list[np.ndarray], fps: float = 10.0) -> Path:
    """Write uint8 frames of any sizes (padded on white to the largest) as a looping GIF."""
    write_video(path, _same_size(frames), fps)
    return Path(path)


def write_mp4(path: str | Path, frames: list[np.ndarray], fps: float = 10.0) -> Path:
    """Write uint8 frames of any sizes (padded on white to the largest, even) as an H.264 MP4."""
    write_video(path, _same_size(frames, even=True), fps)
    return Path(path)
