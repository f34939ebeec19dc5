"""nerfstudio's camera_path.json, read and written, with poses in the scene file's own coordinates.

Layout (nerfstudio's viewer, `render_panel.py`): `keyframes[]` with `matrix` (16 numbers, the
camera-to-world row by row, OpenGL convention), `fov` (vertical, degrees), `aspect`,
`override_transition_enabled` / `override_transition_sec`; `default_fov`, `default_transition_sec`;
`camera_path[]` with `camera_to_world` (16 numbers, row by row), `fov`, `aspect` for every frame;
`render_width`, `render_height`, `fps`, `seconds`, `is_cycle`, `smoothness_value`, `camera_type`
("perspective"), and `crop` (nerf.data.crop). The legacy three.js editor wrote `matrix` as a string
of 16 numbers column by column; that loads too.

Positions map like the screenshots' transforms.json (nerf.data.scene.pose_to_file): a point p of
the normalised world is p * scale + offset in the file. Keys this code does not use are kept.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from nerf.data.paths.keyframes import DEFAULT_DURATION, DEFAULT_FOV, CameraPath, Keyframe, check_path, sample_path
from nerf.data.crop import CropBox
from nerf.errors import InputError
from nerf.files import atomic_output

KNOWN_KEYS = {"keyframes", "camera_path", "render_width", "render_height", "fps", "seconds", "is_cycle",
              "smoothness_value", "camera_type", "crop", "default_fov", "default_transition_sec"}


def _to_file(c2w: np.ndarray, scale: float, offset) -> np.ndarray:
    m = np.array(c2w, dtype=np.float64)
    m[:3, 3] = m[:3, 3] * scale + np.asarray(offset, np.float64)
    return m


def _from_file(m: np.ndarray, scale: float, offset) -> np.ndarray:
    m = np.array(m, dtype=np.float64)
    m[:3, 3] = (m[:3, 3] - np.asarray(offset, np.float64)) / scale
    return m


def path_to_dict(path: CameraPath, scale: float = 1.0, offset=(0.0, 0.0, 0.0)) -> dict:
    """The camera_path.json dict of `path`; every frame at path.fps in `camera_path`."""
    aspect = path.width / path.height
    keyframes = [{"matrix": _to_file(k.c2w, scale, offset).reshape(-1).tolist(), "fov": float(k.fov),
                  "aspect": aspect, "override_transition_enabled": True,
                  "override_transition_sec": float(k.duration)} for k in path.keyframes]
    frames = []
    if path.keyframes:
        poses, fovs = sample_path(path)
        frames = [{"camera_to_world": _to_file(p, scale, offset).reshape(-1).tolist(), "fov": float(f),
                   "aspect": aspect} for p, f in zip(poses, fovs, strict=True)]
    out = dict(path.extra)
    out.update({
        "default_fov": float(path.keyframes[0].fov) if path.keyframes else DEFAULT_FOV,
        "default_transition_sec": DEFAULT_DURATION, "keyframes": keyframes, "camera_type": "perspective",
        "render_height": int(path.height), "render_width": int(path.width), "fps": float(path.fps),
        "seconds": path.seconds, "is_cycle": bool(path.loop), "smoothness_value": float(path.smoothness),
        "camera_path": frames, "crop": None if path.crop is None else path.crop.to_file(scale, offset),
    })
    return out


def write_camera_path(file: str | Path, path: CameraPath, scale: float = 1.0, offset=(0.0, 0.0, 0.0)) -> Path:
    """Write `path` to `file` through a temporary file, so a failed write leaves no half file."""
    text = json.dumps(path_to_dict(path, scale, offset), indent=2)
    with atomic_output(file) as tmp:
        tmp.write_text(text)
    return Path(file)


def _matrix(value, file: Path, where: str) -> np.ndarray:
    column_major = isinstance(value, str)  # the legacy three.js editor: Matrix4.elements as a string
    try:
        m = np.asarray(json.loads(value) if column_major else value, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(file, f"{where}: the matrix is not 16 numbers") from None
    if m.size != 16:
        raise InputError(file, f"{where}: the matrix has {m.size} numbers, not 16")
    m = m.reshape(4, 4)
    m = m.T if column_major else m
    if not np.all(np.isfinite(m)):
        raise InputError(file, f"{where}: the pose is not finite (NaN or infinity)")
    return m


def _number(d: dict, key: str, default, file: Path, kind=float):
    value = d.get(key, default)
    try:
        value = kind(value)
    except (TypeError, ValueError):
        raise InputError(file, f"'{key}' must be a number, got {value!r}") from None
    if isinstance(value, float) and not math.isfinite(value):
        raise InputError(file, f"'{key}' is not finite")
    return value


def path_from_dict(data: dict, file: Path, scale: float = 1.0, offset=(0.0, 0.0, 0.0)) -> CameraPath:
    if not isinstance(data, dict):
        raise InputError(file, "not a camera path (expected a JSON object)")
    keys = data.get("keyframes") or []
    frames = data.get("camera_path") or []
    if not keys and not frames:
        raise InputError(file, "the camera path is empty (no keyframes and no camera_path frames)")
    fps = _number(data, "fps", 30.0, file)
    default_fov = _number(data, "default_fov", DEFAULT_FOV, file)
    loop = bool(data.get("is_cycle", False))
    seconds = _number(data, "seconds", 0.0, file)
    segments = len(keys) if loop else max(len(keys) - 1, 1)
    default_sec = _number(data, "default_transition_sec", seconds / segments if seconds > 0 else DEFAULT_DURATION,
                          file)
    keyframes = []
    for i, k in enumerate(keys):
        if not isinstance(k, dict) or "matrix" not in k:
            raise InputError(file, f"keyframe {i}: no 'matrix'")
        duration = _number(k, "override_transition_sec", default_sec, file) \
            if k.get("override_transition_enabled") else default_sec
        keyframes.append(Keyframe(c2w=_from_file(_matrix(k["matrix"], file, f"keyframe {i}"), scale, offset),
                                  fov=_number(k, "fov", default_fov, file), duration=duration))
    if not keyframes:  # frames only (a path from a script): every frame a keyframe, straight lines
        for i, f in enumerate(frames):
            m = _matrix(f.get("camera_to_world") if isinstance(f, dict) else None, file, f"camera_path[{i}]")
            keyframes.append(Keyframe(c2w=_from_file(m, scale, offset),
                                      fov=_number(f, "fov", default_fov, file), duration=1.0 / fps))
    crop = data.get("crop")
    path = CameraPath(
        keyframes=tuple(keyframes), loop=loop and bool(keys),
        smoothness=_number(data, "smoothness_value", 0.5, file) if keys else 0.0, fps=fps,
        width=_number(data, "render_width", 640, file, int), height=_number(data, "render_height", 480, file, int),
        crop=None if not crop else CropBox.from_file(crop, scale, offset, file),
        extra={k: v for k, v in data.items() if k not in KNOWN_KEYS})
    problem = check_path(path)
    if problem:
        raise InputError(file, problem)
    return path


def read_camera_path(file: str | Path, scale: float = 1.0, offset=(0.0, 0.0, 0.0)) -> CameraPath:
    """The CameraPath in `file`, poses mapped into the normalised world; InputError on bad input."""
    file = Path(file)
    try:
        data = json.loads(file.read_text())
    except FileNotFoundError:
        raise InputError(file, "no such camera path file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise InputError(file, f"not a readable JSON camera path ({type(e).__name__})") from None
    return path_from_dict(data, file, scale, offset)
