"""Scene: images, cameras and a bound, in one convention, whatever format they came from.

Convention (after loading, for every format):
- camera-to-world matrices in the OpenGL / NeRF-synthetic convention: camera x right, y up, looking
  down -z;
- world space recentred and rescaled so the content of interest lies in the cube [-bound, bound]^3
  (`bound` is derived from the cameras, and from `aabb_scale` when a transforms.json gives one);
- forward-facing (LLFF) scenes set `ndc=True`: rays are mapped to normalised device coordinates where
  the scene occupies [-1, 1]^3 (see nerf.data.cameras.to_ndc), and `bound` is 1;
- unbounded scenes (RGB captures) set `unbounded=True`: [-bound, bound]^3 is then only the region of
  full detail, space beyond it is contracted (nerf.volume.contraction) and `far` is infinite.
  nerf.data.formats.scene_type chooses between the three and says why.

The formats are read by nerf.data.formats (registry.load_scene); this module holds the types, and
`pose_to_file`, the way back from the normalised world to the file's (p_file = p * scale + offset).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from nerf.errors import InputError

FACING_ONE_WAY = 0.7  # Scene.faces_one_way: the length of the cameras' mean viewing direction


@dataclass
class Cameras:
    """A set of cameras sharing one image size and one projection (nerf.data.cameras makes their rays)."""

    c2w: torch.Tensor  # [N, 4, 4] float32 camera-to-world, OpenGL convention, normalised world
    fx: torch.Tensor  # [N] focal length in pixels (x)
    fy: torch.Tensor  # [N] focal length in pixels (y)
    cx: torch.Tensor  # [N] principal point in pixels, from the left edge of the image
    cy: torch.Tensor  # [N] principal point in pixels, from the top edge of the image
    width: int
    height: int
    distortion: torch.Tensor | None = None  # [N, 6] k1, k2, k3, k4, p1, p2 (nerfstudio's order); None: none
    camera_type: str = "perspective"  # "perspective" | "fisheye" (k1..k4 bend the angle) | "equirectangular"

    def __len__(self) -> int:
        return self.c2w.shape[0]

    def one(self, index: int) -> Cameras:
        """Camera `index` alone, as a set of one."""
        sl = slice(index, index + 1)
        return Cameras(self.c2w[sl], self.fx[sl], self.fy[sl], self.cx[sl], self.cy[sl], self.width, self.height,
                       None if self.distortion is None else self.distortion[sl], self.camera_type)


@dataclass
class Split:
    """One split (train / val / test) of a scene."""

    name: str
    images: torch.Tensor  # [N, H, W, C] float32 in [0, 1]; C = 4 keeps alpha (composited later), else 3
    cameras: Cameras
    files: list[str] = field(default_factory=list)  # the image file of each view, for messages
    masks: torch.Tensor | None = None  # [N, H, W] bool: True where a pixel may supervise; None: all may

    def __len__(self) -> int:
        return self.images.shape[0]

    @property
    def has_alpha(self) -> bool:
        return self.images.shape[-1] == 4

    def rgb(self, background: torch.Tensor | float = 1.0, index: int | None = None) -> torch.Tensor:
        """Images composited onto `background` (a scalar or an RGB tensor [3]): [N, H, W, 3], or only
        view `index`: [H, W, 3] (the viewer shows one per frame; the whole split would be a copy of it)."""
        images = self.images if index is None else self.images[index]
        if not self.has_alpha:
            return images
        rgb, alpha = images[..., :3], images[..., 3:]
        bg = torch.as_tensor(background, dtype=rgb.dtype, device=rgb.device)
        return rgb * alpha + bg * (1.0 - alpha)


def shard_views(count: int, rank: int, world: int) -> list[int]:
    """The training views rank `rank` of `world` keeps: every world-th from `rank`, so each rank's
    share spans the whole capture and the shares differ by one view at most."""
    return list(range(rank, count, world))


@dataclass(frozen=True)
class TrainShard:
    """A distributed rank's share of the training images (nerf.distributed): split "train" holds
    views `views` of the capture's training views, `cameras` are all of them, for what must not
    depend on the share (the scene's space, a checkpoint's fingerprint)."""

    rank: int
    world: int
    views: list[int]  # indices into the capture's training views, ascending
    cameras: Cameras  # every training view's camera, the unloaded ones included

    @property
    def count(self) -> int:
        return len(self.cameras)


@dataclass
class Scene:
    """Everything a trainer needs from a dataset folder."""

    name: str
    format: str  # a nerf.data.formats.registry.FORMATS name: "blender" | "transforms" | "llff" | "colmap"
    root: Path
    splits: dict[str, Split]
    bound: float  # content lies in [-bound, bound]^3 (unbounded: full detail there), normalised units
    near: float = 0.0  # ray start along unit-length directions (normalised units)
    far: float = float("inf")  # ray end; the cube clips further
    ndc: bool = False  # forward-facing: rays go through nerf.data.cameras.to_ndc
    scale: float = 1.0  # world units of the file per normalised unit (for saving poses back)
    offset: tuple[float, float, float] = (0.0, 0.0, 0.0)  # file-space point mapped to the origin
    unbounded: bool = False  # RGB capture: nothing clipped, space beyond the cube contracted
    scene_type_reason: str = ""  # why the scene type was chosen, for --inspect
    shard: TrainShard | None = None  # a distributed rank's scene: the train split is its share only
    sparse_points: np.ndarray | None = None  # [n, 3] file coordinates: a COLMAP model's points, or ply_file_path's
    points_file: str | None = None  # a transforms file's ply_file_path (relative to root): an unbounded
    #                                  scene reads it while loading, a bounded one when the points are drawn

    @property
    def scene_type(self) -> str:
        """"bounded" | "unbounded" | "forward" (see nerf.data.formats.scene_type)."""
        return "forward" if self.ndc else "unbounded" if self.unbounded else "bounded"

    def split(self, name: str) -> Split:
        if name not in self.splits:
            raise InputError(self.root, f"no '{name}' split (has: {', '.join(self.splits) or 'none'})")
        return self.splits[name]

    def full_cameras(self, name: str) -> Cameras:
        """The cameras of split `name`, with the views of other ranks on a sharded train split."""
        if name == "train" and self.shard is not None:
            return self.shard.cameras
        return self.split(name).cameras

    @property
    def faces_one_way(self) -> bool:
        """Whether the training cameras all look roughly one way (a frontal handheld capture, such as
        the fox) rather than around a space or out of it: their mean viewing direction is at least
        FACING_ONE_WAY long (1: all parallel; the fox 0.82; cameras on a ring or in a room 0.03-0.37)."""
        if "train" not in self.splits or len(self.full_cameras("train")) == 0:
            return False
        forward = -self.full_cameras("train").c2w[:, :3, 2].double()
        forward = forward / forward.norm(dim=-1, keepdim=True).clamp_min(1e-12)
        return float(forward.mean(dim=0).norm()) >= FACING_ONE_WAY


def pose_to_file(scene: Scene, c2w: np.ndarray) -> np.ndarray:
    """Normalised camera-to-world [4, 4] -> the file's world units (for writing transforms.json)."""
    if scene.ndc:
        raise ValueError("poses of forward-facing (LLFF) scenes cannot be written back")
    out = np.array(c2w, dtype=np.float64)
    out[:3, 3] = out[:3, 3] * scene.scale + np.asarray(scene.offset)
    return out
