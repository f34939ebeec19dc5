"""A COLMAP reconstruction written out as nerfstudio's transforms.json and sparse_pc.ply.

The layout follows nerfstudio's `ns-process-data` output: the same world rotation
(`applied_transform`: swap y and z, negate the new z, so COLMAP's usual y-down world ends up
z-up), `OPENCV` intrinsics, `colmap_im_id` per frame and `ply_file_path` for the sparse points.
Cameras are read as nerf.data.formats.colmap reads them, so a processed folder opens the same way
as its transforms.json or as its COLMAP model.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from nerf.data.formats.colmap import camera_to_world, intrinsics, posed_images
from nerf.data.formats.pointcloud import write_ply_points
from nerf.errors import InputError

# nerfstudio's world rotation for COLMAP models (colmap_utils.colmap_to_json): rows [x, z, -y]
APPLIED_TRANSFORM = np.array([[1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0], [0.0, -1.0, 0.0, 0.0]])
APPLIED_TRANSFORM_4 = np.concatenate([APPLIED_TRANSFORM, [[0.0, 0.0, 0.0, 1.0]]])


def transforms_json(rec, image_dir: str = "images", ply_name: str | None = "sparse_pc.ply") -> dict:
    """nerfstudio's transforms.json for a reconstruction (posed images only).

    Intrinsics are global when every image shares one camera (a video), per frame otherwise.
    """
    images = posed_images(rec)
    cams = {im.camera_id: intrinsics(rec.cameras[im.camera_id], Path(im.name)) for im in images}
    shared = len(cams) == 1
    models = {k.pop("camera_model") for k in cams.values()}  # nerfstudio reads one model for all frames
    if len(models) > 1:
        raise InputError(Path(image_dir), "the COLMAP model mixes fisheye and pinhole cameras; "
                                          "transforms.json has one camera_model")
    meta: dict = {"camera_model": models.pop() if models else "OPENCV"}
    if shared:
        meta.update(next(iter(cams.values())))
    frames = []
    for im in images:
        c2w = APPLIED_TRANSFORM_4 @ camera_to_world(im)
        frame = {"file_path": f"{image_dir}/{im.name}", "transform_matrix": c2w.tolist(),
                 "colmap_im_id": int(im.image_id)}
        if not shared:
            frame.update(cams[im.camera_id])
        frames.append(frame)
    meta["frames"] = frames
    meta["applied_transform"] = APPLIED_TRANSFORM.tolist()
    if ply_name:
        meta["ply_file_path"] = ply_name
    return meta


def write_points_ply(rec, path: Path) -> int:
    """The sparse points with their colours, in the transforms.json world, as a binary PLY."""
    points = list(rec.points3D.values())
    xyz = np.array([p.xyz for p in points], dtype=np.float64).reshape(-1, 3)
    rgb = np.array([p.color for p in points], dtype=np.uint8).reshape(-1, 3)
    write_ply_points(path, xyz @ APPLIED_TRANSFORM[:, :3].T, rgb)
    return len(points)


def write_transforms(rec, path: Path) -> None:
    path.write_text(json.dumps(transforms_json(rec), indent=2) + "\n")
