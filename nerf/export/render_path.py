"""Render a set of cameras (a camera path, an orbit, a dataset split) into a FrameSink (render_frames,
which keeps the frames so far when stopped: nerf-render), or into a file all or nothing
(render_to_file: nerf-train's and the viewer's turntables).

Shared by nerf-render and the viewer's render button: the viewer passes should_abort and a
progress callback and runs this on its training worker; nerf-render stops it with Ctrl-C.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
import torch

from nerf.data.paths.keyframes import CameraPath, sample_path
from nerf.data.cameras import focal_length, make_cameras
from nerf.media import to_uint8
from nerf.data.scene import Cameras
from nerf.export.frames import FrameSink, depth_range, to_image

OUTPUTS = ("rgb", "depth", "opacity")


def path_cameras(path: CameraPath, width: int | None = None, height: int | None = None) -> Cameras:
    """One camera per frame of `path` (its own frames when a file gave them), of the path's camera type,
    at the path's size unless width/height are given. A fisheye's focal comes from the fov as a
    perspective camera's does (nerfstudio's get_path_from_json)."""
    w, h = width or path.width, height or path.height
    poses, fovs = sample_path(path)
    focal = torch.as_tensor([focal_length(fov, h) for fov in fovs])  # [n] pixels, square pixels
    return make_cameras(torch.as_tensor(poses, dtype=torch.float32), w, h, fx=focal, fy=focal,
                        camera_type=path.camera_type)


def frame_image(out, output: str, span: tuple[float, float] | None, truth: torch.Tensor | None) -> np.ndarray:
    """uint8 [H, W, 3] of a rendered view as `output` shows it (depth coloured over `span`), with its
    ground truth [H, W, 3] on the right when given."""
    frame = to_image(out, output, span)
    if truth is None:
        return frame
    gt = to_uint8(truth)
    return np.concatenate([frame, gt[:frame.shape[0], :frame.shape[1]]], axis=1)


def render_frames(trainer, cameras: Cameras, sink: FrameSink, *, output: str = "rgb", background=(1.0, 1.0, 1.0),
                  crop=None, ground_truth: Callable[[int], torch.Tensor] | None = None,
                  should_abort: Callable[[], bool] | None = None,
                  progress: Callable[[int, int], None] | None = None) -> bool:
    """Render every camera into `sink` (beside ground_truth(i) [H, W, 3] when given). Returns False
    when should_abort() stopped it; the frames written so far stay in the sink."""
    span = None
    for i in range(len(cameras)):
        out = trainer.render(cameras, i, background=background, should_abort=should_abort, crop=crop)
        if out is None:
            return False
        if output == "depth" and span is None:
            span = depth_range(out.depth, out.opacity)  # the first frame's range for the whole video
        sink.add(frame_image(out, output, span, None if ground_truth is None else ground_truth(i)))
        if progress is not None:
            progress(i + 1, len(cameras))
    return True


def render_to_file(trainer, cameras: Cameras, path: str | Path, fps: float = 24.0, *, keep_partial: bool = False,
                   **options) -> Path | None:
    """Render every camera into a video (.mp4, .gif) or a PNG folder at `path`. Returns the path, or
    None when should_abort (in `options`, with the rest of render_frames' keywords) stopped it; then
    the frames so far are dropped (an aborted turntable is not a video of one), or with keep_partial
    closed into the file (a long camera path stopped by its user, as nerf-render's Ctrl-C does).
    On an error nothing half-written is left."""
    sink = FrameSink(path, fps)
    try:
        done = render_frames(trainer, cameras, sink, **options)
    except BaseException:
        sink.discard()
        raise
    if not done and not keep_partial:
        sink.discard()
        return None
    sink.close()
    return sink.path if done else None
