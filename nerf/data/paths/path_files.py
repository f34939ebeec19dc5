"""nerfstudio's camera_path.json, read and written, with poses in the scene file's own coordinates.

Layout (nerfstudio's viewer, `render_panel.py`): `keyframes[]` with `matrix` (16 numbers, the
camera-to-world row by row, OpenGL convention), `fov` (vertical, degrees), `aspect`,
`override_transition_enabled` / `override_transition_sec` (the seconds of the transition that ARRIVES
at this keyframe; the first keyframe's closes a loop); `default_fov`, `default_transition_sec`;
`camera_path[]` with `camera_to_world` (16 numbers, row by row), `fov`, `aspect` for every frame;
`render_width`, `render_height`, `fps`, `seconds`, `is_cycle`, `smoothness_value` (the spline
tension), `camera_type` ("perspective", "fisheye" or "equirectangular"), and `crop`
(nerf.data.crop). The legacy three.js editor wrote `matrix` as a string of 16 numbers column by
column; that loads too.

The `camera_path[]` frames are what `ns-render` renders, at len(frames) / seconds frames a second, so
they are kept and rendered as given (nerf.data.paths.keyframes.Frames); the keyframes are what an
editor changes. A path made in nerfstudio's viewer lies in its dataparser's frame: with
`DataparserTransform` (its dataparser_transforms.json) poses are first taken back to the scene
file's frame. Then positions map like the screenshots' transforms.json
(nerf.data.scene.pose_to_file): a point p of the normalised world is p * scale + offset in the file.
Keys this code does not use are kept.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nerf.data.crop import CropBox
from nerf.data.formats.frames import VALUE_LIMIT  # the scene files' bound on a pose entry: finite in float32
from nerf.data.paths.keyframes import (DEFAULT_DURATION, DEFAULT_FOV, MAX_FRAMES, CameraPath, Frames, Keyframe,
                                      check_path, sample_path)
from nerf.errors import InputError
from nerf.files import atomic_output, read_json

KNOWN_KEYS = {"keyframes", "camera_path", "render_width", "render_height", "fps", "seconds", "is_cycle",
              "smoothness_value", "camera_type", "crop", "default_fov", "default_transition_sec"}


@dataclass(frozen=True)
class DataparserTransform:
    """nerfstudio's dataparser_transforms.json, and the scene file's own `applied_transform`:
    p_path = scale * (transform @ p_original) and p_file = applied @ p_original."""

    transform: np.ndarray  # [4, 4] original data -> dataparser frame (before scaling)
    scale: float
    applied: np.ndarray  # [4, 4] original data -> the scene file's frame (identity when none)

    def to_file(self, c2w: np.ndarray) -> np.ndarray:
        """A camera-to-world [4, 4] of the path's frame -> the scene file's frame."""
        m = np.array(c2w, dtype=np.float64)
        m[:3, 3] /= self.scale
        return self.applied @ np.linalg.solve(self.transform, m)


def _affine(value, file: Path, key: str) -> np.ndarray:
    try:
        m = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):
        m = np.zeros(0)
    if m.shape not in ((3, 4), (4, 4)) or not np.all(np.isfinite(m)):
        raise InputError(file, f"'{key}' is not a finite 3x4 matrix")
    m = np.concatenate([m[:3], [[0.0, 0.0, 0.0, 1.0]]])
    if abs(np.linalg.det(m[:3, :3])) < 1e-9:
        raise InputError(file, f"'{key}' is singular")
    return m


def read_dataparser_transforms(file: str | Path, scene_root: str | Path | None = None) -> DataparserTransform:
    """`file` (nerfstudio's dataparser_transforms.json) and the `applied_transform` of the scene's
    transforms.json when it has one; InputError on bad input."""
    file = Path(file)
    data = read_json(file)
    if not isinstance(data, dict) or "transform" not in data or "scale" not in data:
        raise InputError(file, "not a dataparser_transforms.json (needs 'transform' and 'scale')")
    scale = _number(data, "scale", 1.0, file)
    if not scale > 0:
        raise InputError(file, f"'scale' is {scale:g}; it must be positive")
    applied = np.eye(4)
    meta_file = Path(scene_root) / "transforms.json" if scene_root is not None else None
    if meta_file is not None and meta_file.is_file():
        meta = read_json(meta_file)
        if isinstance(meta, dict) and meta.get("applied_transform") is not None:
            applied = _affine(meta["applied_transform"], meta_file, "applied_transform")
    return DataparserTransform(_affine(data["transform"], file, "transform"), scale, applied)


def _to_file(c2w: np.ndarray, scale: float, offset) -> np.ndarray:
    m = np.array(c2w, dtype=np.float64)
    m[:3, 3] = m[:3, 3] * scale + np.asarray(offset, np.float64)
    return m


def _from_file(m: np.ndarray, scale: float, offset) -> np.ndarray:
    m = np.array(m, dtype=np.float64)
    m[:3, 3] = (m[:3, 3] - np.asarray(offset, np.float64)) / scale
    return m


def path_to_dict(path: CameraPath, scale: float = 1.0, offset=(0.0, 0.0, 0.0)) -> dict:
    """The camera_path.json dict of `path`; every frame in `camera_path`. Keyframe i's
    override_transition_sec is the transition arriving at it, as nerfstudio reads it."""
    aspect = path.width / path.height
    keys = path.keyframes
    keyframes = [{"matrix": _to_file(k.c2w, scale, offset).reshape(-1).tolist(), "fov": float(k.fov),
                  "aspect": aspect, "override_transition_enabled": True,
                  "override_transition_sec": float(keys[i - 1].duration)} for i, k in enumerate(keys)]
    frames = []
    if keys or path.frames is not None:
        poses, fovs = sample_path(path)
        frames = [{"camera_to_world": _to_file(p, scale, offset).reshape(-1).tolist(), "fov": float(f),
                   "aspect": aspect} for p, f in zip(poses, fovs, strict=True)]
    seconds = path.seconds if len(keys) > 1 and path.frames is None else len(frames) / path.fps
    out = dict(path.extra)
    out.update({
        "default_fov": float(keys[0].fov) if keys else DEFAULT_FOV,
        "default_transition_sec": DEFAULT_DURATION, "keyframes": keyframes, "camera_type": path.camera_type,
        "render_height": int(path.height), "render_width": int(path.width), "fps": float(path.fps),
        "seconds": seconds, "is_cycle": bool(path.loop), "smoothness_value": float(path.smoothness),
        "camera_path": frames, "crop": None if path.crop is None else path.crop.to_file(scale, offset),
    })
    return out


def write_camera_path(file: str | Path, path: CameraPath, scale: float = 1.0, offset=(0.0, 0.0, 0.0)) -> Path:
    """Write `path` to `file` through a temporary file, so a failed write leaves no half file."""
    text = json.dumps(path_to_dict(path, scale, offset), indent=2)
    with atomic_output(file) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(file)


def _matrix(value, file: Path, where: str) -> np.ndarray:
    column_major = isinstance(value, str)  # the legacy three.js editor: Matrix4.elements as a string
    try:
        m = np.asarray(json.loads(value) if column_major else value, dtype=np.float64)
    except (TypeError, ValueError, OverflowError, RecursionError):
        raise InputError(file, f"{where}: the matrix is not 16 numbers") from None
    if m.size != 16:
        raise InputError(file, f"{where}: the matrix has {m.size} numbers, not 16")
    m = m.reshape(4, 4)
    m = m.T if column_major else m
    if not np.all(np.isfinite(m)):
        raise InputError(file, f"{where}: the pose is not finite (NaN or infinity)")
    if np.abs(m).max() > VALUE_LIMIT:
        raise InputError(file, f"{where}: the pose has values beyond +-{VALUE_LIMIT:g}")
    if abs(np.linalg.det(m[:3, :3])) < 1e-6:
        raise InputError(file, f"{where}: the pose's rotation is singular")
    return m


def _number(d: dict, key: str, default, file: Path, kind=float, where: str = ""):
    value = d.get(key, default)
    if value is None:
        value = default
    try:
        if isinstance(value, (bool, str)):
            raise TypeError
        value = kind(float(value)) if kind is int else kind(value)
    except (TypeError, ValueError, OverflowError):
        raise InputError(file, f"{where}'{key}' must be a number, got {str(value)[:40]!r}") from None
    if isinstance(value, float) and not math.isfinite(value):
        raise InputError(file, f"{where}'{key}' is not finite")
    return value


def _list(data: dict, key: str, file: Path) -> list:
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise InputError(file, f"'{key}' must be a list, got {type(value).__name__}")
    return value


def path_from_dict(data: dict, file: Path, scale: float = 1.0, offset=(0.0, 0.0, 0.0),
                   dataparser: DataparserTransform | None = None) -> CameraPath:
    if not isinstance(data, dict):
        raise InputError(file, "not a camera path (expected a JSON object)")
    keys, frames = _list(data, "keyframes", file), _list(data, "camera_path", file)
    if not keys and not frames:
        raise InputError(file, "the camera path is empty (no keyframes and no camera_path frames)")
    if len(frames) > MAX_FRAMES:
        raise InputError(file, f"camera_path has {len(frames)} frames; at most {MAX_FRAMES} are rendered")

    def pose(m):  # the file's pose -> the normalised world
        return _from_file(m if dataparser is None else dataparser.to_file(m), scale, offset)

    fps = _number(data, "fps", 30.0, file)
    seconds = _number(data, "seconds", 0.0, file)
    default_fov = _number(data, "default_fov", DEFAULT_FOV, file)
    loop = bool(data.get("is_cycle", False))
    segments = len(keys) if loop else max(len(keys) - 1, 1)
    default_sec = _number(data, "default_transition_sec", seconds / segments if seconds > 0 else DEFAULT_DURATION,
                          file)
    arriving, keyframes = [], []
    for i, k in enumerate(keys):
        where = f"keyframe {i}: "
        if not isinstance(k, dict) or "matrix" not in k:
            raise InputError(file, f"{where}no 'matrix'")
        arriving.append(_number(k, "override_transition_sec", default_sec, file, where=where)
                        if k.get("override_transition_enabled") else default_sec)
        keyframes.append(Keyframe(c2w=pose(_matrix(k["matrix"], file, f"keyframe {i}")),
                                  fov=_number(k, "fov", default_fov, file, where=where)))
    # ours: seconds from keyframe i to the next = nerfstudio's transition arriving at keyframe i + 1
    keyframes = [Keyframe(k.c2w, k.fov, arriving[(i + 1) % len(keyframes)]) for i, k in enumerate(keyframes)]
    given = None
    if frames:
        poses, fovs = [], []
        for i, f in enumerate(frames):
            if not isinstance(f, dict):
                raise InputError(file, f"camera_path[{i}]: not an object")
            poses.append(pose(_matrix(f.get("camera_to_world"), file, f"camera_path[{i}]")))
            fovs.append(_number(f, "fov", default_fov, file, where=f"camera_path[{i}]: "))
        given = Frames(poses=np.stack(poses), fovs=np.asarray(fovs, dtype=np.float64))
        if not np.all((given.fovs > 0) & (given.fovs < 180)):
            raise InputError(file, "camera_path: a frame's fov is not in (0, 180) degrees")
        if seconds > 0:  # ns-render plays the frames over `seconds`, whatever `fps` says
            fps = len(frames) / seconds
        if not keyframes:  # frames only (a path from a script): each frame a keyframe, for editing
            keyframes = [Keyframe(c2w=p, fov=float(f), duration=1.0 / fps)
                         for p, f in zip(given.poses, given.fovs, strict=True)]
    crop = data.get("crop")
    if crop and dataparser is not None:
        raise InputError(file, "a crop box in nerfstudio's dataparser frame cannot be mapped to the scene "
                               "(it turns with the poses); remove 'crop' and use --crop")
    camera_type = data.get("camera_type", "perspective")
    path = CameraPath(
        keyframes=tuple(keyframes), loop=loop and bool(keys), smoothness=_number(data, "smoothness_value", 0.0, file),
        fps=fps, width=_number(data, "render_width", 640, file, int),
        height=_number(data, "render_height", 480, file, int),
        camera_type=camera_type.lower() if isinstance(camera_type, str) else str(camera_type)[:40],
        crop=None if not crop else CropBox.from_file(crop, scale, offset, file), frames=given,
        extra={k: v for k, v in data.items() if k not in KNOWN_KEYS})
    problem = check_path(path)
    if problem:
        raise InputError(file, problem)
    return path


def read_camera_path(file: str | Path, scale: float = 1.0, offset=(0.0, 0.0, 0.0),
                     dataparser: DataparserTransform | None = None) -> CameraPath:
    """The CameraPath in `file`, poses mapped into the normalised world; InputError on bad input."""
    file = Path(file)
    return path_from_dict(read_json(file), file, scale, offset, dataparser)
