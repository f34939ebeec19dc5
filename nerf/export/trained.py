"""A trained model's mesh or point cloud written to a file in the scene file's own coordinates
(p_file = p * scale + offset, as the screenshots' poses and the camera paths): what `nerf-export`
writes, and what the viewer's Export panel runs as a job on its training worker (with should_abort
and a progress callback).

`trainer` is anything with `model` (density, render_rays), `scene` and `device`, as nerf.train.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from nerf.data.crop import CropBox
from nerf.errors import InputError
from nerf.export.mesh import DEFAULT_THRESHOLD, extract_mesh
from nerf.export.mesh_files import write_mesh, write_points
from nerf.export.pointcloud import remove_outliers, surface_points

Progress = Callable[[float], None]  # the fraction done, 0..1
# Model calls per abort check on a CPU: one default chunk of the vanilla NeRF (16k rays, 262k
# density points) takes tens of seconds there, too long for Abort and the progress bar.
CPU_POINTS, CPU_RAYS = 1 << 14, 1 << 11


def _cpu(trainer) -> bool:
    return torch.device(trainer.device).type == "cpu"


def colour_fn(trainer):
    """What the model shows a ray: its rays start `near` earlier, since models march from t = near."""
    model, near = trainer.model, trainer.scene.near
    bg = torch.zeros(3, device=trainer.device)

    def colour(o: torch.Tensor, d: torch.Tensor) -> torch.Tensor:
        return model.render_rays(o - near * d, d, bg, stratified=False, generator=None).rgb
    return colour


def ray_fn(trainer):
    """rays(o, d) -> (rgb, depth, opacity) of the model, on black (nerf.export.pointcloud's RayFn)."""
    model = trainer.model
    bg = torch.zeros(3, device=trainer.device)

    def rays(o: torch.Tensor, d: torch.Tensor):
        out = model.render_rays(o, d, bg, stratified=False, generator=None)
        return out.rgb, out.depth, out.opacity
    return rays


def mesh_file(trainer, crop: CropBox, out: str | Path, *, resolution: int = 256,
              threshold: float = DEFAULT_THRESHOLD, faces: int | None = None, source: str | Path = "model",
              threshold_name: str = "threshold", should_abort: Callable[[], bool] | None = None,
              progress: Progress | None = None) -> str | None:
    """Marching cubes of the model's density over `crop` (simplified to about `faces`), coloured,
    written to `out`: a one-line summary, or None when aborted (nothing written). InputError naming
    `source` when no surface lies inside the box (its hint names the setting `threshold_name`)."""
    with torch.no_grad():
        small = {"chunk": CPU_POINTS, "ray_chunk": CPU_RAYS} if _cpu(trainer) else {}
        mesh = extract_mesh(trainer.model.density, colour_fn(trainer), crop, resolution, threshold, faces,
                            trainer.device, should_abort=should_abort, progress=progress, **small)
    if mesh is None:
        return None
    if len(mesh.faces) == 0:
        raise InputError(source, f"no surface at density {threshold:g} inside the crop box "
                                 f"(try a lower {threshold_name})")
    write_mesh(out, mesh.transformed(trainer.scene.scale, trainer.scene.offset))
    return f"{len(mesh.vertices)} vertices, {len(mesh.faces)} faces"


def points_file(trainer, crop: CropBox, out: str | Path, *, n_points: int = 100_000, source: str | Path = "model",
                should_abort: Callable[[], bool] | None = None, progress: Progress | None = None) -> str | None:
    """Where the training rays end, with their colours, floaters removed, written to `out` as PLY: a
    one-line summary, or None when aborted (nothing written). InputError naming `source` when no
    ray ends inside the box."""
    cams = trainer.scene.split("train").cameras
    small = {"chunk": CPU_RAYS} if _cpu(trainer) else {}
    found = surface_points(ray_fn(trainer), cams, n_points, crop, device=trainer.device,
                           should_abort=should_abort, progress=progress, **small)
    if found is None:
        return None
    points, colours = found
    keep = remove_outliers(points)
    points, colours = points[keep], colours[keep]
    if len(points) == 0:
        raise InputError(source, "no training ray ends inside the crop box")
    write_points(out, points * trainer.scene.scale + np.asarray(trainer.scene.offset), colours)
    return f"{len(points)} points ({int((~keep).sum())} outliers removed)"
