import math

import pytest
import torch

from nerf.data.cameras import (distort, focal_length, fov_deg, image_rays, look_at, make_cameras, pixel_rays,
                               project, to_ndc, undistort)


def _camera(distortion=None, width=40, height=30):
    c2w = look_at((3.0, -2.0, 1.5), (0.2, 0.1, -0.3), up=(0.0, 0.0, 1.0))
    cams = make_cameras(c2w, width, height, fx=35.0, fy=33.0, cx=21.3, cy=14.2)
    if distortion is not None:
        cams.distortion = torch.tensor([distortion], dtype=torch.float32)
    return cams


def test_look_at_axes_are_orthonormal_and_face_the_target():
    c2w = look_at((1.0, 2.0, 3.0), (0.0, 0.0, 0.0), up=(0.0, 0.0, 1.0))
    rot = c2w[:3, :3]
    assert torch.allclose(rot.T @ rot, torch.eye(3), atol=1e-6)
    assert torch.det(rot) == pytest.approx(1.0, abs=1e-6)
    forward = -rot[:, 2]
    expected = -torch.tensor([1.0, 2.0, 3.0]) / math.sqrt(14.0)
    assert torch.allclose(forward, expected, atol=1e-6)
    assert rot[2, 1] > 0  # camera y points towards world +z (up)


def test_principal_point_ray_is_minus_z_axis():
    cams = _camera()
    o, d = pixel_rays(cams, torch.tensor([0]), torch.tensor([21.3]), torch.tensor([14.2]))
    assert torch.allclose(d[0], -cams.c2w[0, :3, 2], atol=1e-6)
    assert torch.allclose(o[0], cams.c2w[0, :3, 3])
    assert d.norm(dim=-1).item() == pytest.approx(1.0, abs=1e-6)


def test_pixel_offset_follows_focal_length_and_image_y_down():
    cams = make_cameras(torch.eye(4), 10, 10, fx=5.0, cx=5.0, cy=5.0)
    # one focal length right and half a focal length down of the principal point
    _, d = pixel_rays(cams, torch.tensor([0]), torch.tensor([10.0]), torch.tensor([7.5]))
    expected = torch.tensor([1.0, -0.5, -1.0]) / math.sqrt(2.25)
    assert torch.allclose(d[0], expected, atol=1e-6)


@pytest.mark.parametrize("dist", [(0.0,) * 6, (-0.12, 0.03, 0.0, 0.0, 0.001, -0.002),
                                  (0.2, -0.05, 0.01, -0.003, -0.004, 0.003)])
def test_rays_through_projected_points_hit_the_points(dist):
    cams = _camera(distortion=dist)
    g = torch.Generator().manual_seed(0)
    points = torch.tensor([0.2, 0.1, -0.3]) + 0.6 * (torch.rand(200, 3, generator=g) - 0.5)
    idx = torch.zeros(200, dtype=torch.long)
    px, py, depth = project(cams, idx, points)
    assert (depth > 0).all()
    o, d = pixel_rays(cams, idx, px, py)
    # distance from each point to its ray
    v = points - o
    dist_to_ray = (v - (v * d).sum(-1, keepdim=True) * d).norm(dim=-1)
    assert dist_to_ray.max().item() < 1e-4


def test_undistort_inverts_distort():
    g = torch.Generator().manual_seed(1)
    x, y = (torch.rand(2, 500, generator=g) - 0.5) * 1.2
    dist = torch.tensor([[-0.0225, 0.0114, 0.004, -0.001, 0.0022, -0.0006]]).expand(500, 6)  # fox-like lens, k3, k4
    xd, yd = distort(x, y, dist)
    assert (xd - x).abs().max() > 1e-3  # the distortion does something
    xu, yu = undistort(xd, yd, dist)
    assert torch.allclose(xu, x, atol=1e-6) and torch.allclose(yu, y, atol=1e-6)


def test_image_rays_shape_and_downscaled_pixel_centres():
    cams = make_cameras(torch.eye(4), 8, 6, fx=4.0)
    o, d = image_rays(cams, 0)
    assert o.shape == (6, 8, 3) and d.shape == (6, 8, 3)
    o2, d2 = image_rays(cams, 0, downscale=2)
    assert d2.shape == (3, 4, 3)
    # downscaled pixel (0, 0) covers original pixels 0..1: its ray goes through pixel coordinate 1.0
    _, expected = pixel_rays(cams, torch.tensor([0]), torch.tensor([1.0]), torch.tensor([1.0]))
    assert torch.allclose(d2[0, 0], expected[0], atol=1e-6)


def test_make_cameras_from_fov_and_batch():
    c2w = torch.eye(4).expand(3, 4, 4)
    cams = make_cameras(c2w, 64, 32, fov_y_deg=90.0)
    assert len(cams) == 3
    assert cams.fy[0].item() == pytest.approx(16.0)
    assert cams.fx[2].item() == pytest.approx(16.0)
    assert cams.cx[1].item() == 32.0 and cams.cy[1].item() == 16.0
    with pytest.raises(ValueError):
        make_cameras(c2w, 64, 32)


