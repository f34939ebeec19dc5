"""Blender / NeRF-synthetic (transforms_{train,val,test}.json) and instant-ngp / nerfstudio
(transforms.json) scenes: their frames, with intrinsics resolved, per split.

nerfstudio files: `train_filenames`/`test_filenames` choose the splits when present; poses already
include `applied_transform` (nerfstudio records it only to align exports), so it is not applied again.
A transforms.json without splits holds out every 8th frame (nerf.data.formats.frames.holdout_split).
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from nerf.data.cameras import focal_length
from nerf.data.formats.frames import DISTORTION_KEYS, MIN_FOCAL, VALUE_LIMIT, Frame, check_pose, holdout_split
from nerf.data.formats.images import image_header
from nerf.errors import InputError, warn_input
from nerf.files import read_json

BLENDER_SPLITS = ("train", "val", "test")
PERSPECTIVE_MODELS = ("OPENCV", "PINHOLE", "SIMPLE_PINHOLE", "SIMPLE_RADIAL", "RADIAL")


def is_blender(root: Path) -> bool:
    return any((root / f"transforms_{s}.json").is_file() for s in BLENDER_SPLITS)


def is_transforms(root: Path) -> bool:
    return (root / "transforms.json").is_file()


def read_transforms(path: Path) -> dict:
    """A transforms JSON file's top-level object; InputError unless it holds a 'frames' list."""
    meta = read_json(path)
    if not isinstance(meta, dict) or not isinstance(meta.get("frames"), list):
        raise InputError(path, "no 'frames' list")
    return meta


def _number(meta: dict, frame: dict, key: str, file: Path, index: int):
    """A per-frame value overriding the global one; None when neither gives it."""
    value = frame.get(key, meta.get(key))
    if value is None:
        return None
    try:
        value = float(value)
    except (TypeError, ValueError, OverflowError):
        raise InputError(file, f"frame {index}: '{key}' is not a number") from None
    if not np.isfinite(value):
        raise InputError(file, f"frame {index}: '{key}' is not finite")
    if abs(value) > VALUE_LIMIT:
        raise InputError(file, f"frame {index}: '{key}' is {value:g}, beyond +-{VALUE_LIMIT:g}")
    return value


def parse_frames(meta: dict, file: Path) -> list[Frame]:
    """Frames of one JSON file, with intrinsics resolved (per frame, else global, else angles)."""
    root = file.parent
    camera_type = camera_type_of(meta, file)
    frames = []
    for i, fr in enumerate(meta["frames"]):
        if not isinstance(fr, dict) or "file_path" not in fr or "transform_matrix" not in fr:
            raise InputError(file, f"frame {i}: needs 'file_path' and 'transform_matrix'")
        image = root / str(fr["file_path"])
        if image.suffix == "" and not image.exists():
            image = image.with_name(image.name + ".png")  # NeRF-synthetic omits the extension
        try:
            c2w = np.asarray(fr["transform_matrix"], dtype=np.float64)
        except (TypeError, ValueError, OverflowError):
            raise InputError(file, f"frame {i}: transform_matrix is not a matrix of numbers") from None
        if c2w.shape == (3, 4):
            c2w = np.concatenate([c2w, [[0.0, 0.0, 0.0, 1.0]]])
        if c2w.shape != (4, 4):
            raise InputError(file, f"frame {i}: transform_matrix has shape {c2w.shape}, expected 4x4")
        check_pose(c2w, file, f"frame {i} ({fr['file_path']})")
        num = {k: _number(meta, fr, k, file, i) for k in
               ("fl_x", "fl_y", "cx", "cy", "w", "h", "camera_angle_x", "camera_angle_y",
                *DISTORTION_KEYS)}
        if num["w"] is None or num["h"] is None:
            w, h, _ = image_header(image)  # InputError for a missing file, a folder, a pipe
        else:
            w, h = int(round(num["w"])), int(round(num["h"]))
        for angle in ("camera_angle_x", "camera_angle_y"):
            if num[angle] is not None and not 0.0 < num[angle] < np.pi:
                raise InputError(file, f"frame {i}: '{angle}' is {num[angle]:g}; a field of view in radians "
                                       "lies between 0 and pi")
        fx = num["fl_x"]
        if fx is None and num["camera_angle_x"] is not None:
            fx = focal_length(math.degrees(num["camera_angle_x"]), w)
        fy = num["fl_y"]
        if fy is None and num["camera_angle_y"] is not None and num["fl_x"] is None:
            fy = focal_length(math.degrees(num["camera_angle_y"]), h)
        if fx is None and fy is None:
            raise InputError(file, f"frame {i}: no focal length (fl_x or camera_angle_x)")
        fx, fy = (fy if fx is None else fx), (fx if fy is None else fy)
        if not (MIN_FOCAL <= fx < np.inf and MIN_FOCAL <= fy < np.inf):
            raise InputError(file, f"frame {i}: focal length {fx:.4g} x {fy:.4g} pixels; it must be positive "
                                   "(camera_angle_x between 0 and pi)")
        dist = np.array([num[k] or 0.0 for k in DISTORTION_KEYS])
        frames.append(Frame(image=image, c2w=c2w, fx=fx, fy=fy,
                            cx=w / 2.0 if num["cx"] is None else num["cx"],
                            cy=h / 2.0 if num["cy"] is None else num["cy"],
                            width=w, height=h, distortion=dist if dist.any() else None, camera_type=camera_type,
                            mask=None if fr.get("mask_path") is None else root / str(fr["mask_path"])))
    warn_unused_fields(meta["frames"], file)
    return frames


