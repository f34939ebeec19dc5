"""Load a scene folder in any supported format: Blender / NeRF-synthetic, instant-ngp or nerfstudio
transforms.json, LLFF, COLMAP.

`load_scene` detects the format (the first entry of FORMATS whose `detect` accepts the folder) and
returns a `Scene` in the project's convention (nerf.data.scene): OpenGL camera-to-world matrices,
world normalised so users never hand-tune bounds (nerf.data.formats.frames says how), then settles
the scene type (nerf.data.formats.scene_type). Each format lives in a module of its own that never
imports this one: the registry imports the formats, not the other way round.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from nerf.data.formats.colmap import colmap_split_frames, is_colmap
from nerf.data.formats.frames import (NEAR, Frame, build_split, frame_cameras, holdout_split, object_normalisation,
                                      select_splits, share_of)
from nerf.data.formats.images import image_header
from nerf.data.formats.llff import is_llff, llff_image_files, load_llff
from nerf.data.formats.scene_type import settle_scene_type
from nerf.data.formats.transforms import blender_split_frames, is_blender, is_transforms, transforms_split_frames
from nerf.data.scene import Scene, TrainShard
from nerf.errors import InputError

SplitFrames = Callable[[Path], tuple[dict[str, list[Frame]], dict, dict[str, Path]]]


@dataclass(frozen=True)
class Format:
    """One on-disk layout: how to recognise its folder and how to read its frames."""

    name: str
    detect: Callable[[Path], bool]  # folder -> whether it holds this format
    split_frames: SplitFrames | None  # folder -> (frames per split, metadata, file per split); None for
    # LLFF, whose poses_bounds.npy carries no intrinsics per frame and which builds its Scene itself


# in order of detection: a folder with transforms_train.json and a sparse/ model is a Blender scene
FORMATS = (
    Format("blender", is_blender, blender_split_frames),
    Format("transforms", is_transforms, transforms_split_frames),
    Format("llff", is_llff, None),
    Format("colmap", is_colmap, colmap_split_frames),
)
_BY_NAME = {f.name: f for f in FORMATS}


def detect_format(path: str | Path) -> tuple[str, Path]:
    """-> (format, folder). Raises InputError for a missing path or an unknown layout."""
    path = Path(path)
    if path.is_file() and path.suffix == ".json":
        path = path.parent
    if not path.exists():
        raise InputError(path, "no such folder")
    if not path.is_dir():
        raise InputError(path, "not a folder")
    for fmt in FORMATS:
        if fmt.detect(path):
            return fmt.name, path
    raise InputError(path, "not a scene folder: expected transforms_train.json (Blender), "
                           "transforms.json (instant-ngp / nerfstudio), poses_bounds.npy (LLFF) "
                           "or sparse/0/ (COLMAP)")


def _split_frames(fmt: str, root: Path) -> tuple[dict[str, list[Frame]], dict, dict[str, Path]]:
    """Frames per split (all splits the folder has), the metadata and the file of each split."""
    return _BY_NAME[fmt].split_frames(root)


def estimate_scene_memory(path: str | Path, downscale: int = 1, llff_factor: int = 4,
                          splits: list[str] | None = None) -> dict:
    """Bytes the decoded images will take as float32, from image headers only (nothing decoded).

    -> {"format", "bytes", "images", "splits": {name: {"count", "width", "height", "channels",
    "bytes"}}}. Sizes are read from the first image of each split (a split has one size).
    """
    fmt, root = detect_format(path)
    if fmt == "llff":
        files, extra = llff_image_files(root, llff_factor)
        per_split = holdout_split(files)
        downscale = downscale * extra
    else:
        frames, _, _ = _split_frames(fmt, root)
        per_split = {s: [f.image for f in v] for s, v in frames.items()}
    out = {"format": fmt, "bytes": 0, "images": 0, "splits": {}}
    for s in select_splits(per_split, splits, root):
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
               splits: list[str] | None = None, scene_type: str | None = None,
               train_share: tuple[int, int] | None = None) -> Scene:
    """Load a scene folder in any supported format; see nerf.data.scene for the convention.

    downscale: integer area-resampling factor applied at load time (intrinsics divided by it).
    llff_factor: LLFF only, read images_<factor>/. splits: names to load (default: all present).
    scene_type: "bounded" | "unbounded" | "forward", or None to choose (nerf.data.formats.scene_type).
    train_share: (rank, world) of a distributed run: only that rank's share of the training images is
    decoded (nerf.data.scene.shard_views); every camera is still read, so the scene's space is the
    same on every rank.
    Raises InputError(file, problem) for any bad input.
    """
    if not (isinstance(downscale, int) and downscale >= 1):
        raise InputError(path, f"downscale must be a positive integer, got {downscale}")
    fmt, root = detect_format(path)
    if fmt == "llff":
        return settle_scene_type(load_llff(root, downscale=downscale, llff_factor=llff_factor, splits=splits,
                                           train_share=train_share), None, scene_type)
    frames, meta, files = _split_frames(fmt, root)
    all_frames = [f for v in frames.values() for f in v]
    if not all_frames:
        raise InputError(next(iter(files.values()), root), "no frames")
    centre, s, bound = object_normalisation(all_frames, meta, next(iter(files.values())))
    loaded, shard = {}, None
    for name in select_splits(frames, splits, root):
        if not frames[name]:
            raise InputError(files[name], f"split '{name}' has no frames")
        if name == "train" and train_share is not None:
            views = share_of(len(frames[name]), train_share, files[name])
            loaded[name] = build_split(name, [frames[name][i] for i in views], centre, s, downscale)
            size = loaded[name].cameras
            shard = TrainShard(*train_share, views, frame_cameras(frames[name], centre, s, downscale, size.width,
                                                                  size.height))
        else:
            loaded[name] = build_split(name, frames[name], centre, s, downscale)
    dists = [np.linalg.norm(f.c2w[:3, 3] - centre) * s for f in all_frames]
    scene = Scene(name=root.name, format=fmt, root=root, splits=loaded, bound=bound, near=NEAR,
                  far=float(max(dists) + bound * np.sqrt(3.0)), ndc=False, scale=float(1.0 / s),
                  offset=tuple(float(v) for v in centre), shard=shard)
    return settle_scene_type(scene, meta, scene_type)