def test_to_ndc_hand_worked_values():
    # W = H = 2, fx = fy = 1 -> scale -2f/W = -1; near = 1
    o = torch.tensor([[0.0, 0.0, 0.0], [0.5, 0.0, 0.0]])
    d = torch.tensor([[0.0, 0.0, -1.0], [1.0, 0.0, -1.0]])
    o_ndc, d_ndc = to_ndc(o, d, 1.0, 1.0, 2, 2, near=1.0)
    # ray 0: hits the near plane at (0, 0, -1) -> NDC (0, 0, -1), direction (0, 0, 2) -> unit +z
    assert torch.allclose(o_ndc[0], torch.tensor([0.0, 0.0, -1.0]))
    assert torch.allclose(d_ndc[0], torch.tensor([0.0, 0.0, 1.0]))
    # ray 1: near-plane point (1.5, 0, -1) -> NDC x = -1 * 1.5 / -1 = 1.5;
    # direction x = -1 * (1/-1 - 1.5/-1) = -0.5, z = -2 * 1 / -1 = 2
    assert torch.allclose(o_ndc[1], torch.tensor([1.5, 0.0, -1.0]))
    assert torch.allclose(d_ndc[1], torch.tensor([-0.5, 0.0, 2.0]) / math.sqrt(4.25))


def test_to_ndc_maps_world_points_onto_the_ndc_ray():
    g = torch.Generator().manual_seed(2)
    o = torch.rand(50, 3, generator=g) * 0.2
    d = torch.cat([torch.rand(50, 2, generator=g) - 0.5, -torch.ones(50, 1)], dim=-1)
    fx, fy, w, h = 30.0, 28.0, 40, 30
    o_ndc, d_ndc = to_ndc(o, d, fx, fy, w, h)
    assert torch.allclose(d_ndc.norm(dim=-1), torch.ones(50))
    p = o + 3.7 * d  # a world point on each ray beyond the near plane
    p_ndc = torch.stack([-2 * fx / w * p[:, 0] / p[:, 2], -2 * fy / h * p[:, 1] / p[:, 2],
                         1 + 2 / p[:, 2]], dim=-1)
    v = p_ndc - o_ndc
    off_ray = (v - (v * d_ndc).sum(-1, keepdim=True) * d_ndc).norm(dim=-1)
    assert off_ray.max().item() < 1e-5
    assert ((p_ndc[:, 2] > -1) & (p_ndc[:, 2] < 1)).all()


@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(
    not torch.cuda.is_available(), reason="no CUDA device"))])
def test_rays_stay_on_the_cameras_device(device):
    cams = _camera(distortion=(-0.1, 0.01, 0.0, 0.0, 0.001, 0.0))
    ref_o, ref_d = pixel_rays(cams, torch.tensor([0, 0]), torch.tensor([1.0, 2.0]), torch.tensor([3.0, 4.0]))
    for key in ("c2w", "fx", "fy", "cx", "cy", "distortion"):
        setattr(cams, key, getattr(cams, key).to(device))
    dev = torch.device(device)
    o, d = pixel_rays(cams, torch.tensor([0, 0], device=dev), torch.tensor([1.0, 2.0], device=dev),
                      torch.tensor([3.0, 4.0], device=dev))
    assert o.device.type == d.device.type == device
    assert torch.allclose(d.cpu(), ref_d, atol=1e-5) and torch.allclose(o.cpu(), ref_o)
    io, idr = image_rays(cams, 0, downscale=2)
    assert io.device.type == idr.device.type == device and idr.shape == (15, 20, 3)
    px, py, depth = project(cams, torch.tensor([0], device=dev), o[:1] + 2.0 * d[:1])
    assert px.item() == pytest.approx(1.0, abs=1e-3) and py.item() == pytest.approx(3.0, abs=1e-3)
    o_ndc, d_ndc = to_ndc(o, d, cams.fx, cams.fy, cams.width, cams.height)
    assert o_ndc.device.type == device and torch.isfinite(d_ndc).all()


def _opencv_reference(points_cam, fx, fy, cx, cy, k1, k2, k3, k4, p1, p2):
    """OpenCV's projectPoints written out from its documentation (plus nerfstudio's k4 r^8), in float64:
    points [n, 3] in OpenCV's camera frame (x right, y down, +z forward) -> pixels [n, 2]."""
    out = []
    for X, Y, Z in points_cam:
        x, y = X / Z, Y / Z
        r2 = x * x + y * y
        radial = 1 + k1 * r2 + k2 * r2 ** 2 + k3 * r2 ** 3 + k4 * r2 ** 4
        xd = x * radial + 2 * p1 * x * y + p2 * (r2 + 2 * x * x)
        yd = y * radial + p1 * (r2 + 2 * y * y) + 2 * p2 * x * y
        out.append((fx * xd + cx, fy * yd + cy))
    return torch.tensor(out, dtype=torch.float64)