# nerfstudio's per-frame fields that this project reads but does not act on, and what that means
UNUSED_FIELDS = {
    "depth_file_path": "depth maps are not used (no depth supervision): training uses the colours alone",
}


def warn_unused_fields(frames: list, file: Path) -> None:
    """One warning per field of UNUSED_FIELDS that any frame carries (nerf.errors.warn_input)."""
    for key, meaning in UNUSED_FIELDS.items():
        count = sum(isinstance(fr, dict) and key in fr for fr in frames)
        if count:
            warn_input(file, f"{count} frames have '{key}': {meaning}")


def camera_type_of(meta: dict, file: Path) -> str:
    """"perspective" or "fisheye" from nerfstudio's camera_model or instant-ngp's is_fisheye; any
    other model is refused, never trained as a pinhole."""
    model = str(meta.get("camera_model", "OPENCV")).upper()
    if model not in PERSPECTIVE_MODELS + ("OPENCV_FISHEYE",):
        raise InputError(file, f"camera_model {model} is not supported (supported: "
                               f"{', '.join(PERSPECTIVE_MODELS)}, OPENCV_FISHEYE)")
    fisheye = meta.get("is_fisheye", False)
    if not isinstance(fisheye, bool):
        raise InputError(file, f"'is_fisheye' must be true or false, got {str(fisheye)[:40]!r}")
    return "fisheye" if model == "OPENCV_FISHEYE" or fisheye else "perspective"


def blender_split_frames(root: Path) -> tuple[dict[str, list[Frame]], dict, dict[str, Path]]:
    """Frames per split (all splits the folder has), the metadata and the file of each split."""
    frames, files, meta0 = {}, {}, None
    for name in BLENDER_SPLITS:
        file = root / f"transforms_{name}.json"
        if not file.is_file():
            continue  # a missing split is fine (the shared lego copy has no val split)
        meta = read_transforms(file)
        frames[name], files[name] = parse_frames(meta, file), file
        meta0 = meta0 or meta
    return frames, meta0, files


def _split_list(meta: dict, split: str, file: Path) -> list[str] | None:
    """nerfstudio's `<split>_filenames`: a list of file paths, or None when absent."""
    listed = meta.get(f"{split}_filenames")
    if listed is None:
        return None
    if not (isinstance(listed, list) and all(isinstance(n, str) for n in listed)):
        raise InputError(file, f"'{split}_filenames' must be a list of file paths, got {str(listed)[:60]}")
    return listed


def transforms_split_frames(root: Path) -> tuple[dict[str, list[Frame]], dict, dict[str, Path]]:
    """Frames per split of a transforms.json, its metadata and the file (the same for every split)."""
    file = root / "transforms.json"
    meta = read_transforms(file)
    all_frames = parse_frames(meta, file)
    names = {s: _split_list(meta, s, file) for s in BLENDER_SPLITS}
    if names["train"]:  # nerfstudio may list the split's files explicitly
        by_name = {}
        for fr, raw in zip(all_frames, meta["frames"], strict=True):
            by_name[str(raw["file_path"])] = fr
        frames = {}
        for s, listed in names.items():
            if listed:
                missing = [n for n in listed if n not in by_name]
                if missing:
                    raise InputError(file, f"{s}_filenames names {missing[0]}, which no frame has")
                frames[s] = [by_name[n] for n in listed]
    else:
        frames = holdout_split(all_frames)
    return frames, meta, {s: file for s in frames}
