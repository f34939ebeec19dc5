"""nerf/volume/aabb.py: the ray / cube segment, against a slow reference and hand-computed values."""
import math

import torch

from nerf.volume.aabb import ray_aabb


def _reference(o, d, bound, near=0.0, far=math.inf):
    """Slow, obvious slab test in float64, one ray and one axis at a time; zero components handled
    exactly (inside the slab: no limit; outside: a miss). Returns (t_near, t_far) or None."""
    lo, hi = near, far
    for axis in range(3):
        oa, da = float(o[axis]), float(d[axis])
        if da == 0.0:
            if abs(oa) > bound:
                return None
            continue
        ta, tb = (-bound - oa) / da, (bound - oa) / da
        lo, hi = max(lo, min(ta, tb)), min(hi, max(ta, tb))
    return (lo, hi) if hi > lo else None


def _random_rays(n, seed):
    g = torch.Generator().manual_seed(seed)
    o = torch.randn(n, 3, generator=g) * 2
    d = torch.nn.functional.normalize(torch.randn(n, 3, generator=g), dim=-1)
    d[: n // 4, 0] = 0.0  # axis-parallel rays: a zero direction component
    d[: n // 8, 1] = 0.0
    d = torch.nn.functional.normalize(d, dim=-1)
    return o, d


def test_matches_the_slow_reference():
    o, d = _random_rays(400, 0)
    for near, far in ((0.0, math.inf), (0.5, 3.0)):
        t_near, t_far, hit = ray_aabb(o, d, 0.8, near, far)
        for i in range(o.shape[0]):
            ref = _reference(o[i], d[i], 0.8, near, far)
            assert bool(hit[i]) == (ref is not None), (i, ref)
            if ref is None:
                assert t_far[i] == t_near[i]
            else:
                assert abs(float(t_near[i]) - ref[0]) < 1e-5 and abs(float(t_far[i]) - ref[1]) < 1e-5


def test_hand_computed_and_misses():
    rays_o = torch.tensor([[0.0, 0.0, 4.0],    # straight down the z axis: enters at z=1 (t=3), leaves at z=-1 (t=5)
                           [0.0, 0.0, 0.0],    # from the centre: starts at t=0, leaves at x=1 (t=1)
                           [0.0, 3.0, 4.0],    # parallel to the cube, beside it: miss
                           [0.0, 0.0, 4.0],    # pointing away: the cube is behind the origin
                           [1.0, 0.0, 4.0]])   # grazing a face (x = bound): counted as a miss, not NaN
    rays_d = torch.tensor([[0.0, 0.0, -1.0], [1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 0.0, 1.0],
                           [0.0, 0.0, -1.0]])
    t_near, t_far, hit = ray_aabb(rays_o, rays_d, 1.0)
    assert hit.tolist() == [True, True, False, False, False]
    torch.testing.assert_close(t_near[:2], torch.tensor([3.0, 0.0]))
    torch.testing.assert_close(t_far[:2], torch.tensor([5.0, 1.0]))
    assert torch.all(t_near[2:4] == t_far[2:4])
    assert not torch.isnan(t_near).any() and not torch.isnan(t_far).any()


def test_near_and_far_cut_the_segment():
    o, d = torch.tensor([[0.0, 0.0, 4.0]]), torch.tensor([[0.0, 0.0, -1.0]])  # cube at t in [3, 5]
    t_near, t_far, hit = ray_aabb(o, d, 1.0, near=3.5, far=4.5)
    assert hit.item() and (t_near.item(), t_far.item()) == (3.5, 4.5)
    t_near, t_far, hit = ray_aabb(o, d, 1.0, near=6.0)  # the cube lies before near: a miss
    assert not hit.item() and t_near.item() == t_far.item() == 6.0


def test_agrees_with_a_dense_point_test():
    o, d = _random_rays(200, 4)
    t_near, t_far, hit = ray_aabb(o, d, 0.8)
    t = torch.linspace(0, 8, 4001)
    pts = o[:, None] + t[None, :, None] * d[:, None]  # [200, 4001, 3]
    inside = (pts.abs() <= 0.8).all(-1)  # [200, 4001]
    step = 8 / 4000
    assert hit[inside.any(-1)].all()
    length = inside.float().sum(-1) * step
    torch.testing.assert_close(torch.where(hit, t_far - t_near, torch.zeros(200)), length, atol=3 * step, rtol=0)
