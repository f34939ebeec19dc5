"""Load a scene folder (Blender / NeRF-synthetic, instant-ngp or nerfstudio transforms.json, LLFF).

`load_scene` detects the format and returns a `Scene` in the project's convention (nerf/scene.py):
OpenGL camera-to-world matrices, world normalised so users never hand-tune bounds.

Object scenes (Blender, transforms.json): the scene centre is the least-squares point closest to
every camera's optical axis (the mean camera position when the axes are near-parallel), and the
world is scaled so the mean camera distance to that centre is `CAMERA_DISTANCE` = 2.7. Objects seen
by inward-facing cameras then fit in [-1, 1]^3 (lego's cameras at radius 4.03 become 2.7), and
`bound` = 1. A transforms.json with instant-ngp's `aabb_scale` sets bound = aabb_scale: the object
stays in [-1, 1]^3 and the background extends to the larger cube, as in instant-ngp. An explicit
`scale`/`offset` in the file is honoured with instant-ngp's meaning (p * scale + offset puts the
object in the unit cube [0, 1]^3), which we map onto [-1, 1]^3.

nerfstudio files: `train_filenames`/`test_filenames` choose the splits when present; poses already
include `applied_transform` (nerfstudio records it only to align exports), so it is not applied again.

Scene.scale / Scene.offset record the mapping back: p_file = p_normalised * scale + offset.
LLFF scenes are handled in nerf/llff.py.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

import torch

from nerf.data.formats.images import image_header, read_images
from nerf.data.scene import Cameras, Scene, Split
from nerf.data.formats.scene_type import settle_scene_type
from nerf.errors import InputError
from nerf.files import read_json

VALUE_LIMIT = 1e9  # of any number in a file; far beyond any capture (geo-referenced metres reach ~1e7), safe to square
MIN_FOCAL = 1e-3  # pixels; anything smaller is a field of view of 180 degrees, or a typo
CAMERA_DISTANCE = 2.7  # mean camera distance to the scene centre, in normalised units
NEAR = 0.2  # object scenes: nothing of interest lies this close to a camera (at distance ~2.7)
HOLDOUT_EVERY = 8  # files without splits: images 0, 8, 16, ... are the test split (LLFF convention)
BLENDER_SPLITS = ("train", "val", "test")


def holdout_split(items: list) -> dict[str, list]:
    """Files without splits: items 0, 8, 16, ... are the test split, the rest train (empty dropped)."""
    split = {"train": [x for i, x in enumerate(items) if i % HOLDOUT_EVERY != 0],
             "test": [x for i, x in enumerate(items) if i % HOLDOUT_EVERY == 0]}
    return {name: v for name, v in split.items() if v}


@dataclass
class Frame:
    """One view as the file describes it, before normalisation and decoding."""

    image: Path
    c2w: np.ndarray  # [4, 4] float64, OpenGL convention, file world units
    fx: float
    fy: float
    cx: float
    cy: float
    width: int  # as declared by the file (or the image header), full resolution
    height: int
    distortion: np.ndarray | None  # [4] k1, k2, p1, p2


def detect_format(path: str | Path) -> tuple[str, Path]:
    """-> (format, folder). Raises InputError for a missing path or an unknown layout."""
    path = Path(path)
    if path.is_file() and path.suffix == ".json":
        path = path.parent
    if not path.exists():
        raise InputError(path, "no such folder")
    if not path.is_dir():
        raise InputError(path, "not a folder")
    if any((path / f"transforms_{s}.json").is_file() for s in BLENDER_SPLITS):
        return "blender", path
    if (path / "transforms.json").is_file():
        return "transforms", path
    if (path / "poses_bounds.npy").is_file():
        return "llff", path
    from nerf.data.formats.colmap import model_folder
    if model_folder(path) is not None:
        return "colmap", path
    raise InputError(path, "not a scene folder: expected transforms_train.json (Blender), "
                           "transforms.json (instant-ngp / nerfstudio), poses_bounds.npy (LLFF) "
                           "or sparse/0/ (COLMAP)")


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
    model = str(meta.get("camera_model", "OPENCV")).upper()
    if model not in ("OPENCV", "PINHOLE", "SIMPLE_PINHOLE", "SIMPLE_RADIAL", "RADIAL"):
        raise InputError(file, f"camera_model {model} is not supported (pinhole/OpenCV only)")
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
                "k1", "k2", "p1", "p2")}
        if num["w"] is None or num["h"] is None:
            if not image.is_file():
                raise InputError(image, "image file is missing")
            w, h, _ = image_header(image)
        else:
            w, h = int(round(num["w"])), int(round(num["h"]))
        for angle in ("camera_angle_x", "camera_angle_y"):
            if num[angle] is not None and not 0.0 < num[angle] < np.pi:
                raise InputError(file, f"frame {i}: '{angle}' is {num[angle]:g}; a field of view in radians "
                                       "lies between 0 and pi")
        fx = num["fl_x"]
        if fx is None and num["camera_angle_x"] is not None:
            fx = 0.5 * w / np.tan(0.5 * num["camera_angle_x"])
        fy = num["fl_y"]
        if fy is None and num["camera_angle_y"] is not None and num["fl_x"] is None:
            fy = 0.5 * h / np.tan(0.5 * num["camera_angle_y"])
        if fx is None and fy is None:
            raise InputError(file, f"frame {i}: no focal length (fl_x or camera_angle_x)")
        fx, fy = (fy if fx is None else fx), (fx if fy is None else fy)
        if not (MIN_FOCAL <= fx < np.inf and MIN_FOCAL <= fy < np.inf):
            raise InputError(file, f"frame {i}: focal length {fx:.4g} x {fy:.4g} pixels; it must be positive "
                                   "(camera_angle_x between 0 and pi)")
        dist = np.array([num[k] or 0.0 for k in ("k1", "k2", "p1", "p2")])
        frames.append(Frame(image=image, c2w=c2w, fx=fx, fy=fy,
                            cx=w / 2.0 if num["cx"] is None else num["cx"],
                            cy=h / 2.0 if num["cy"] is None else num["cy"],
                            width=w, height=h, distortion=dist if dist.any() else None))
    return frames


def check_pose(c2w: np.ndarray, file: Path, what: str) -> None:
    if not np.isfinite(c2w).all():
        raise InputError(file, f"{what}: pose contains NaN or inf")
    if np.abs(c2w).max() > VALUE_LIMIT:
        raise InputError(file, f"{what}: pose has values beyond +-{VALUE_LIMIT:g}; not a camera pose in any unit")
    if abs(np.linalg.det(c2w[:3, :3])) < 1e-6:
        raise InputError(file, f"{what}: pose rotation is singular (not invertible)")


def check_enough_views(n: int, file: Path) -> None:
    """One image cannot show depth (and a one-camera scene has no size to normalise): say that,
    rather than a puzzling 'all cameras are at the same place'."""
    if n < 2:
        raise InputError(file, "has one image; a NeRF learns a scene from many views of it (dozens, taken "
                               "from around it), with their camera poses")


def scene_centre(origins: np.ndarray, axes: np.ndarray) -> np.ndarray:
    """Least-squares point closest to the lines origins[i] + t * axes[i]: [N, 3], [N, 3] -> [3].

    Minimises sum_i |(I - d_i d_i^T)(c - o_i)|^2. When the axes are near-parallel (forward-facing
    captures) the system is ill-conditioned and the mean camera position is returned instead.
    """
    d = axes / np.linalg.norm(axes, axis=-1, keepdims=True)
    proj = np.eye(3)[None] - d[:, :, None] * d[:, None, :]  # [N, 3, 3]
    a = proj.sum(0)
    b = np.einsum("nij,nj->i", proj, origins)
    eig = np.linalg.eigvalsh(a)
    if eig[0] < 1e-2 * eig[-1]:
        return origins.mean(0)
    centre = np.linalg.solve(a, b)
    spread = np.linalg.norm(origins - origins.mean(0), axis=-1).max()
    if np.linalg.norm(centre - origins.mean(0)) > 100.0 * max(spread, 1e-9):
        return origins.mean(0)  # axes meet absurdly far away: not an object-centred capture
    return centre


def object_normalisation(frames: list[Frame], meta: dict, file: Path) -> tuple[np.ndarray, float, float]:
    """-> (centre in file units [3], normalised units per file unit, bound)."""
    aabb = meta.get("aabb_scale")
    bound = 1.0
    if aabb is not None:
        try:
            bound = float(aabb)
        except (TypeError, ValueError, OverflowError):
            raise InputError(file, "'aabb_scale' is not a number") from None
        if not 1.0 <= bound < np.inf:
            raise InputError(file, f"'aabb_scale' is {aabb}, expected a finite number >= 1")
    if "scale" in meta or "offset" in meta:
        # instant-ngp: q = p * scale + offset puts the object in [0, 1]^3; ours is 2q - 1 in [-1, 1]^3,
        # i.e. (p - centre) * 2 scale with centre = (0.5 - offset) / scale
        try:
            ngp_scale = float(meta.get("scale", 0.33))
            offset = np.broadcast_to(np.asarray(meta.get("offset", 0.5), dtype=np.float64), (3,))
        except (TypeError, ValueError, OverflowError):
            raise InputError(file, "'scale'/'offset' are not numbers") from None
        if not (1.0 / VALUE_LIMIT <= ngp_scale <= VALUE_LIMIT and (np.abs(offset) <= VALUE_LIMIT).all()):
            raise InputError(file, "'scale' must be in [1e-9, 1e9] and 'offset' finite, within +-1e9")
        return (0.5 - offset) / ngp_scale, 2.0 * ngp_scale, bound
    check_enough_views(len(frames), file)
    origins = np.stack([f.c2w[:3, 3] for f in frames])
    axes = np.stack([-f.c2w[:3, 2] for f in frames])  # OpenGL cameras look down -z
    centre = scene_centre(origins, axes)
    mean_dist = np.linalg.norm(origins - centre, axis=-1).mean()
    if not mean_dist > 1e-9:
        raise InputError(file, "all cameras are at the same place; cannot find the scene's scale")
    return centre, CAMERA_DISTANCE / mean_dist, bound


def _split_frames(fmt: str, root: Path) -> tuple[dict[str, list[Frame]], dict, dict[str, Path]]:
    """Frames per split (all splits the folder has), the metadata and the file of each split."""
    if fmt == "colmap":
        from nerf.data.formats.colmap import colmap_split_frames
        return colmap_split_frames(root)
    if fmt == "blender":
        frames, files, meta0 = {}, {}, None
        for name in BLENDER_SPLITS:
            file = root / f"transforms_{name}.json"
            if not file.is_file():
                continue  # a missing split is fine (the shared lego copy has no val split)
            meta = read_transforms(file)
            frames[name], files[name] = parse_frames(meta, file), file
            meta0 = meta0 or meta
        return frames, meta0, files
    file = root / "transforms.json"
    meta = read_transforms(file)
    all_frames = parse_frames(meta, file)
    names = {s: meta.get(f"{s}_filenames") for s in BLENDER_SPLITS}
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


def build_split(name: str, frames: list[Frame], centre: np.ndarray, scale: float,
                downscale: int) -> Split:
    """Decode a split's images and normalise its cameras: t -> (t - centre) * scale."""
    for f in frames:
        w, h, _ = image_header(f.image)
        if (w, h) != (f.width, f.height):
            raise InputError(f.image, f"image is {w}x{h} but its transforms say {f.width}x{f.height}")
    images = read_images([f.image for f in frames], downscale, name)
    c2w = np.stack([f.c2w for f in frames])  # [N, 4, 4]
    c2w[:, :3, 3] = (c2w[:, :3, 3] - centre) * scale
    dist = None
    if any(f.distortion is not None for f in frames):
        dist = torch.tensor(np.stack([np.zeros(4) if f.distortion is None else f.distortion
                                      for f in frames]), dtype=torch.float32)

    def column(key: str) -> torch.Tensor:
        return torch.tensor([getattr(f, key) / downscale for f in frames], dtype=torch.float32)

    cameras = Cameras(c2w=torch.tensor(c2w, dtype=torch.float32), fx=column("fx"), fy=column("fy"),
                      cx=column("cx"), cy=column("cy"), width=images.shape[2], height=images.shape[1],
                      distortion=dist)
    return Split(name=name, images=images, cameras=cameras, files=[str(f.image) for f in frames])


