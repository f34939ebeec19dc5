"""Screenshots with their camera pose, live-view recordings (GIF/MP4) and turntable videos.

No GUI here: the app hands in finished uint8 frames and poses. Poses are written in the
transforms.json convention (camera_angle_x, w, h, fl_x, fl_y, cx, cy, frames[].transform_matrix)
and mapped back to the scene's file coordinates, so a screenshot pose can be fed to other tools
or used as a test camera.
"""
from __future__ import annotations

import json
import math
import queue
import threading
from pathlib import Path

import imageio.v2 as imageio
import numpy as np
import torch

from nerf.data.cameras import make_cameras
from viewer.orbit import axis_rotation


def to_uint8(image: np.ndarray) -> np.ndarray:
    """[H, W, 3] float in [0, 1] (or uint8) -> contiguous uint8 [H, W, 3]."""
    if image.dtype == np.uint8:
        return np.ascontiguousarray(image)
    return np.ascontiguousarray((np.clip(image, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8))


def pose_record(c2w: np.ndarray, width: int, height: int, fx: float, fy: float, cx: float, cy: float,
                *, scale: float = 1.0, offset=(0.0, 0.0, 0.0), file_path: str = "") -> dict:
    """transforms.json dict for one camera; c2w [4, 4] in normalised world, written in file space."""
    m = np.asarray(c2w, dtype=np.float64).copy()
    m[:3, 3] = m[:3, 3] * scale + np.asarray(offset, dtype=np.float64)
    return {
        "camera_angle_x": 2.0 * math.atan(0.5 * width / fx),
        "w": int(width), "h": int(height),
        "fl_x": float(fx), "fl_y": float(fy), "cx": float(cx), "cy": float(cy),
        "frames": [{"file_path": file_path, "transform_matrix": m.tolist()}],
    }


def read_pose(path: str | Path, *, scale: float = 1.0, offset=(0.0, 0.0, 0.0)) -> tuple[np.ndarray, dict]:
    """Inverse of `pose_record` from a file: (c2w [4, 4] in normalised world, intrinsics dict)."""
    data = json.loads(Path(path).read_text())
    m = np.asarray(data["frames"][0]["transform_matrix"], dtype=np.float64)
    m[:3, 3] = (m[:3, 3] - np.asarray(offset, dtype=np.float64)) / scale
    intr = {k: data[k] for k in ("w", "h", "fl_x", "fl_y", "cx", "cy", "camera_angle_x")}
    return m, intr


def save_screenshot(path: str | Path, image: np.ndarray, c2w: np.ndarray, intrinsics, *,
                    scale: float = 1.0, offset=(0.0, 0.0, 0.0)) -> tuple[Path, Path]:
    """Write image [H, W, 3] as PNG and its pose beside it (same name, .json). Returns both paths."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    rgb = to_uint8(image)
    imageio.imwrite(path, rgb)
    fx, fy, cx, cy = intrinsics
    record = pose_record(c2w, rgb.shape[1], rgb.shape[0], fx, fy, cx, cy, scale=scale, offset=offset,
                         file_path=path.name)
    pose_path = path.with_suffix(".json")
    pose_path.write_text(json.dumps(record, indent=2))
    return path, pose_path


class Recorder:
    """Writes frames to a GIF or MP4 on its own thread, so encoding never stalls the UI.

    Frames must share the size of the first one; others are cropped or padded to it (the window
    may be resized while recording).
    """

    def __init__(self, path: str | Path, fps: float = 10.0):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.fps = fps
        self.frames_written = 0
        self.error: str | None = None
        self._size: tuple[int, int] | None = None
        self._queue: queue.Queue = queue.Queue(maxsize=64)
        self._thread = threading.Thread(target=self._write, name="recorder", daemon=True)
        self._thread.start()

    def add(self, frame: np.ndarray) -> bool:
        """Queue a uint8 frame [H, W, 3]; False (frame dropped) when the encoder is behind."""
        frame = to_uint8(frame)
        if self._size is None:
            self._size = frame.shape[:2]
        h, w = self._size
        fitted = np.zeros((h, w, 3), np.uint8)
        fh, fw = min(h, frame.shape[0]), min(w, frame.shape[1])
        fitted[:fh, :fw] = frame[:fh, :fw]
        try:
            self._queue.put_nowait(fitted)
            return True
        except queue.Full:
            return False

    def close(self, timeout: float = 30.0) -> Path:
        """Finish the file (waits for the encoder) and return its path."""
        self._queue.put(None)
        self._thread.join(timeout)
        return self.path

    def _write(self) -> None:
        writer = None
        try:
            while (frame := self._queue.get()) is not None:
                if writer is None:
                    writer = self._open()
                writer.append_data(frame)
                self.frames_written += 1
        except Exception as exc:  # noqa: BLE001 - reported in the window by the app
            self.error = f"{self.path}: {exc}"
        finally:
            if writer is not None:
                writer.close()

    def _open(self):
        if self.path.suffix.lower() == ".gif":
            return imageio.get_writer(self.path, mode="I", duration=1000.0 / self.fps, loop=0)
        # macro_block_size=1 keeps odd view sizes instead of rescaling them with a warning.
        return imageio.get_writer(self.path, fps=self.fps, codec="libx264", quality=8,
                                  macro_block_size=1, pixelformat="yuv420p",
                                  ffmpeg_log_level="error")


def turntable_c2ws(c2w: np.ndarray, target: np.ndarray, up: np.ndarray, n_frames: int) -> np.ndarray:
    """[n, 4, 4] poses turning `c2w` once around the axis through `target` along `up`."""
    poses = []
    for k in range(n_frames):
        r = np.eye(4)
        r[:3, :3] = axis_rotation(up, 2.0 * math.pi * k / n_frames)
        t = np.eye(4)
        t[:3, 3] = target
        t_inv = np.eye(4)
        t_inv[:3, 3] = -np.asarray(target)
        poses.append(t @ r @ t_inv @ c2w)
    return np.stack(poses)


def render_turntable(trainer, should_abort, *, c2ws: np.ndarray, width: int, height: int,
                     fov_y_deg: float, background, path: Path, fps: float = 24.0, progress=None):
    """Worker job: render each pose of c2ws [n, 4, 4] and write an MP4. Returns the path, or None if aborted.

    `progress` (a Mailbox) receives (done, total) after each frame.
    """
    rec = Recorder(path, fps=fps)
    try:
        for i, c2w in enumerate(c2ws):
            cams = make_cameras(torch.as_tensor(c2w, dtype=torch.float32), width, height, fov_y_deg=fov_y_deg)
            out = trainer.render(cams, 0, background=background, should_abort=should_abort)
            if out is None or should_abort():
                return None
            rec.add(out.rgb.detach().cpu().numpy())
            if progress is not None:
                progress.put((i + 1, len(c2ws)))
    finally:
        rec.close()
    if rec.error:
        raise RuntimeError(rec.error)
    return path
