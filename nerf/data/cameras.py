"""Camera geometry: pixels -> rays, points -> pixels, NDC, and cameras for arbitrary viewpoints.

Conventions (see nerf/scene.py): c2w is OpenGL-style (camera x right, y up, looking down -z);
pixel coordinates run right (x) and down (y) from the image's top-left corner, and the centre of
pixel (i, j) is (i + 0.5, j + 0.5). Lens distortion follows OpenCV's radial-tangential model
(k1, k2, p1, p2), applied to normalised coordinates in OpenCV's frame (x right, y down).

Everything is vectorised and runs on whatever device the tensors are on; nothing here is CPU-only.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from nerf.data.scene import Cameras

UNDISTORT_ITERATIONS = 10  # Newton steps; converges to ~1e-7 for real lenses (|k1| < 0.5) in 3-4


def distort(x: torch.Tensor, y: torch.Tensor, dist: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """OpenCV radial-tangential model on normalised coordinates (y down).

    x, y: [n]; dist: [n, 4] (k1, k2, p1, p2). Returns the distorted (x_d, y_d), each [n].
    """
    k1, k2, p1, p2 = dist.unbind(-1)
    r2 = x * x + y * y
    radial = 1.0 + r2 * (k1 + r2 * k2)
    xd = x * radial + 2.0 * p1 * x * y + p2 * (r2 + 2.0 * x * x)
    yd = y * radial + p1 * (r2 + 2.0 * y * y) + 2.0 * p2 * x * y
    return xd, yd


def undistort(xd: torch.Tensor, yd: torch.Tensor, dist: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Invert `distort` by Newton's method on the 2x2 system distort(x, y) = (xd, yd).

    xd, yd: [n]; dist: [n, 4]. Fixed iteration count, so no data-dependent control flow (no host sync).
    """
    k1, k2, p1, p2 = dist.unbind(-1)
    x, y = xd.clone(), yd.clone()
    for _ in range(UNDISTORT_ITERATIONS):
        r2 = x * x + y * y
        radial = 1.0 + r2 * (k1 + r2 * k2)
        d_radial = k1 + 2.0 * k2 * r2  # d(radial)/d(r2)
        fx_ = x * radial + 2.0 * p1 * x * y + p2 * (r2 + 2.0 * x * x) - xd
        fy_ = y * radial + p1 * (r2 + 2.0 * y * y) + 2.0 * p2 * x * y - yd
        # Jacobian of the residual; d(r2)/dx = 2x, d(r2)/dy = 2y
        j11 = radial + 2.0 * x * x * d_radial + 2.0 * p1 * y + 6.0 * p2 * x
        j12 = 2.0 * x * y * d_radial + 2.0 * p1 * x + 2.0 * p2 * y
        j21 = 2.0 * x * y * d_radial + 2.0 * p1 * x + 2.0 * p2 * y
        j22 = radial + 2.0 * y * y * d_radial + 6.0 * p1 * y + 2.0 * p2 * x
        det = j11 * j22 - j12 * j21
        det = torch.where(det.abs() < 1e-12, torch.full_like(det, 1e-12), det)
        x = x - (fx_ * j22 - fy_ * j12) / det
        y = y - (fy_ * j11 - fx_ * j21) / det
    return x, y


