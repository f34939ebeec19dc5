"""Camera geometry: pixels -> rays, points -> pixels, NDC, and cameras for arbitrary viewpoints.

Conventions (see nerf/data/scene.py): c2w is OpenGL-style (camera x right, y up, looking down -z);
pixel coordinates run right (x) and down (y) from the image's top-left corner, and the centre of
pixel (i, j) is (i + 0.5, j + 0.5). Three projections, as nerfstudio has them: perspective (lens
distortion by OpenCV's radial-tangential model, k1, k2, k3, p1, p2, plus nerfstudio's k4 r^8 term,
on normalised coordinates in OpenCV's frame: x right, y down), fisheye (OpenCV's fisheye model:
the distance from the principal point is the angle from the axis, bent by k1..k4) and
equirectangular (a 360-degree panorama).

Everything is vectorised and runs on whatever device the tensors are on; nothing here is CPU-only.
"""
from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import torch
from scipy.spatial.transform import Rotation

from nerf.data.scene import Cameras

UNDISTORT_ITERATIONS = 10  # Newton steps; converges to ~1e-7 for real lenses (|k1| < 0.5) in 3-4
CAMERA_TYPES = ("perspective", "fisheye", "equirectangular")


def distort(x: torch.Tensor, y: torch.Tensor, dist: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Radial-tangential model on normalised coordinates (y down), as nerfstudio applies it: OpenCV's
    k1, k2, k3 and p1, p2, with a fourth radial term k4 r^8.

    x, y: [n]; dist: [n, 6] (k1, k2, k3, k4, p1, p2). Returns the distorted (x_d, y_d), each [n].
    """
    k1, k2, k3, k4, p1, p2 = dist.unbind(-1)
    r2 = x * x + y * y
    radial = 1.0 + r2 * (k1 + r2 * (k2 + r2 * (k3 + r2 * k4)))
    xd = x * radial + 2.0 * p1 * x * y + p2 * (r2 + 2.0 * x * x)
    yd = y * radial + p1 * (r2 + 2.0 * y * y) + 2.0 * p2 * x * y
    return xd, yd


def undistort(xd: torch.Tensor, yd: torch.Tensor, dist: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Invert `distort` by Newton's method on the 2x2 system distort(x, y) = (xd, yd).

    xd, yd: [n]; dist: [n, 6]. Fixed iteration count, so no data-dependent control flow (no host sync).
    """
    k1, k2, k3, k4, p1, p2 = dist.unbind(-1)
    x, y = xd.clone(), yd.clone()
    for _ in range(UNDISTORT_ITERATIONS):
        r2 = x * x + y * y
        radial = 1.0 + r2 * (k1 + r2 * (k2 + r2 * (k3 + r2 * k4)))
        d_radial = k1 + r2 * (2.0 * k2 + r2 * (3.0 * k3 + r2 * 4.0 * k4))  # d(radial)/d(r2)
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


def fisheye_theta(theta_d: torch.Tensor, dist: torch.Tensor | None) -> torch.Tensor:
    """The angle from the optical axis of a fisheye pixel at distorted radius `theta_d` [n] (OpenCV's
    fisheye model: theta_d = theta (1 + k1 theta^2 + k2 theta^4 + k3 theta^6 + k4 theta^8), dist [n, 6],
    p1 and p2 unused), by Newton's method; the equidistant fisheye (theta = theta_d) without distortion."""
    if dist is None:
        return theta_d
    k1, k2, k3, k4 = dist[:, :4].unbind(-1)
    theta = theta_d.clone()
    for _ in range(UNDISTORT_ITERATIONS):
        t2 = theta * theta
        poly = 1.0 + t2 * (k1 + t2 * (k2 + t2 * (k3 + t2 * k4)))
        slope = 1.0 + t2 * (3.0 * k1 + t2 * (5.0 * k2 + t2 * (7.0 * k3 + t2 * 9.0 * k4)))
        slope = torch.where(slope.abs() < 1e-12, torch.full_like(slope, 1e-12), slope)
        theta = theta - (theta * poly - theta_d) / slope
    return theta


def camera_directions(x: torch.Tensor, y: torch.Tensor, camera_type: str,
                      dist: torch.Tensor | None) -> torch.Tensor:
    """Unit directions [n, 3] in the OpenGL camera frame (x right, y up, looking down -z) of normalised
    pixel coordinates x = (px - cx) / fx, y = (py - cy) / fy [n] (y down).

    perspective: through (x, y) on the image plane z = 1 after undistortion; fisheye: |(x, y)| is the
    angle from the axis (after `fisheye_theta`); equirectangular (fx = W / 2, fy = H, as nerfstudio
    sets them): x in [-1, 1] spans the longitude, y in [-1/2, 1/2] the latitude from up to down.
    """
    if camera_type == "perspective":
        if dist is not None:
            x, y = undistort(x, y, dist)
        d = torch.stack([x, -y, -torch.ones_like(x)], dim=-1)
        return d / d.norm(dim=-1, keepdim=True)
    if camera_type == "fisheye":
        r = torch.sqrt(x * x + y * y)
        theta = fisheye_theta(r, dist).clamp(0.0, math.pi)
        # sin(theta) / r -> 1 at the centre, where r and theta both vanish
        scale = torch.where(r > 1e-9, torch.sin(theta) / r.clamp_min(1e-9), torch.ones_like(r))
        return torch.stack([x * scale, -y * scale, -torch.cos(theta)], dim=-1)
    if camera_type == "equirectangular":
        lon = -math.pi * x
        polar = math.pi * (0.5 + y)  # 0 straight up, pi straight down
        return torch.stack([-torch.sin(lon) * torch.sin(polar), torch.cos(polar),
                            -torch.cos(lon) * torch.sin(polar)], dim=-1)
    raise ValueError(f"unknown camera type {camera_type!r}")


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
    dist = None if cameras.distortion is None else cameras.distortion[idx].to(device)
    dirs_cam = camera_directions((px - cx) / fx, (py - cy) / fy, cameras.camera_type, dist)  # [n, 3]
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
    viewing axis; for perspective cameras <= 0 means the point is behind the camera and px/py are
    meaningless; fisheye and equirectangular cameras see behind them too).
    """
    device = points.device
    idx = cam_idx.to(cameras.c2w.device)
    c2w = cameras.c2w[idx].to(device)
    rot, t = c2w[:, :3, :3], c2w[:, :3, 3]
    p_cam = torch.einsum("nji,nj->ni", rot, points - t)  # R^T (p - t): [n, 3]
    depth = -p_cam[:, 2]
    dist = None if cameras.distortion is None else cameras.distortion[idx].to(device)
    if cameras.camera_type == "perspective":
        safe = torch.where(depth.abs() < 1e-12, torch.full_like(depth, 1e-12), depth)
        x, y = p_cam[:, 0] / safe, -p_cam[:, 1] / safe  # OpenCV frame (y down)
        if dist is not None:
            x, y = distort(x, y, dist)
    elif cameras.camera_type == "fisheye":
        r = torch.sqrt(p_cam[:, 0] ** 2 + p_cam[:, 1] ** 2)
        theta = torch.atan2(r, depth)  # from the optical axis, beyond 90 degrees too
        theta_d = theta
        if dist is not None:
            k1, k2, k3, k4 = dist[:, :4].unbind(-1)
            t2 = theta * theta
            theta_d = theta * (1.0 + t2 * (k1 + t2 * (k2 + t2 * (k3 + t2 * k4))))
        scale = torch.where(r > 1e-12, theta_d / r.clamp_min(1e-12), torch.zeros_like(r))
        x, y = p_cam[:, 0] * scale, -p_cam[:, 1] * scale
    else:  # equirectangular: the inverse of camera_directions
        d = p_cam / p_cam.norm(dim=-1, keepdim=True).clamp_min(1e-12)
        x = torch.atan2(d[:, 0], -d[:, 2]) / math.pi
        y = torch.acos(d[:, 1].clamp(-1.0, 1.0)) / math.pi - 0.5
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
    """Rotation matrix [3, 3] float64 turning by `angle` radians about `axis` (any length)."""
    k = np.asarray(axis, dtype=np.float64)
    return Rotation.from_rotvec(k / np.linalg.norm(k) * angle).as_matrix()


def nearest_rotation(m: np.ndarray) -> np.ndarray:
    """The rotation nearest to m [3, 3]: for scaled or slightly sheared poses from other tools, and for
    the drift of many small updates (the viewer's orbit camera)."""
    u, _, vt = np.linalg.svd(m)
    r = u @ vt
    if np.linalg.det(r) < 0:
        u[:, -1] *= -1
        r = u @ vt
    return r


def look_at(eye, target, up=(0.0, 0.0, 1.0), dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Camera-to-world [4, 4] (OpenGL convention) at `eye` looking at `target`, `up` roughly up.

    Computed in `dtype`: float64 for poses written to files (the generated scenes round them to 8
    decimals, beyond float32's precision)."""
    eye = torch.as_tensor(eye, dtype=dtype)
    target = torch.as_tensor(target, dtype=dtype, device=eye.device)
    up = torch.as_tensor(up, dtype=dtype, device=eye.device)
    z = eye - target  # the camera looks down -z
    z = z / z.norm()
    x = torch.linalg.cross(up, z)
    if x.norm() < 1e-6:  # up parallel to the viewing direction: any perpendicular will do
        alt = torch.tensor([1.0, 0.0, 0.0], dtype=dtype, device=eye.device)
        if torch.abs(torch.dot(alt, z)) > 0.9:
            alt = torch.tensor([0.0, 1.0, 0.0], dtype=dtype, device=eye.device)
        x = torch.linalg.cross(alt, z)
    x = x / x.norm()
    y = torch.linalg.cross(z, x)
    c2w = torch.eye(4, dtype=dtype, device=eye.device)
    c2w[:3, 0], c2w[:3, 1], c2w[:3, 2], c2w[:3, 3] = x, y, z, eye
    return c2w


def focal_length(fov_deg: float, size: float) -> float:
    """Focal length in pixels that gives `size` pixels a field of view of `fov_deg` degrees (either axis:
    height with the vertical fov, width with the horizontal one)."""
    return 0.5 * size / math.tan(math.radians(fov_deg) / 2.0)


def fov_deg(focal: float, size: float) -> float:
    """Field of view in degrees across `size` pixels of a camera with focal length `focal` pixels
    along that axis (the inverse of focal_length)."""
    return math.degrees(2.0 * math.atan(0.5 * size / focal))


def resized_cameras(cameras: Cameras, width: int, height: int, sx: float | None = None,
                    sy: float | None = None) -> Cameras:
    """The same cameras drawn at width x height pixels: focal lengths and principal points scaled by
    sx, sy (default: the ratio of the sizes; a downscale by K passes 1 / K, as the loaders divide).
    Distortion is in normalised coordinates and the camera type is unchanged by size: both carry over."""
    sx = width / cameras.width if sx is None else sx
    sy = height / cameras.height if sy is None else sy
    return replace(cameras, fx=cameras.fx * sx, fy=cameras.fy * sy, cx=cameras.cx * sx, cy=cameras.cy * sy,
                   width=int(width), height=int(height))


def make_cameras(c2w: torch.Tensor, width: int, height: int, fov_y_deg: float | None = None,
                 fx=None, fy=None, cx=None, cy=None, camera_type: str = "perspective") -> Cameras:
    """Cameras for arbitrary viewpoints: c2w [4, 4] or [N, 4, 4].

    Give either fov_y_deg (vertical field of view; square pixels) or fx (and optionally fy).
    cx, cy default to the image centre. Scalars or [N] tensors are accepted for the intrinsics.
    An equirectangular camera takes no fov: it sees everything (fx = W / 2, fy = H, as nerfstudio).
    """
    if camera_type not in CAMERA_TYPES:
        raise ValueError(f"unknown camera type {camera_type!r}")
    if camera_type == "equirectangular":
        fov_y_deg, fx, fy = None, width / 2.0, float(height)
    c2w = torch.as_tensor(c2w, dtype=torch.float32)
    if c2w.ndim == 2:
        c2w = c2w[None]
    n, device = c2w.shape[0], c2w.device
    if fov_y_deg is not None:
        fy = focal_length(fov_y_deg, height)
        fx = fy if fx is None else fx
    if fx is None:
        raise ValueError("make_cameras needs fov_y_deg or fx")
    fy = fx if fy is None else fy
    cx = width / 2.0 if cx is None else cx
    cy = height / 2.0 if cy is None else cy

    def per_camera(v) -> torch.Tensor:
        return torch.as_tensor(v, dtype=torch.float32, device=device).expand(n).clone()

    return Cameras(c2w=c2w, fx=per_camera(fx), fy=per_camera(fy), cx=per_camera(cx),
                   cy=per_camera(cy), width=int(width), height=int(height), camera_type=camera_type)
