"""A deterministic analytic scene, ray-cast in numpy, written in the Blender / NeRF-synthetic format.

The scene (world z up, file units, everything inside [-1, 1]^3): a checkered sphere and a smaller
striped sphere half hidden behind it, a brick-textured box turned about z, an upright striped torus,
a thin barber-pole post with a fine ring around its top, all standing on a disk of fine concentric
rings. Shading is Lambert + ambient with hard shadows from one fixed light and a mild specular term,
so view dependence exists but stays small. Each pixel averages a regular supersample x supersample
grid of rays, which anti-aliases colour and alpha alike; the background is transparent. The objects
and their textures are in nerf.data.generated.shapes; this module traces, shades and writes files.

Ground truth is exact up to 8-bit quantisation: every image is rendered from the analytic model with
the very (rounded) pose written to the json.

Written to disk by `python -m nerf.commands.generate synthetic` (the shipped default scene and the
toy lab's default image).
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from nerf.data.cameras import look_at
from nerf.data.generated.shapes import EPS, default_objects, sphere_span

CAMERA_RADIUS = 4.0
CAMERA_ANGLE_X = 0.6911112070083618  # radians, the NeRF-synthetic value (~39.6 degrees)
TOY_BACKGROUND = (0.93, 0.92, 0.86)  # warm paper, distinct from every object colour
LIGHT_DIR = np.array([0.45, -0.35, 0.82]) / np.linalg.norm([0.45, -0.35, 0.82])  # towards the light
AMBIENT, DIFFUSE, SPECULAR, SHININESS = 0.38, 0.62, 0.12, 40.0


# --- ray casting and shading ---------------------------------------------------------------------

def _trace(objects, o: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nearest hit of unit rays o, d [n, 3]: distance t [n] (inf on a miss) and object index [n].

    Each object only sees the rays that cross its bounding sphere: most objects cover a small part
    of the image, and the torus's sphere tracing is the expensive step.
    """
    ts = np.full((len(o), len(objects)), np.inf)  # [n, n_objects]
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        for k, obj in enumerate(objects):
            t0, t1 = sphere_span(o - np.asarray(obj.centre), d, obj.bound_radius)
            near = np.flatnonzero(np.isfinite(t0) & (t1 > 0))
            ts[near, k] = obj.intersect(o[near], d[near])
    which = np.argmin(ts, axis=1)
    return ts[np.arange(len(o)), which], which