def _fisheye_reference(points_cam, fx, fy, cx, cy, k1, k2, k3, k4):
    """OpenCV's fisheye::projectPoints from its documentation, in float64 (theta = atan(r), a < 1 < ...)."""
    out = []
    for X, Y, Z in points_cam:
        a, b = X / Z, Y / Z
        r = math.hypot(a, b)
        theta = math.atan(r)
        theta_d = theta * (1 + k1 * theta ** 2 + k2 * theta ** 4 + k3 * theta ** 6 + k4 * theta ** 8)
        s = theta_d / r if r > 0 else 1.0
        out.append((fx * a * s + cx, fy * b * s + cy))
    return torch.tensor(out, dtype=torch.float64)


def _points_in_view(n, seed, spread):
    """World points in front of _camera(), and the same points in its OpenCV camera frame."""
    cams = _camera()
    g = torch.Generator().manual_seed(seed)
    c2w = cams.c2w[0].double()
    cam_gl = torch.stack([(torch.rand(n, generator=g, dtype=torch.float64) - 0.5) * spread,
                          (torch.rand(n, generator=g, dtype=torch.float64) - 0.5) * spread,
                          -1.0 - torch.rand(n, generator=g, dtype=torch.float64)], dim=-1)  # OpenGL: -z ahead
    world = cam_gl @ c2w[:3, :3].T + c2w[:3, 3]
    return world.float(), cam_gl * torch.tensor([1.0, -1.0, -1.0], dtype=torch.float64)


@pytest.mark.parametrize("camera_type", ["perspective", "fisheye"])
def test_distortion_models_match_opencv_and_rays_unproject_them(camera_type):
    """Project with the documented OpenCV model (reference), then our rays through those pixels must
    pass through the points: the undistortion inverts the model, k3 and k4 included."""
    dist = (-0.21, 0.06, -0.01, 0.004, 0.0012, -0.0008) if camera_type == "perspective" else \
        (0.05, -0.02, 0.004, -0.001, 0.0, 0.0)
    cams = _camera(distortion=dist)
    cams.camera_type = camera_type
    world, cam_cv = _points_in_view(300, 3, 1.6)
    fx, fy, cx, cy = 35.0, 33.0, 21.3, 14.2
    if camera_type == "perspective":
        ref = _opencv_reference(cam_cv.tolist(), fx, fy, cx, cy, *dist)
    else:
        ref = _fisheye_reference(cam_cv.tolist(), fx, fy, cx, cy, *dist[:4])
    idx = torch.zeros(len(world), dtype=torch.long)
    px, py, _ = project(cams, idx, world)
    assert torch.allclose(torch.stack([px, py], -1).double(), ref, atol=2e-3)
    plain = _camera()
    plain.camera_type = camera_type
    moved = torch.stack(project(plain, idx, world)[:2], -1).double()
    assert (moved - ref).norm(dim=-1).max() > 0.5  # the distortion moves pixels: it is not ignored
    o, d = pixel_rays(cams, idx, ref[:, 0].float(), ref[:, 1].float())
    v = world - o
    assert (v - (v * d).sum(-1, keepdim=True) * d).norm(dim=-1).max() < 1e-4


def test_fisheye_angle_is_distance_from_the_centre():
    # equidistant fisheye, f = 10 px: a ray 90 degrees off the axis lands 10 * pi / 2 px from the centre
    cams = make_cameras(torch.eye(4), 64, 64, fx=10.0, camera_type="fisheye")
    _, d = pixel_rays(cams, torch.tensor([0, 0]), torch.tensor([32.0 + 10.0 * math.pi / 2, 32.0]),
                      torch.tensor([32.0, 32.0 + 10.0 * math.pi / 4]))
    assert torch.allclose(d[0], torch.tensor([1.0, 0.0, 0.0]), atol=1e-6)  # straight right
    s = math.sqrt(0.5)
    assert torch.allclose(d[1], torch.tensor([0.0, -s, -s]), atol=1e-6)  # 45 degrees down


def test_equirectangular_covers_the_sphere():
    cams = make_cameras(torch.eye(4), 40, 20, camera_type="equirectangular")
    # centre: straight ahead; a quarter to the right: +x; the top row: up; the left edge: behind
    _, d = pixel_rays(cams, torch.zeros(4, dtype=torch.long), torch.tensor([20.0, 30.0, 20.0, 0.0]),
                      torch.tensor([10.0, 10.0, 0.0, 10.0]))
    expect = torch.tensor([[0.0, 0.0, -1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    assert torch.allclose(d, expect, atol=1e-6)
    world = torch.randn(50, 3, generator=torch.Generator().manual_seed(4))
    px, py, _ = project(cams, torch.zeros(50, dtype=torch.long), world)
    _, d = pixel_rays(cams, torch.zeros(50, dtype=torch.long), px, py)
    assert torch.allclose(d, world / world.norm(dim=-1, keepdim=True), atol=1e-5)


def test_focal_length_and_fov_are_inverses_with_hand_values():
    assert focal_length(90.0, 200) == pytest.approx(100.0)  # tan(45 deg) = 1: half the size
    assert fov_deg(100.0, 200) == pytest.approx(90.0)
    assert fov_deg(focal_length(37.5, 411), 411) == pytest.approx(37.5, rel=1e-12)
