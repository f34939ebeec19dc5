"""LLFF forward-facing scenes: poses_bounds.npy + images_<factor>/.

We render forward-facing scenes with NDC rays, as the NeRF paper does: the unbounded space in front
of the cameras maps to the cube [-1, 1]^3 (z = -1 is the near plane, z = +1 is infinity), so one
bounded field covers everything up to the horizon. To set that up, like nerf-pytorch's
`load_llff_data`:

1. poses_bounds.npy holds N x 17: a 3x5 matrix [R | t | hwf] per image, R's columns in LLFF's
   [down, right, back] order, which we reorder to OpenGL's [right, up, back];
2. the world is scaled by sc = 1 / (0.75 * min near bound), so the nearest content is at depth
   ~1 / 0.75 and the near plane z = -1 lies safely in front of it;
3. poses are recentred on the average pose (mean position, mean viewing direction and up), so the
   cameras look down -z around the origin, which is what the NDC warp assumes.

The Scene then has ndc=True, bound=1, near=1 (the near plane's depth, passed to
nerf.data.cameras.to_ndc) and far = the largest scaled far bound (for information only: in NDC the
cube's far face is infinity). Images 0, 8, 16, ... are the test split (the paper's llffhold = 8).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from nerf.data.cameras import look_at
from nerf.data.formats.images import image_header, read_images
from nerf.data.formats.frames import MIN_FOCAL, check_enough_views, check_pose, holdout_split, share_of
from nerf.data.scene import Cameras, Scene, Split, TrainShard
from nerf.errors import InputError

BOUND_FACTOR = 0.75  # nerf-pytorch's bd_factor: nearest bound ends up at depth 1 / 0.75
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


def is_llff(root: Path) -> bool:
    return (root / "poses_bounds.npy").is_file()


def llff_image_files(root: Path, factor: int) -> tuple[list[Path], int]:
    """-> (sorted image files, extra downscale). Falls back to images/ downscaled by `factor`."""
    if factor < 1:
        raise InputError(root, f"llff factor must be >= 1, got {factor}")
    folder = root / ("images" if factor == 1 else f"images_{factor}")
    extra = 1
    if not folder.is_dir() and (root / "images").is_dir():
        folder, extra = root / "images", factor
    if not folder.is_dir():
        have = sorted(p.name for p in root.glob("images*") if p.is_dir())
        raise InputError(root, f"no images_{factor}/ folder (has: {', '.join(have) or 'none'}); "
                               f"choose another with --llff-factor")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise InputError(folder, "no images (.png/.jpg)")
    return files, extra


def _average_pose(c2w: np.ndarray) -> np.ndarray:
    """Mean camera [4, 4] of c2w [N, 3, 4]: at the mean centre, looking against the mean back (z)
    axis, the mean up (y) axis as up (LLFF's poses_avg)."""
    centre = c2w[:, :, 3].mean(0)
    return look_at(centre, centre - c2w[:, :, 2].sum(0), c2w[:, :, 1].sum(0), dtype=torch.float64).numpy()


def load_llff(root: Path, downscale: int = 1, llff_factor: int = 4,
              splits: list[str] | None = None, train_share: tuple[int, int] | None = None) -> Scene:
    """An LLFF folder as a forward-facing Scene; train_share as in registry.load_scene."""
    file = root / "poses_bounds.npy"
    try:
        loaded = np.load(file, allow_pickle=False)
    except Exception as exc:  # noqa: BLE001 - numpy raises many types for a damaged file
        raise InputError(file, f"cannot read: {exc}") from None
    if not isinstance(loaded, np.ndarray):  # an .npz archive under the .npy name: close its handle
        loaded.close()
        raise InputError(file, "is an .npz archive; expected one .npy array (np.save, not np.savez)")
    arr = loaded
    if arr.dtype.kind not in "fiu":  # a cast from complex or text would warn or raise
        raise InputError(file, f"holds {arr.dtype} values, expected real numbers")
    if arr.ndim != 2 or arr.shape[1] != 17 or arr.shape[0] == 0:
        raise InputError(file, f"has shape {arr.shape}, expected N x 17 (3x5 pose + near/far)")
    arr = arr.astype(np.float64)
    n = arr.shape[0]
    check_enough_views(n, file)
    poses, bounds = arr[:, :15].reshape(n, 3, 5), arr[:, 15:17]
    for i in range(n):
        check_pose(poses[i], file, f"pose {i}")
    if not (np.isfinite(bounds).all() and (bounds > 0).all()):
        raise InputError(file, "near/far bounds must be positive and finite")
    files, extra = llff_image_files(root, llff_factor)
    if len(files) != n:
        raise InputError(files[0].parent, f"has {len(files)} images but {file.name} has {n} poses")

    # [down, right, back, t] -> [right, up, back, t]
    c2w = np.concatenate([poses[:, :, 1:2], -poses[:, :, 0:1], poses[:, :, 2:4]], axis=2)  # [N, 3, 4]
    sc = 1.0 / (bounds.min() * BOUND_FACTOR)
    c2w[:, :, 3] *= sc
    bounds = bounds * sc
    avg = _average_pose(c2w)
    c2w4 = np.concatenate([c2w, np.broadcast_to([[[0.0, 0.0, 0.0, 1.0]]], (n, 1, 4))], axis=1)
    c2w4 = np.linalg.inv(avg)[None] @ c2w4  # [N, 4, 4] recentred on the average pose

    w_img, h_img, _ = image_header(files[0])
    hwf = poses[:, :, 4]  # [N, 3]: full-resolution height, width, focal
    if not ((hwf[:, :2] >= 1).all() and (hwf[:, 2] >= MIN_FOCAL).all()):
        raise InputError(file, "each pose's height, width (>= 1 pixel) and focal length (> 0) must be positive")
    focal = hwf[:, 2] * (h_img / hwf[:, 0])  # focal at the images' resolution
    ds = downscale * extra
    members = holdout_split(list(range(n)))
    wanted = list(members) if splits is None else splits
    loaded, shard = {}, None

    def cameras_of(idx: list[int], width: int, height: int) -> Cameras:
        f = torch.tensor(focal[idx] / ds, dtype=torch.float32)
        return Cameras(c2w=torch.tensor(c2w4[idx], dtype=torch.float32), fx=f, fy=f.clone(),
                       cx=torch.full((len(idx),), w_img / 2.0 / ds), cy=torch.full((len(idx),), h_img / 2.0 / ds),
                       width=width, height=height)

    for name in wanted:
        if name not in members:
            raise InputError(root, f"no '{name}' split (has: {', '.join(members)})")
        idx = members[name]
        views = None
        if name == "train" and train_share is not None:
            views = share_of(len(idx), train_share, file)
            idx = [idx[i] for i in views]
        images = read_images([files[i] for i in idx], ds, name)
        loaded[name] = Split(name=name, images=images, cameras=cameras_of(idx, images.shape[2], images.shape[1]),
                             files=[str(files[i]) for i in idx])
        if views is not None:
            shard = TrainShard(*train_share, views, cameras_of(members[name], images.shape[2], images.shape[1]))
    # scale/offset only record the scaling and the average camera position; the recentring
    # rotation is not representable there, so NDC scenes do not write poses back
    return Scene(name=root.name, format="llff", root=root, splits=loaded, bound=1.0, near=1.0,
                 far=float(bounds.max()), ndc=True, scale=float(1.0 / sc),
                 offset=tuple(float(v) for v in avg[:3, 3] / sc), shard=shard)