def pixel_rays(cameras: Cameras, cam_idx: torch.Tensor, px: torch.Tensor,
               py: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """World-space rays through pixel coordinates.

    cam_idx: long [n]; px, py: float [n] pixel coordinates (pixel centre = integer + 0.5).
    Returns rays_o [n, 3] and unit-length rays_d [n, 3], on px's device.
    """
    device = px.device
    idx = cam_idx.to(cameras.c2w.device)
    c2w = cameras.c2w[idx].to(device)  # [n, 4, 4]
    fx, fy = cameras.fx[idx].to(device), cameras.fy[idx].to(device)
    cx, cy = cameras.cx[idx].to(device), cameras.cy[idx].to(device)
    x = (px - cx) / fx  # [n] normalised, OpenCV frame (y down)
    y = (py - cy) / fy
    if cameras.distortion is not None:
        x, y = undistort(x, y, cameras.distortion[idx].to(device))
    dirs_cam = torch.stack([x, -y, -torch.ones_like(x)], dim=-1)  # [n, 3] OpenGL camera frame
    rays_d = torch.einsum("nij,nj->ni", c2w[:, :3, :3], dirs_cam)
    rays_d = rays_d / rays_d.norm(dim=-1, keepdim=True)
    rays_o = c2w[:, :3, 3].expand_as(rays_d).contiguous()
    return rays_o, rays_d


def image_rays(cameras: Cameras, index: int, downscale: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """Rays through every pixel centre of camera `index`, at 1/downscale resolution.

    Returns rays_o, rays_d, each [H // downscale, W // downscale, 3] on the cameras' device. A
    downscaled pixel covers downscale x downscale original pixels; its ray goes through their centre.
    """
    device = cameras.c2w.device
    h, w = cameras.height // downscale, cameras.width // downscale
    ys, xs = torch.meshgrid(torch.arange(h, device=device, dtype=torch.float32),
                            torch.arange(w, device=device, dtype=torch.float32), indexing="ij")
    px = ((xs + 0.5) * downscale).reshape(-1)
    py = ((ys + 0.5) * downscale).reshape(-1)
    idx = torch.full_like(px, index, dtype=torch.long)
    rays_o, rays_d = pixel_rays(cameras, idx, px, py)
    return rays_o.reshape(h, w, 3), rays_d.reshape(h, w, 3)


def project(cameras: Cameras, cam_idx: torch.Tensor,
            points: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """World points -> pixel coordinates (with distortion), the inverse of `pixel_rays`.

    cam_idx: long [n]; points: [n, 3]. Returns px [n], py [n] and depth [n] (distance along the
    viewing axis; <= 0 means the point is behind the camera and px/py are meaningless).
    """
    device = points.device
    idx = cam_idx.to(cameras.c2w.device)
    c2w = cameras.c2w[idx].to(device)
    rot, t = c2w[:, :3, :3], c2w[:, :3, 3]
    p_cam = torch.einsum("nji,nj->ni", rot, points - t)  # R^T (p - t): [n, 3]
    depth = -p_cam[:, 2]
    safe = torch.where(depth.abs() < 1e-12, torch.full_like(depth, 1e-12), depth)
    x, y = p_cam[:, 0] / safe, -p_cam[:, 1] / safe  # OpenCV frame (y down)
    if cameras.distortion is not None:
        x, y = distort(x, y, cameras.distortion[idx].to(device))
    px = x * cameras.fx[idx].to(device) + cameras.cx[idx].to(device)
    py = y * cameras.fy[idx].to(device) + cameras.cy[idx].to(device)
    return px, py, depth


def to_ndc(rays_o: torch.Tensor, rays_d: torch.Tensor, fx, fy, width: int, height: int,
           near: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Map forward-facing rays to normalised device coordinates (NeRF paper, appendix C, eq. 25).

    rays_o, rays_d: [n, 3] in the camera-aligned world of a forward-facing scene (looking down -z);
    fx, fy: floats or tensors broadcastable to [n]. Each origin is first moved onto the near plane
    z = -near, then projected. Returns NDC origins [n, 3], all with z = -1, and unit-length NDC
    directions [n, 3].

    The t-range is implicit: every ray starts on the plane z = -1 (the near plane) and samples go to
    z = +1 (infinity in world space), i.e. t in [0, 2 / rays_d[:, 2]]. Bound z only, not x and y:
    for cameras away from the average pose, edge rays start slightly outside [-1, 1] in x or y
    (fern: |x|, |y| up to 1.36; 16% of rays start outside) and head inwards, so clipping them to
    the cube [-1, 1]^3 would cut off their near part.
    """
    t = -(near + rays_o[..., 2]) / rays_d[..., 2]
    o = rays_o + t[..., None] * rays_d  # on the near plane
    ox, oy, oz = o.unbind(-1)
    dx, dy, dz = rays_d.unbind(-1)
    ax = -2.0 * fx / width  # -1 / (W / (2 f)) in the paper
    ay = -2.0 * fy / height
    o_ndc = torch.stack([ax * ox / oz, ay * oy / oz, 1.0 + 2.0 * near / oz], dim=-1)
    d_ndc = torch.stack([ax * (dx / dz - ox / oz), ay * (dy / dz - oy / oz), -2.0 * near / oz], dim=-1)
    return o_ndc, d_ndc / d_ndc.norm(dim=-1, keepdim=True)


def axis_rotation(axis, angle: float) -> np.ndarray:
    """Rotation matrix [3, 3] turning by `angle` radians about `axis` (Rodrigues' formula)."""
    k = np.asarray(axis, dtype=np.float64)
    k = k / np.linalg.norm(k)
    kx = np.array([[0.0, -k[2], k[1]], [k[2], 0.0, -k[0]], [-k[1], k[0], 0.0]])
    return np.eye(3) + math.sin(angle) * kx + (1.0 - math.cos(angle)) * (kx @ kx)


def nearest_rotation(m: np.ndarray) -> np.ndarray:
    """The rotation nearest to m [3, 3]: for scaled or slightly sheared poses from other tools, and for
    the drift of many small updates (the viewer's orbit camera)."""
    u, _, vt = np.linalg.svd(m)
    r = u @ vt
    if np.linalg.det(r) < 0:
        u[:, -1] *= -1
        r = u @ vt
    return r


def look_at(eye, target, up=(0.0, 0.0, 1.0)) -> torch.Tensor:
    """Camera-to-world [4, 4] (OpenGL convention) at `eye` looking at `target`, `up` roughly up."""
    eye = torch.as_tensor(eye, dtype=torch.float32)
    target = torch.as_tensor(target, dtype=torch.float32, device=eye.device)
    up = torch.as_tensor(up, dtype=torch.float32, device=eye.device)
    z = eye - target  # the camera looks down -z
    z = z / z.norm()
    x = torch.linalg.cross(up, z)
    if x.norm() < 1e-6:  # up parallel to the viewing direction: any perpendicular will do
        alt = torch.tensor([1.0, 0.0, 0.0], device=eye.device)
        if torch.abs(torch.dot(alt, z)) > 0.9:
            alt = torch.tensor([0.0, 1.0, 0.0], device=eye.device)
        x = torch.linalg.cross(alt, z)
    x = x / x.norm()
    y = torch.linalg.cross(z, x)
    c2w = torch.eye(4, device=eye.device)
    c2w[:3, 0], c2w[:3, 1], c2w[:3, 2], c2w[:3, 3] = x, y, z, eye
    return c2w


def make_cameras(c2w: torch.Tensor, width: int, height: int, fov_y_deg: float | None = None,
                 fx=None, fy=None, cx=None, cy=None) -> Cameras:
    """Cameras for arbitrary viewpoints: c2w [4, 4] or [N, 4, 4].

    Give either fov_y_deg (vertical field of view; square pixels) or fx (and optionally fy).
    cx, cy default to the image centre. Scalars or [N] tensors are accepted for the intrinsics.
    """
    c2w = torch.as_tensor(c2w, dtype=torch.float32)
    if c2w.ndim == 2:
        c2w = c2w[None]
    n, device = c2w.shape[0], c2w.device
    if fov_y_deg is not None:
        fy = 0.5 * height / math.tan(math.radians(fov_y_deg) / 2.0)
        fx = fy if fx is None else fx
    if fx is None:
        raise ValueError("make_cameras needs fov_y_deg or fx")
    fy = fx if fy is None else fy
    cx = width / 2.0 if cx is None else cx
    cy = height / 2.0 if cy is None else cy

    def per_camera(v) -> torch.Tensor:
        return torch.as_tensor(v, dtype=torch.float32, device=device).expand(n).clone()

    return Cameras(c2w=c2w, fx=per_camera(fx), fy=per_camera(fy), cx=per_camera(cx),
                   cy=per_camera(cy), width=int(width), height=int(height))
