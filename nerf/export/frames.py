"""Where rendered frames go (an MP4/GIF or a folder of PNGs), and how depth and opacity look.

A video is encoded under a temporary name and renamed when closed, so an unfinished render never
looks like a finished one; closing after an interruption keeps the frames written so far. Encoding
is nerf.media's, the same as every other video of the project.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from nerf.media import VideoFile, colormap, to_uint8, write_png
from nerf.files import PendingOutput, atomic_output, check_writable
from nerf.errors import InputError
from nerf.models.base import RenderOutput

VIDEO_SUFFIXES = (".mp4", ".gif")

# turbo (Mikhailov 2019) at 9 stops, 0..255: linear between them is within a few levels of the full table
TURBO = np.array([[48, 18, 59], [65, 105, 227], [30, 178, 236], [42, 236, 157], [132, 254, 78],
                  [206, 225, 55], [251, 158, 43], [221, 74, 10], [122, 4, 3]], np.float64)


def depth_range(depth: torch.Tensor, opacity: torch.Tensor) -> tuple[float, float]:
    """The 1st to 99th percentile of the depth of opaque pixels: one range for a whole video, so
    colours do not flicker from frame to frame."""
    d = depth[opacity > 0.5].float()
    if d.numel() < 2:
        return 0.0, 1.0
    lo, hi = torch.quantile(d[:100_000], torch.tensor([0.01, 0.99])).tolist()
    return lo, max(hi, lo + 1e-6)


def to_image(out: RenderOutput, output: str, span: tuple[float, float] | None = None) -> np.ndarray:
    """uint8 [H, W, 3] of one rendered image for output rgb | depth (turbo; black where nothing is
    hit) | opacity (grey)."""
    if output == "rgb":
        return to_uint8(out.rgb)
    if output == "opacity":
        return to_uint8(out.opacity[..., None].expand(-1, -1, 3))
    lo, hi = span or depth_range(out.depth, out.opacity)
    rgb = colormap((out.depth.float().numpy() - lo) / (hi - lo), TURBO) + 0.5
    return np.where(out.opacity.numpy()[..., None] > 0.5, rgb, 0).astype(np.uint8)


class FrameSink:
    """A video file (.mp4, .gif) or a folder of numbered PNGs, by the path's suffix."""

    def __init__(self, path: str | Path, fps: float):
        self.path = Path(path)
        self.fps = fps
        self.count = 0
        self.is_video = self.path.suffix.lower() in VIDEO_SUFFIXES
        if self.path.suffix and not self.is_video and not self.path.is_dir():
            # x.mkv or x.png would otherwise become a folder of PNGs named like a file
            raise InputError(self.path, f"unknown output type {self.path.suffix!r}: use .mp4, .gif "
                                        "or a folder name (no extension) for numbered PNGs")
        self._video: VideoFile | None = None
        self._pending: PendingOutput | None = None
        if self.path.exists() and self.path.is_dir() == self.is_video:
            raise InputError(self.path, "is a folder" if self.is_video else "is a file, not a folder for PNGs")
        # a folder of PNGs is made with its first frame, so a failed start leaves nothing behind
        if self.is_video:
            check_writable(self.path)
        else:
            check_writable(self.path / "00000.png" if self.path.is_dir() else self.path.with_suffix(".png"))

    def add(self, frame: np.ndarray) -> None:
        if self.is_video:
            if self._video is None:
                self._pending = PendingOutput(self.path)
                self._video = VideoFile(self._pending.tmp, self.fps)
            try:
                self._video.append(frame)
            except (OSError, RuntimeError) as e:  # a full disk, an ffmpeg that died
                why = getattr(e, "strerror", None) or (str(e).strip().splitlines() or [type(e).__name__])[-1]
                raise InputError(self.path, f"cannot write the video: {why}") from None
        else:
            if self.count == 0:
                try:
                    self.path.mkdir(parents=True, exist_ok=True)
                except OSError as e:
                    raise InputError(self.path, f"cannot create the output folder: {e.strerror or e}") from None
            with atomic_output(self.path / f"{self.count:05d}.png") as tmp:
                write_png(tmp, frame)
        self.count += 1

    def close(self) -> Path:
        """Finish the video (renamed into place) with every frame added so far."""
        if self._video is not None:
            self._video.close()
            self._video = None
            self._pending.commit()
        return self.path

    def discard(self) -> None:
        """Drop an unfinished video (an error while rendering): nothing half-written is left, and
        the encoder (an ffmpeg child) is waited for even when closing it fails."""
        if self._video is not None:
            video, self._video = self._video, None
            try:
                video.close()
            except Exception:  # noqa: BLE001 - the error being handled is the one to report
                pass
            finally:
                self._pending.discard()