def _select(available: dict, wanted: list[str] | None, root: Path) -> list[str]:
    if wanted is None:
        return list(available)
    for s in wanted:
        if s not in available:
            raise InputError(root, f"no '{s}' split (has: {', '.join(available) or 'none'})")
    return list(wanted)


def estimate_scene_memory(path: str | Path, downscale: int = 1, llff_factor: int = 4,
                          splits: list[str] | None = None) -> dict:
    """Bytes the decoded images will take as float32, from image headers only (nothing decoded).

    -> {"format", "bytes", "images", "splits": {name: {"count", "width", "height", "channels",
    "bytes"}}}. Sizes are read from the first image of each split (a split has one size).
    """
    fmt, root = detect_format(path)
    if fmt == "llff":
        from nerf.data.formats.llff import llff_image_files
        files, extra = llff_image_files(root, llff_factor)
        per_split = holdout_split(files)
        downscale = downscale * extra
    else:
        frames, _, _ = _split_frames(fmt, root)
        per_split = {s: [f.image for f in v] for s, v in frames.items()}
    out = {"format": fmt, "bytes": 0, "images": 0, "splits": {}}
    for s in _select(per_split, splits, root):
        images = per_split[s]
        if not images:
            raise InputError(root, f"split '{s}' has no images")
        w, h, c = image_header(images[0])
        nbytes = len(images) * (h // downscale) * (w // downscale) * c * 4
        out["splits"][s] = {"count": len(images), "width": w // downscale,
                            "height": h // downscale, "channels": c, "bytes": nbytes}
        out["bytes"] += nbytes
        out["images"] += len(images)
    return out


def load_scene(path: str | Path, downscale: int = 1, llff_factor: int = 4,
               splits: list[str] | None = None, scene_type: str | None = None) -> Scene:
    """Load a scene folder in any supported format; see the module docstring for the convention.

    downscale: integer area-resampling factor applied at load time (intrinsics divided by it).
    llff_factor: LLFF only, read images_<factor>/. splits: names to load (default: all present).
    scene_type: "bounded" | "unbounded" | "forward", or None to choose (nerf.data.formats.scene_type).
    Raises InputError(file, problem) for any bad input.
    """
    if not (isinstance(downscale, int) and downscale >= 1):
        raise InputError(path, f"downscale must be a positive integer, got {downscale}")
    fmt, root = detect_format(path)
    if fmt == "llff":
        from nerf.data.formats.llff import load_llff
        return settle_scene_type(load_llff(root, downscale=downscale, llff_factor=llff_factor, splits=splits),
                                 None, scene_type)
    frames, meta, files = _split_frames(fmt, root)
    all_frames = [f for v in frames.values() for f in v]
    if not all_frames:
        raise InputError(next(iter(files.values()), root), "no frames")
    centre, s, bound = object_normalisation(all_frames, meta, next(iter(files.values())))
    loaded = {}
    for name in _select(frames, splits, root):
        if not frames[name]:
            raise InputError(files[name], f"split '{name}' has no frames")
        loaded[name] = build_split(name, frames[name], centre, s, downscale)
    dists = [np.linalg.norm(f.c2w[:3, 3] - centre) * s for f in all_frames]
    scene = Scene(name=root.name, format=fmt, root=root, splits=loaded, bound=bound, near=NEAR,
                  far=float(max(dists) + bound * np.sqrt(3.0)), ndc=False, scale=float(1.0 / s),
                  offset=tuple(float(v) for v in centre))
    return settle_scene_type(scene, meta, scene_type)


def pose_to_file(scene: Scene, c2w: np.ndarray) -> np.ndarray:
    """Normalised camera-to-world [4, 4] -> the file's world units (for writing transforms.json)."""
    if scene.ndc:
        raise ValueError("poses of forward-facing (LLFF) scenes cannot be written back")
    out = np.array(c2w, dtype=np.float64)
    out[:3, 3] = out[:3, 3] * scene.scale + np.asarray(scene.offset)
    return out
