"""The camera-path editor behind the viewer's path panel: keyframes, the crop box, preview and render.

No GUI here (the panel only forwards clicks), so the editing rules are unit-tested without a window.
Poses are in the scene's normalised world, as the orbit camera's; files are in the scene file's
coordinates (nerf.data.paths.path_files).
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from nerf.data.paths.keyframes import CameraPath, Keyframe, evaluate_path
from nerf.data.crop import CropBox
from nerf.data.paths.path_files import read_camera_path, write_camera_path
from nerf.export.render_path import path_cameras, render_to_file

PATH_SAMPLES_PER_SECOND = 20  # points of the drawn path: smooth at the window's size, cheap to project


class PathEditor:
    def __init__(self, scale: float = 1.0, offset=(0.0, 0.0, 0.0)):
        self.path = CameraPath()
        self.selected: int | None = None
        self.scale, self.offset = scale, offset  # normalised world -> scene file

    @property
    def keyframes(self) -> tuple[Keyframe, ...]:
        return self.path.keyframes

    def _set(self, keys, selected: int | None) -> None:
        self.path = self.path.with_keyframes(keys)
        self.selected = None if not keys or selected is None else max(0, min(selected, len(keys) - 1))

    def add(self, c2w: np.ndarray, fov: float) -> int:
        """Insert the view after the selected keyframe (or at the end) and select it."""
        keys = list(self.keyframes)
        at = len(keys) if self.selected is None else self.selected + 1
        duration = keys[self.selected].duration if self.selected is not None else Keyframe(np.eye(4)).duration
        keys.insert(at, Keyframe(c2w=np.array(c2w, np.float64), fov=float(fov), duration=duration))
        self._set(keys, at)
        return at

    def replace(self, c2w: np.ndarray, fov: float) -> None:
        """The selected keyframe takes the current view (its duration stays)."""
        if self.selected is None:
            return
        keys = list(self.keyframes)
        keys[self.selected] = replace(keys[self.selected], c2w=np.array(c2w, np.float64), fov=float(fov))
        self._set(keys, self.selected)

    def delete(self) -> None:
        if self.selected is None:
            return
        keys = list(self.keyframes)
        del keys[self.selected]
        self._set(keys, min(self.selected, len(keys) - 1) if keys else None)

    def move(self, step: int) -> None:
        """Move the selected keyframe `step` places earlier (< 0) or later in the path."""
        if self.selected is None:
            return
        keys = list(self.keyframes)
        to = max(0, min(self.selected + step, len(keys) - 1))
        keys.insert(to, keys.pop(self.selected))
        self._set(keys, to)

    def select(self, index: int | None) -> Keyframe | None:
        """Select keyframe `index` and return it (the app jumps the camera to its pose)."""
        self.selected = None if index is None or not self.keyframes else max(0, min(index, len(self.keyframes) - 1))
        return None if self.selected is None else self.keyframes[self.selected]

    def set_keyframe(self, fov: float | None = None, duration: float | None = None) -> None:
        if self.selected is None:
            return
        keys = list(self.keyframes)
        k = keys[self.selected]
        keys[self.selected] = replace(k, fov=k.fov if fov is None else float(fov),
                                      duration=k.duration if duration is None else max(0.05, float(duration)))
        self._set(keys, self.selected)

    def set_options(self, **options) -> None:
        """loop, smoothness (the spline tension), fps, width, height or crop (a CropBox or None). A loaded
        file's own frames are dropped: they no longer match the path."""
        self.path = replace(self.path, frames=None, **options)

    def set_crop(self, crop: CropBox | None) -> None:
        self.path = replace(self.path, crop=crop)

    def pose_at(self, seconds: float) -> tuple[np.ndarray, float] | None:
        """The preview's camera at `seconds` into the path (wrapping round a loop): (c2w, fov)."""
        if not self.keyframes:
            return None
        total = self.path.seconds
        t = seconds % total if self.path.loop and total > 0 else min(seconds, total)
        poses, fovs = evaluate_path(self.path, np.array([t]))
        return poses[0], float(fovs[0])

    def polyline(self) -> np.ndarray:
        """Points [m, 3] along the path for drawing over the view."""
        if len(self.keyframes) < 2:
            return np.array([k.c2w[:3, 3] for k in self.keyframes]).reshape(-1, 3)
        m = max(2, int(self.path.seconds * PATH_SAMPLES_PER_SECOND)) + 1
        poses, _ = evaluate_path(self.path, np.linspace(0.0, self.path.seconds, m))
        return poses[:, :3, 3]

    def frame_count(self) -> int:
        """Counted, not sampled: an absurd fps or duration costs nothing until check_path refuses it."""
        return self.path.frame_count()

    def save(self, file: str | Path) -> Path:
        return write_camera_path(file, self.path, self.scale, self.offset)

    def load(self, file: str | Path) -> None:
        """Replace the path by the one in `file` (InputError: the current path stays)."""
        self.path = read_camera_path(file, self.scale, self.offset)
        self.selected = 0 if self.keyframes else None


def render_path_job(path: CameraPath, out: str | Path, *, output: str = "rgb", background=(1.0, 1.0, 1.0),
                    progress=None):
    """A worker job fn(trainer, should_abort) rendering `path` into `out` through nerf-render's code.
    Returns the output path, or None when aborted (the frames so far are kept, as with Ctrl-C)."""
    report = None if progress is None else (lambda done, total: progress.put((done, total)))

    def job(trainer, should_abort):
        return render_to_file(trainer, path_cameras(path), out, path.fps, keep_partial=True, output=output,
                              background=background, crop=path.crop, should_abort=should_abort, progress=report)
    return job