def _shade(objects, o: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Straight colour [n, 3], hit mask [n] and distance [n] (inf on a miss) of unit rays o, d [n, 3]."""
    t, which = _trace(objects, o, d)
    hit = np.isfinite(t)
    colour = np.zeros_like(o)
    idx = np.flatnonzero(hit)
    p = o[idx] + t[idx, None] * d[idx]
    normal, albedo = np.zeros_like(p), np.zeros_like(p)
    for k, obj in enumerate(objects):  # a loop over objects, each shading all of its hits at once
        sel = which[idx] == k
        normal[sel], albedo[sel] = obj.surface(p[sel])
    light = np.repeat(LIGHT_DIR[None], len(p), axis=0)
    shadow_t, _ = _trace(objects, p + normal * 10 * EPS, light)
    lit = ~np.isfinite(shadow_t)
    n_dot_l = np.clip(np.sum(normal * LIGHT_DIR, axis=1), 0.0, None) * lit
    half = LIGHT_DIR - d[idx]
    half /= np.linalg.norm(half, axis=1, keepdims=True)
    spec = SPECULAR * np.clip(np.sum(normal * half, axis=1), 0.0, None) ** SHININESS * (n_dot_l > 0)
    colour[idx] = np.clip(albedo * (AMBIENT + DIFFUSE * n_dot_l)[:, None] + spec[:, None], 0.0, 1.0)
    return colour, hit, t


def camera_rays(c2w: np.ndarray, width: int, height: int, fov_x: float,
                offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rays through pixel positions (i + offset) of a pinhole camera: o, d [height*width*k*k, 3].

    Ordered row-major by pixel, then by sub-sample, so a reshape to [H, W, k*k, 3] groups each pixel.
    """
    c2w = np.asarray(c2w, np.float64)
    focal = 0.5 * width / math.tan(0.5 * fov_x)
    k = len(offsets)
    u = (np.arange(width)[:, None] + offsets[None, :]).reshape(width * k)  # [W*k]
    v = (np.arange(height)[:, None] + offsets[None, :]).reshape(height * k)  # [H*k]
    x = np.broadcast_to(((u - 0.5 * width) / focal).reshape(1, width, 1, k), (height, width, k, k))
    y = np.broadcast_to((-(v - 0.5 * height) / focal).reshape(height, 1, k, 1), (height, width, k, k))
    dirs_cam = np.stack([x, y, -np.ones_like(x)], axis=-1).reshape(-1, 3)  # OpenGL: looking down -z
    d = dirs_cam @ c2w[:3, :3].T
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    return np.repeat(c2w[None, :3, 3], len(d), axis=0), d  # contiguous: matmul on stride-0 views is slow


def render_view(c2w: np.ndarray, width: int, height: int, fov_x: float = CAMERA_ANGLE_X,
                supersample: int = 3, objects=None) -> tuple[np.ndarray, np.ndarray]:
    """Render the scene from camera-to-world `c2w` [4, 4] (OpenGL convention), horizontal FOV in radians.

    Returns straight (not premultiplied) colour rgb [H, W, 3] and coverage alpha [H, W], float32 in
    [0, 1]; rgb is 0 where alpha is 0. Composite as rgb * alpha + background * (1 - alpha).
    """
    if supersample < 1:
        raise ValueError(f"supersample must be >= 1, got {supersample}")
    objects = default_objects() if objects is None else objects
    offsets = (np.arange(supersample) + 0.5) / supersample  # a regular grid inside each pixel
    o, d = camera_rays(c2w, width, height, fov_x, offsets)
    colour, hit, _ = _shade(objects, o, d)
    n_sub = supersample * supersample
    alpha = hit.reshape(height, width, n_sub).mean(axis=2)
    premult = (colour * hit[:, None]).reshape(height, width, n_sub, 3).mean(axis=2)
    rgb = np.where(alpha[..., None] > 0, premult / np.maximum(alpha[..., None], 1e-12), 0.0)
    return np.clip(rgb, 0.0, 1.0).astype(np.float32), alpha.astype(np.float32)


def render_depth(c2w: np.ndarray, width: int, height: int, fov_x: float = CAMERA_ANGLE_X,
                 objects=None) -> np.ndarray:
    """Distance along each pixel-centre ray to the first surface [H, W] float32; inf where nothing is hit."""
    objects = default_objects() if objects is None else objects
    o, d = camera_rays(c2w, width, height, fov_x, np.array([0.5]))
    t, _ = _trace(objects, o, d)
    return t.reshape(height, width).astype(np.float32)


# --- cameras and files ---------------------------------------------------------------------------

def pose_at(position: np.ndarray, target=(0.0, 0.0, 0.0)) -> np.ndarray:
    """Camera-to-world [4, 4] float64 at `position` looking at `target`, world z up."""
    return look_at(position, target, dtype=torch.float64).numpy()


def train_poses(n: int, seed: int = 0, radius: float = CAMERA_RADIUS) -> np.ndarray:
    """n cameras on a Fibonacci spiral over the upper hemisphere and a band below it: [n, 4, 4]."""
    z_min = -0.3  # down to ~17 degrees below the horizon, so the underside is seen too
    i = np.arange(n) + 0.5
    z = 1.0 - i / n * (1.0 - z_min)  # even in z = even in area; never exactly the pole
    phi = i * math.pi * (3.0 - math.sqrt(5.0)) + np.random.default_rng(seed).uniform(0, 2 * math.pi)
    return _poses_at(z, phi, radius)


def held_out_poses(n: int, seed: int = 0, radius: float = CAMERA_RADIUS) -> np.ndarray:
    """n cameras on two rings (12 and 40 degrees elevation), azimuths between each other: [n, 4, 4]."""
    elevation = np.where(np.arange(n) % 2 == 0, math.radians(12.0), math.radians(40.0))
    phi = (np.arange(n) + 0.25) * 2 * math.pi / n + np.random.default_rng(seed + 1).uniform(0, 2 * math.pi)
    return _poses_at(np.sin(elevation), phi, radius)


def _poses_at(z: np.ndarray, phi: np.ndarray, radius: float) -> np.ndarray:
    rho = np.sqrt(1.0 - z * z)
    positions = radius * np.stack([rho * np.cos(phi), rho * np.sin(phi), z], axis=1)
    # rounded as written to the json, so the images are exact for the stored poses
    return np.round(np.stack([pose_at(p) for p in positions]), 8)  # [n, 4, 4]


def _save_png(path: Path, array: np.ndarray) -> None:
    """8-bit PNG; PIL writes no timestamp, and fixed settings make the bytes reproducible."""
    Image.fromarray(np.round(np.clip(array, 0, 1) * 255).astype(np.uint8)).save(path, optimize=True)


def write_synthetic_scene(out_dir: str | Path, n_train: int = 64, n_test: int = 16, size: int = 128,
                          seed: int = 0, supersample: int = 3) -> Path:
    """Render the default scene into a Blender-format folder: transforms_{train,test}.json + RGBA PNGs.

    Files from an earlier, larger run (r_N.png beyond the new count) are removed so the folder is
    exactly what this call describes. Returns the folder.
    """
    out = Path(out_dir)
    objects = default_objects()
    for split, poses in (("train", train_poses(n_train, seed)), ("test", held_out_poses(n_test, seed))):
        (out / split).mkdir(parents=True, exist_ok=True)
        frames = []
        for i, c2w in enumerate(poses):
            rgb, alpha = render_view(c2w, size, size, CAMERA_ANGLE_X, supersample, objects)
            _save_png(out / split / f"r_{i}.png", np.concatenate([rgb, alpha[..., None]], axis=-1))
            frames.append({"file_path": f"./{split}/r_{i}", "transform_matrix": c2w.tolist()})
        for stale in (out / split).glob("r_*.png"):
            if stale.stem[2:].isdigit() and int(stale.stem[2:]) >= len(poses):
                stale.unlink()
        meta = {"camera_angle_x": CAMERA_ANGLE_X, "frames": frames}
        (out / f"transforms_{split}.json").write_text(json.dumps(meta, indent=2) + "\n")
    return out


def toy_view(elevation_deg: float = 28.0, azimuth_deg: float = 10.0, distance: float = 3.2) -> np.ndarray:
    """The toy image's camera [4, 4]: close enough that the scene fills the frame, aimed at its middle."""
    el, az = math.radians(elevation_deg), math.radians(azimuth_deg)
    direction = np.array([math.cos(el) * math.cos(az), math.cos(el) * math.sin(az), math.sin(el)])
    target = np.array([0.0, 0.0, -0.3])
    return pose_at(target + distance * direction, target)


def write_toy_image(path: str | Path, size: int = 256, supersample: int = 4,
                    background: tuple[float, float, float] = TOY_BACKGROUND) -> Path:
    """A detailed RGB render of the default scene composited on `background`, for the toy lab."""
    rgb, alpha = render_view(toy_view(), size, size, CAMERA_ANGLE_X, supersample)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _save_png(path, rgb * alpha[..., None] + np.asarray(background) * (1.0 - alpha[..., None]))
    return path

