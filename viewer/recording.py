"""Screenshots with their camera pose, live-view recordings (GIF/MP4) and turntable videos.

No GUI here: the app hands in finished uint8 frames and poses; files are written by nerf.media.
Poses are written in the transforms.json convention (camera_angle_x, w, h, fl_x, fl_y, cx, cy,
frames[].transform_matrix) and mapped back to the scene's file coordinates, so a screenshot pose can
be fed to other tools or used as a test camera. Forward-facing (LLFF) scenes are the exception:
their loader recentres the poses with a rotation that scale/offset cannot express, so their poses
stay in the normalised frame, and the file's "coordinate_frame" says which frame it holds.
"""
from __future__ import annotations

import math
import queue
import threading
from pathlib import Path

import numpy as np
import torch

from nerf.data.cameras import fov_deg, make_cameras
from nerf.export.render_path import render_to_file
from nerf.media import VideoFile, to_uint8, write_png
from nerf.errors import InputError
from nerf.files import PendingOutput, read_json, write_json


FILE_FRAME = "file"  # the scene's own files' world coordinates
NORMALISED_FRAME = ("normalised: the viewer's recentred and rescaled world (forward-facing scenes), not the "
                    "coordinates of poses_bounds.npy")


def pose_record(c2w: np.ndarray, width: int, height: int, fx: float, fy: float, cx: float, cy: float,
                *, scale: float = 1.0, offset=(0.0, 0.0, 0.0), file_path: str = "", normalised: bool = False) -> dict:
    """transforms.json dict for one camera; c2w [4, 4] in normalised world, written in file space
    (or, with `normalised`, as it is)."""
    m = np.asarray(c2w, dtype=np.float64).copy()
    if not normalised:
        m[:3, 3] = m[:3, 3] * scale + np.asarray(offset, dtype=np.float64)
    return {
        "coordinate_frame": NORMALISED_FRAME if normalised else FILE_FRAME,
        "camera_angle_x": math.radians(fov_deg(fx, width)),
        "w": int(width), "h": int(height),
        "fl_x": float(fx), "fl_y": float(fy), "cx": float(cx), "cy": float(cy),
        "frames": [{"file_path": file_path, "transform_matrix": m.tolist()}],
    }


def read_pose(path: str | Path, *, scale: float = 1.0, offset=(0.0, 0.0, 0.0)) -> tuple[np.ndarray, dict]:
    """Inverse of `pose_record` from a file: (c2w [4, 4] in normalised world, intrinsics dict)."""
    data = read_json(path)
    m = np.asarray(data["frames"][0]["transform_matrix"], dtype=np.float64)
    if data.get("coordinate_frame", FILE_FRAME) == FILE_FRAME:
        m[:3, 3] = (m[:3, 3] - np.asarray(offset, dtype=np.float64)) / scale
    intr = {k: data[k] for k in ("w", "h", "fl_x", "fl_y", "cx", "cy", "camera_angle_x")}
    return m, intr


def save_screenshot(path: str | Path, image: np.ndarray, c2w: np.ndarray, intrinsics, *,
                    scale: float = 1.0, offset=(0.0, 0.0, 0.0), normalised: bool = False) -> tuple[Path, Path]:
    """Write image [H, W, 3] as PNG and its pose beside it (same name, .json). Returns both paths.
    normalised: keep the pose in the normalised frame (forward-facing scenes; see the module doc)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    rgb = to_uint8(image)
    write_png(path, rgb)
    fx, fy, cx, cy = intrinsics
    record = pose_record(c2w, rgb.shape[1], rgb.shape[0], fx, fy, cx, cy, scale=scale, offset=offset,
                         file_path=path.name, normalised=normalised)
    pose_path = path.with_suffix(".json")
    write_json(pose_path, record)
    return path, pose_path


class Recorder:
    """Writes frames to a GIF or MP4 on its own thread, so encoding never stalls the UI.

    Frames must share the size of the first one; others are cropped or padded to it (the window
    may be resized while recording). The video is encoded under a temporary name and renamed by
    close(); a recording that failed (disk full, ffmpeg died) or has no frame leaves no file. A
    failure sets `error` at once, and close() never waits on a dead or stuck encoder for more than
    its timeout: the encoder drains its queue after an error, so the app can always stop recording.
    """

    def __init__(self, path: str | Path, fps: float = 10.0):
        self.path = Path(path)
        self.fps = fps
        self.frames_written = 0
        self.error: str | None = None
        self._pending = PendingOutput(self.path)  # creates the folder; InputError if it cannot
        self._size: tuple[int, int] | None = None
        self._queue: queue.Queue = queue.Queue(maxsize=64)
        self._thread = threading.Thread(target=self._write, name="recorder", daemon=True)
        self._thread.start()

    def add(self, frame: np.ndarray) -> bool:
        """Queue a uint8 frame [H, W, 3]; False (frame dropped) when the encoder is behind or failed."""
        if self.error is not None:
            return False
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

    def close(self, timeout: float = 30.0) -> Path | None:
        """Finish the file (waits up to `timeout` s for the encoder); its path, or None when nothing
        was written (then `error` says why, unless no frame came at all)."""
        try:
            self._queue.put(None, timeout=timeout)
        except queue.Full:  # the encoder is stuck in a write: leave it, a daemon thread
            self.error = self.error or f"{self.path}: the encoder did not take frames for {timeout:g} s"
        self._thread.join(timeout)
        if self._thread.is_alive():
            self.error = self.error or f"{self.path}: the encoder did not finish within {timeout:g} s"
            return None
        if self.error is not None or self.frames_written == 0:
            self._pending.discard()
            return None
        try:
            return self._pending.commit()
        except InputError as exc:
            self.error = str(exc)
            return None

    def _write(self) -> None:
        video = None
        try:
            while (frame := self._queue.get()) is not None:
                if video is None:
                    video = VideoFile(self._pending.tmp, self.fps)
                video.append(frame)
                self.frames_written += 1
        except Exception as exc:  # noqa: BLE001 - reported in the window by the app
            self.error = f"{self.path}: cannot write the recording: {exc}"
            while self._queue.get() is not None:  # keep taking frames so that close() never blocks
                pass
        finally:
            if video is not None:
                try:
                    video.close()
                except Exception as exc:  # noqa: BLE001 - ffmpeg failing at the end: same report
                    self.error = self.error or f"{self.path}: cannot finish the recording: {exc}"


def render_turntable(trainer, should_abort, *, c2ws: np.ndarray, width: int, height: int,
                     fov_y_deg: float, background, path: Path, fps: float = 24.0, progress=None):
    """Worker job: render each pose of c2ws [n, 4, 4] into an MP4. Returns the path, or None if aborted.

    `progress` (a Mailbox) receives (done, total) after each frame.
    """
    cameras = make_cameras(torch.as_tensor(c2ws, dtype=torch.float32), width, height, fov_y_deg=fov_y_deg)
    report = None if progress is None else (lambda done, total: progress.put((done, total)))
    return render_to_file(trainer, cameras, path, fps, background=background, should_abort=should_abort,
                          progress=report)
