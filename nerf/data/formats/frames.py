"""What every object-style format (Blender, transforms.json, COLMAP) shares: a Frame per view as the
file describes it, the checks on its pose, and the normalisation of the world.

Object scenes: the scene centre is the least-squares point closest to every camera's optical axis
(the mean camera position when the axes are near-parallel), and the world is scaled so the mean
camera distance to that centre is `CAMERA_DISTANCE` = 2.7. Objects seen by inward-facing cameras then
fit in [-1, 1]^3 (lego's cameras at radius 4.03 become 2.7), and `bound` = 1. A transforms.json with
instant-ngp's `aabb_scale` sets bound = aabb_scale: the object stays in [-1, 1]^3 and the background
extends to the larger cube, as in instant-ngp. An explicit `scale`/`offset` in the file is honoured
with instant-ngp's meaning (p * scale + offset puts the object in the unit cube [0, 1]^3), which we map
onto [-1, 1]^3. Scene.scale / Scene.offset record the mapping back: p_file = p_normalised * scale + offset.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from nerf.data.formats.images import image_header, read_images
from nerf.data.formats.masks import read_masks
from nerf.data.scene import Cameras, Split, shard_views
from nerf.errors import InputError

DISTORTION_KEYS = ("k1", "k2", "k3", "k4", "p1", "p2")  # nerfstudio's order (nerf.data.cameras.distort)
VALUE_LIMIT = 1e9  # of any number in a file; far beyond any capture (geo-referenced metres reach ~1e7), safe to square
MAX_AABB_SCALE = 128  # instant-ngp's largest (its 8 cascades); more would spread the samples over nothing
MIN_FOCAL = 1e-3  # pixels; anything smaller is a field of view of 180 degrees, or a typo
CAMERA_DISTANCE = 2.7  # mean camera distance to the scene centre, in normalised units
NEAR = 0.2  # object scenes: nothing of interest lies this close to a camera (at distance ~2.7)
HOLDOUT_EVERY = 8  # files without splits: images 0, 8, 16, ... are the test split (LLFF convention)


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
    distortion: np.ndarray | None  # [6] k1, k2, k3, k4, p1, p2 (nerfstudio's order)
    camera_type: str = "perspective"  # or "fisheye" (nerf.data.cameras)
    mask: Path | None = None  # nerfstudio's mask_path: zero where a pixel must not supervise (formats.masks)


def check_pose(c2w: np.ndarray, file: Path, what: str) -> None:
    if not np.isfinite(c2w).all():
        raise InputError(file, f"{what}: pose contains NaN or inf")
    if np.abs(c2w).max() > VALUE_LIMIT:
        raise InputError(file, f"{what}: pose has values beyond +-{VALUE_LIMIT:g}; not a camera pose in any unit")
    if abs(np.linalg.det(c2w[:3, :3])) < 1e-6:
        raise InputError(file, f"{what}: pose rotation is singular (not invertible)")


def check_frame(frame: Frame, file: Path, what: str) -> None:
    """What every loader's frame must hold before normalisation (the transforms reader checks the
    same as it parses): a finite, invertible pose and finite intrinsics with a positive focal length."""
    check_pose(frame.c2w, file, what)
    values = np.array([frame.fx, frame.fy, frame.cx, frame.cy,
                       *(() if frame.distortion is None else frame.distortion)], dtype=np.float64)
    if not (np.isfinite(values).all() and np.abs(values).max() <= VALUE_LIMIT):
        raise InputError(file, f"{what}: intrinsics are not finite numbers within +-{VALUE_LIMIT:g}")
    if not (frame.fx >= MIN_FOCAL and frame.fy >= MIN_FOCAL):
        raise InputError(file, f"{what}: focal length {frame.fx:.4g} x {frame.fy:.4g} pixels; it must be positive")


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
        if not 1.0 <= bound <= MAX_AABB_SCALE:
            raise InputError(file, f"'aabb_scale' is {str(aabb)[:40]}, expected a number in 1..{MAX_AABB_SCALE}")
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


def build_split(name: str, frames: list[Frame], centre: np.ndarray, scale: float,
                downscale: int) -> Split:
    """Decode a split's images and normalise its cameras: t -> (t - centre) * scale."""
    for f in frames:
        w, h, _ = image_header(f.image)
        if (w, h) != (f.width, f.height):
            raise InputError(f.image, f"image is {w}x{h} but its transforms say {f.width}x{f.height}")
    copies = downscaled_copies(frames, downscale)
    images = read_images(copies, 1, name) if copies else read_images([f.image for f in frames], downscale, name)
    cameras = frame_cameras(frames, centre, scale, downscale, images.shape[2], images.shape[1])
    masks = read_masks([f.mask for f in frames], frames[0].width, frames[0].height, downscale, name)
    return Split(name=name, images=images, cameras=cameras, files=[str(f.image) for f in frames], masks=masks)


def downscaled_copies(frames: list[Frame], downscale: int) -> list[Path] | None:
    """nerfstudio's images_N/: with --downscale N, the copies N times smaller that nerf-process and
    ns-process-data write beside images/ (images/x.jpg -> images_N/x.jpg), decoded instead of the
    full-size images when every view has one at the size a 1/N decode gives (W // N x H // N, so the
    intrinsics divide by N exactly); None: decode the full-size images."""
    if downscale == 1 or any(f.image.parent.name != "images" for f in frames):
        return None
    copies = [f.image.parent.parent / f"images_{downscale}" / f.image.name for f in frames]
    for f, copy in zip(frames, copies, strict=True):
        if not copy.is_file() or image_header(copy)[:2] != (f.width // downscale, f.height // downscale):
            return None
    return copies


def frame_cameras(frames: list[Frame], centre: np.ndarray, scale: float, downscale: int, width: int,
                  height: int) -> Cameras:
    """The normalised cameras of `frames` at the decoded image size (width, height), no image read."""
    c2w = np.stack([f.c2w for f in frames])  # [N, 4, 4]
    c2w[:, :3, 3] = (c2w[:, :3, 3] - centre) * scale
    dist = None
    if any(f.distortion is not None for f in frames):
        dist = torch.tensor(np.stack([np.zeros(len(DISTORTION_KEYS)) if f.distortion is None else f.distortion
                                      for f in frames]), dtype=torch.float32)
    types = {f.camera_type for f in frames}
    if len(types) > 1:
        raise InputError(frames[0].image.parent, f"the frames of a split mix {' and '.join(sorted(types))} cameras")

    def column(key: str) -> torch.Tensor:
        return torch.tensor([getattr(f, key) / downscale for f in frames], dtype=torch.float32)

    return Cameras(c2w=torch.tensor(c2w, dtype=torch.float32), fx=column("fx"), fy=column("fy"),
                   cx=column("cx"), cy=column("cy"), width=width, height=height, distortion=dist,
                   camera_type=frames[0].camera_type)


def share_of(count: int, train_share: tuple[int, int], file: Path) -> list[int]:
    """The training views of rank `train_share`; InputError when a rank would get none."""
    rank, world = train_share
    if count < world:
        raise InputError(file, f"has {count} training views, fewer than the {world} ranks; use --nproc {count} "
                               "or fewer")
    return shard_views(count, rank, world)


def select_splits(available: dict, wanted: list[str] | None, root: Path) -> list[str]:
    """The split names to load: all available ones, or `wanted`, each of which must exist."""
    if wanted is None:
        return list(available)
    for s in wanted:
        if s not in available:
            raise InputError(root, f"no '{s}' split (has: {', '.join(available) or 'none'})")
    return list(wanted)
