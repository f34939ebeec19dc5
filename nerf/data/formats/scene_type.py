"""Which space a scene is trained in, chosen from what its files say, with the reason in words.

- bounded: images with alpha are object captures; the object lies in [-bound, bound]^3 and the rest
  of every ray is the background colour chosen for training and display.
- unbounded: RGB captures (photos, video) have background at every distance. Nothing is clipped:
  the cube [-bound, bound]^3 is only the region of full detail, and space beyond it is contracted
  into a shell (nerf.volume.contraction). The region comes from `aabb_scale` when the file gives
  one (instant-ngp's hand-set scene size), else from the cameras and a sparse point cloud.
- forward: forward-facing LLFF captures keep NDC (nerf.data.cameras.to_ndc).

`--scene-type` overrides the choice; the reason then says so.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from nerf.data.formats.pointcloud import scene_point_cloud
from nerf.data.scene import Scene
from nerf.errors import InputError

SCENE_TYPES = ("bounded", "unbounded", "forward")
NEAR_FRACTION = 0.075  # near plane, in units of the mean camera distance to the centre (0.2 at 2.7)
POINT_QUANTILE = 0.8  # the region holds this share of the sparse points ...
POINT_REACH = 2.0  # ... but grows at most to this many times the cameras' extent for them
MIN_RADIUS = 1.0  # normalised units; cameras bunched at the centre still get a region


def choose_scene_type(fmt: str, has_alpha: bool, requested: str | None, root) -> tuple[str, str]:
    """-> (scene type, reason). InputError when `requested` cannot work with this format."""
    if requested is not None:
        if requested not in SCENE_TYPES:
            raise InputError("--scene-type", f"'{requested}' is not one of {', '.join(SCENE_TYPES)}")
        if requested == "forward" and fmt != "llff":
            raise InputError(root, "--scene-type forward needs a forward-facing LLFF scene (poses_bounds.npy)")
        if requested == "bounded" and fmt == "llff":
            raise InputError(root, "LLFF scenes are forward or unbounded; --scene-type bounded is not supported")
        return requested, "chosen with --scene-type"
    if fmt == "llff":
        return "forward", "LLFF poses_bounds.npy: a forward-facing capture, rays in NDC"
    if has_alpha:
        return "bounded", "images have alpha: an object on a background chosen for training"
    return "unbounded", "RGB images: background at every distance, space beyond the region contracted"


def region_radius(positions: np.ndarray, aabb_scale: float | None, points: np.ndarray | None
                  ) -> tuple[float, str]:
    """Half-size of the region of full detail around the origin (the scene centre), and why.

    positions: camera centres [N, 3], points: sparse points [M, 3] or None, all normalised.
    """
    if aabb_scale is not None:
        return float(aabb_scale), f"region of full detail [-{aabb_scale:g}, {aabb_scale:g}]^3 from aabb_scale"
    extent = max(float(np.abs(positions).max()), MIN_RADIUS)
    why = f"region of full detail holds the cameras ({extent:.3g})"
    if points is not None and len(points) > 0:
        reach = float(np.quantile(np.abs(points).max(axis=1), POINT_QUANTILE))
        if reach > extent:
            extent = min(reach, POINT_REACH * extent)
            why += f" and {POINT_QUANTILE:.0%} of the {len(points)} sparse points ({extent:.3g})"
    return extent, why


def near_plane(positions: np.ndarray) -> float:
    """Near plane of an unbounded scene: a fixed fraction of the cameras' distance to the centre."""
    return NEAR_FRACTION * float(np.linalg.norm(positions, axis=-1).mean())


def settle_scene_type(scene: Scene, meta: dict | None, requested: str | None) -> Scene:
    """The loaded `scene` in the space its files call for (or `requested`): unbounded scenes get their
    region of full detail, a near plane from the cameras and no far clip. meta: the transforms
    metadata (aabb_scale, ply_file_path; a COLMAP model's sparse_points), None for LLFF."""
    has_alpha = any(s.has_alpha for s in scene.splits.values())
    kind, reason = choose_scene_type(scene.format, has_alpha, requested, scene.root)
    scene.scene_type_reason = reason
    file_points = None if meta is None else meta.get("sparse_points")  # a COLMAP model's own points
    scene.sparse_points = file_points  # the viewer draws them
    if file_points is None and meta is not None and meta.get("ply_file_path"):  # else nerfstudio's ply_file_path
        scene.points_file = str(meta["ply_file_path"])
    if kind != "unbounded":
        return scene  # the viewer reads points_file when it draws the points
    positions = torch.cat([scene.full_cameras(name).c2w[:, :3, 3] for name in scene.splits]).double().numpy()
    points = None
    if scene.points_file is not None:  # it sizes the region of full detail: read now
        file_points = scene.sparse_points = scene_point_cloud(scene.root, scene.points_file)
    if file_points is not None:
        points = (np.asarray(file_points) - np.asarray(scene.offset)) / scene.scale
    aabb = meta.get("aabb_scale") if meta is not None else None
    radius, why = region_radius(positions, None if aabb is None else float(aabb), points)
    scene.bound, scene.near, scene.far = radius, near_plane(positions), math.inf
    scene.ndc, scene.unbounded = False, True
    scene.scene_type_reason = f"{reason}; {why}"
    return scene
