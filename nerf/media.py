"""Pictures and videos out: float images to uint8, colour maps, PNG files and GIF/MP4 videos.

One writer for nerf-train's turntable, the viewer's recordings and the toy lab's runs, so a video
means the same everywhere: GIF frame times in milliseconds (Pillow's unit) and H.264 frames padded
to even sizes (its 4:2:0 chroma needs them; odd sizes made ffmpeg write an empty file silently).
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable

import numpy as np
import torch
from PIL import GifImagePlugin, Image

from nerf.files import PendingOutput

ImageLike = np.ndarray | torch.Tensor


def to_uint8(image: ImageLike) -> np.ndarray:
    """[H, W, C] float in [0, 1] (numpy or torch, any device) -> contiguous uint8, rounded to nearest.

    uint8 input passes through unchanged; values outside [0, 1] are clipped.
    """
    if isinstance(image, torch.Tensor):
        image = image.detach().float().cpu().numpy()
    arr = np.asarray(image)
    if arr.dtype == np.uint8:
        return np.ascontiguousarray(arr)
    arr = np.clip(arr.astype(np.float32, copy=False), 0.0, 1.0)
    return np.ascontiguousarray((arr * 255.0 + 0.5).astype(np.uint8))


def colormap(values: np.ndarray, anchors: np.ndarray) -> np.ndarray:
    """values [...] in [0, 1] (clipped) -> [..., C]: piecewise-linear between the rows of anchors [K, C].

    0 maps to anchors[0], 1 to anchors[-1], the K - 1 segments are equally long. The result has the
    anchors' units (floats in [0, 1] or 0..255 values); convert it as the caller needs.
    """
    t = np.clip(values, 0.0, 1.0) * (len(anchors) - 1)
    i = np.minimum(t.astype(np.int64), len(anchors) - 2)
    f = (t - i)[..., None]
    return anchors[i] * (1.0 - f) + anchors[i + 1] * f


def write_png(path: str | Path, image: ImageLike) -> Path:
    """Write [H, W, 3 or 4] (float in [0, 1] or uint8) as an 8-bit PNG. Returns the path."""
    path = Path(path)
    Image.fromarray(to_uint8(image)).save(path)
    return path


def _even(frame: np.ndarray) -> np.ndarray:
    """Pad [H, W, 3] to even H and W by repeating the last row / column."""
    h, w = frame.shape[:2]
    if h % 2 == 0 and w % 2 == 0:
        return frame
    return np.pad(frame, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")


class _GifStream:
    """An animated GIF written frame by frame: each frame goes to the file as it comes, with its
    own palette. imageio's (Pillow's) GIF writer keeps every frame until it closes, so a long
    recording of the live view grew in memory until the process died. append_data / close, as
    imageio's writers."""

    def __init__(self, path: Path, duration_ms: float):
        self._file = open(path, "wb")  # noqa: SIM115 - closed by close(), as imageio's writers
        self._duration = max(10, round(duration_ms))  # GIF counts hundredths; 10 ms is its finest
        self._started = False

    def append_data(self, rgb: np.ndarray) -> None:
        frame = Image.fromarray(rgb[..., :3]).convert("P", palette=Image.Palette.ADAPTIVE)  # as Pillow's own GIF save
        if not self._started:  # screen size, the first palette and loop-for-ever, from the first frame
            header, _ = GifImagePlugin.getheader(frame, info={"loop": 0})
            self._file.write(b"".join(header))
            self._started = True
        for chunk in GifImagePlugin.getdata(frame, duration=self._duration, include_color_table=True):
            self._file.write(chunk)

    def close(self) -> None:
        with self._file:
            self._file.write(b";")  # the GIF trailer


class VideoFile:
    """A GIF or an H.264 MP4 (chosen by the path's suffix) written one frame at a time.

    Use as a context manager; frames are float in [0, 1] or uint8 [H, W, 3], all one size.
    """

    def __init__(self, path: str | Path, fps: float):
        import imageio.v2 as imageio  # imports ffmpeg plumbing: only when a video is written

        self.path = Path(path)
        self.frames = 0
        self._mp4 = self.path.suffix.lower() != ".gif"
        if self._mp4:
            # macro_block_size=1: keep the (even) size instead of rescaling with a warning
            self._writer = imageio.get_writer(self.path, format="FFMPEG", fps=fps, codec="libx264",
                                              quality=8, macro_block_size=1, pixelformat="yuv420p",
                                              ffmpeg_log_level="error")
        else:
            self._writer = _GifStream(self.path, duration_ms=1000.0 / fps)

    def append(self, frame: ImageLike) -> None:
        rgb = to_uint8(frame)
        self._writer.append_data(_even(rgb) if self._mp4 else rgb)
        self.frames += 1

    def close(self) -> None:
        self._writer.close()

    def __enter__(self) -> "VideoFile":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def write_video(path: str | Path, frames: Iterable[ImageLike], fps: float = 24.0, *,
                expected: int | None = None) -> int:
    """Write frames (see VideoFile) to a GIF or MP4 by the path's suffix. Returns the frame count.

    The video is encoded under a temporary name and renamed when complete, so an interrupted or
    failed write never leaves a broken file under the real name (nor replaces an earlier one).
    With `expected`, fewer frames (the iterator stopped early: an abort) are dropped, not kept."""
    pending = PendingOutput(path)
    try:
        with VideoFile(pending.tmp, fps) as video:
            for frame in frames:
                video.append(frame)
    except BaseException:
        pending.discard()
        raise
    if expected is not None and video.frames < expected:
        pending.discard()
    else:
        pending.commit()
    return video.frames
