"""nerf/volume/compositing.py and the ngp model's render path: quadrature, packing, culling, early stop."""
import math

import torch

from nerf.train.config import TrainConfig
from nerf.models.ngp import NGPModel
from nerf.volume.aabb import ray_aabb
from nerf.volume.compositing import composite, distortion_packed, volume_weights, volume_weights_packed


def test_volume_weights_hand_computed():
    # delta 1, sigma [0, ln 2, ln 4] -> alpha [0, 0.5, 0.75]
    # transmittance: [1, 1, 0.5]; weights: [0, 0.5, 0.375]
    sigmas = torch.tensor([[0.0, math.log(2.0), math.log(4.0)]])
    w, t, a = volume_weights(sigmas, torch.ones_like(sigmas))
    torch.testing.assert_close(a, torch.tensor([[0.0, 0.5, 0.75]]))
    torch.testing.assert_close(t, torch.tensor([[1.0, 1.0, 0.5]]))
    torch.testing.assert_close(w, torch.tensor([[0.0, 0.5, 0.375]]))


def test_packed_equals_dense_on_ragged_rays():
    g = torch.Generator().manual_seed(0)
    lengths = [5, 0, 1, 9, 3]
    sig = [torch.rand(n, generator=g) * 4 for n in lengths]
    dl = [torch.rand(n, generator=g) * 0.5 for n in lengths]
    rgb = [torch.rand(n, 3, generator=g) for n in lengths]
    ri = torch.cat([torch.full((n,), i) for i, n in enumerate(lengths)])
    w, t, a = volume_weights_packed(torch.cat(sig), torch.cat(dl), ri, len(lengths))
    bg = torch.tensor([0.2, 0.4, 0.6])
    c_packed, d_packed, o_packed = composite(w, torch.cat(rgb), torch.cat(dl).cumsum(0), ri, len(lengths), bg)
    for i, n in enumerate(lengths):
        if n == 0:
            torch.testing.assert_close(c_packed[i], bg)
            assert o_packed[i] == 0
            continue
        wd, td, _ = volume_weights(sig[i][None], dl[i][None])
        torch.testing.assert_close(w[ri == i], wd[0])
        torch.testing.assert_close(t[ri == i], td[0])
        cd, _, od = composite(wd, rgb[i][None], dl[i][None], None, 1, bg)
        torch.testing.assert_close(c_packed[i], cd[0])
        torch.testing.assert_close(o_packed[i], od[0])


def test_composite_opaque_and_empty():
    w = torch.tensor([[0.0, 1.0, 0.0], [0.0, 0.0, 0.0]])
    rgbs = torch.tensor([[[1.0, 0, 0], [0, 1.0, 0], [0, 0, 1.0]]] * 2)
    t = torch.tensor([[1.0, 2.0, 3.0]] * 2)
    rgb, depth, opacity = composite(w, rgbs, t, None, 2, torch.tensor([1.0, 1.0, 1.0]))
    torch.testing.assert_close(rgb, torch.tensor([[0.0, 1.0, 0.0], [1.0, 1.0, 1.0]]))
    torch.testing.assert_close(depth, torch.tensor([2.0, 0.0]))
    torch.testing.assert_close(opacity, torch.tensor([1.0, 0.0]))


def _model(early_stop: float) -> NGPModel:
    cfg = TrainConfig.tuned("ngp", "cpu", model=dict(levels=4, log2_table=10, max_res=32, grid_res=8,
                                                     march_steps=64, early_stop=early_stop))
    torch.manual_seed(0)
    model = NGPModel(1.0, 0.0, math.inf, False, cfg.model)
    with torch.no_grad():  # a dense blob so rays do terminate
        model.field.grid.table.uniform_(-1.0, 1.0)
        model.field.density_mlp[-1].weight[0] += 0.3
    return model


def _rays(n=64):
    g = torch.Generator().manual_seed(1)
    d = torch.nn.functional.normalize(torch.randn(n, 3, generator=g), dim=-1)
    o = -2.5 * d + 0.3 * torch.randn(n, 3, generator=g)
    return o, d


def test_render_all_occupied_equals_dense_reference():
    model = _model(early_stop=0.0)  # grid starts all occupied; no early stop -> no culling at all
    o, d = _rays()
    bg = torch.tensor([1.0, 1.0, 1.0])
    out = model.render_rays(o, d, bg, stratified=False, generator=None)
    # dense reference: every step centre inside the cube, padded rays with sigma 0
    step = model.step_size
    t0, t1, _ = ray_aabb(o, d, 1.0)
    k = torch.arange(int(math.ceil(float((t1 - t0).max()) / step)))
    t = t0[:, None] + (k[None] + 0.5) * step
    inside = t < t1[:, None]
    pts = o[:, None] + t[..., None] * d[:, None]
    sigma, rgb = model.field(pts.reshape(-1, 3), d[:, None].expand_as(pts).reshape(-1, 3))
    sigma = sigma.reshape(t.shape) * inside
    w, _, _ = volume_weights(sigma, torch.full_like(sigma, step))
    ref, _, _ = composite(w, rgb.reshape(*t.shape, 3), t, None, o.shape[0], bg)
    torch.testing.assert_close(out.rgb, ref, atol=1e-5, rtol=1e-5)
    assert abs(out.samples_per_ray - float(inside.sum()) / o.shape[0]) < 1e-9


def test_early_termination_changes_colour_less_than_threshold():
    o, d = _rays()
    bg = torch.tensor([1.0, 0.0, 1.0])
    full = _model(0.0).render_rays(o, d, bg, stratified=False, generator=None)
    early = _model(1e-3).render_rays(o, d, bg, stratified=False, generator=None)
    assert early.samples_per_ray < full.samples_per_ray  # it did cut samples
    # dropped light is at most T (< threshold) times a colour in [0, 1] plus the background's share
    assert (early.rgb - full.rgb).abs().max() < 2e-3


def test_inference_single_pass_equals_training_two_pass():
    # Without gradients the model reuses its density pass for colour; with them it runs twice.
    o, d = _rays()
    bg = torch.tensor([0.2, 0.4, 0.6])
    model = _model(1e-3)
    with torch.no_grad():
        infer = model.render_rays(o, d, bg, stratified=False, generator=None)
    train = model.render_rays(o, d, bg, stratified=False, generator=None)
    assert infer.samples_per_ray == train.samples_per_ray > 0
    for key in ("rgb", "depth", "opacity"):
        torch.testing.assert_close(getattr(infer, key), getattr(train, key).detach(), atol=1e-6, rtol=1e-5)


def test_rays_missing_the_cube_render_background_in_both_paths():
    o = torch.tensor([[5.0, 5.0, 5.0]])
    d = torch.tensor([[1.0, 0.0, 0.0]])  # points away from the cube: no samples at all
    bg = torch.tensor([0.1, 0.2, 0.3])
    model = _model(1e-3)
    with torch.no_grad():
        infer = model.render_rays(o, d, bg, stratified=False, generator=None)
    train = model.render_rays(o, d, bg, stratified=False, generator=None)
    for out in (infer, train):
        torch.testing.assert_close(out.rgb, bg[None])
        assert out.samples_per_ray == 0


def test_sliced_no_grad_passes_match_one_pass(monkeypatch):
    """EVAL_SLICE bounds the memory of no-grad field passes without changing a pixel."""
    import nerf.models.ngp as ngp_module
    from nerf.train.config import TrainConfig
    cfg = TrainConfig.tuned("ngp", "cpu", model=dict(levels=4, log2_table=10, max_res=32, grid_res=8,
                                                     march_steps=64))
    torch.manual_seed(0)
    model = ngp_module.NGPModel(1.0, 0.1, 6.0, False, cfg.model)
    rays_o = torch.tensor([[0.0, 0.0, 3.0]]).expand(50, 3) + torch.randn(50, 3) * 0.1
    rays_d = torch.nn.functional.normalize(-rays_o + torch.randn(50, 3) * 0.2, dim=-1)
    bg = torch.ones(3)
    with torch.no_grad():
        whole = model.render_rays(rays_o, rays_d, bg, stratified=False, generator=None)
        monkeypatch.setattr(ngp_module, "EVAL_SLICE", 7)
        sliced = model.render_rays(rays_o, rays_d, bg, stratified=False, generator=None)
    assert whole.samples_per_ray > 7
    for k in ("rgb", "depth", "opacity"):
        assert torch.allclose(getattr(whole, k), getattr(sliced, k), atol=1e-6), k


def test_distortion_loss_matches_its_double_sum():
    """The linear-time packed form against eq. 15 of mip-NeRF 360 written out, ray by ray."""
    g = torch.Generator().manual_seed(0)
    counts = [3, 0, 1, 5, 2]
    ray = torch.repeat_interleave(torch.arange(5), torch.tensor(counts))
    widths = torch.rand(ray.numel(), generator=g) * 0.2
    ends = torch.cat([torch.cumsum(widths[ray == r], 0) for r in range(5) if counts[r]])
    starts = ends - widths
    w = torch.rand(ray.numel(), generator=g, dtype=torch.float64).requires_grad_(True)
    got = distortion_packed(w, starts, ends, ray, 5)
    for r in range(5):
        m = ray == r
        mid = 0.5 * (starts[m] + ends[m]).double()
        wr = w[m]
        expected = (wr[:, None] * wr[None] * (mid[:, None] - mid[None]).abs()).sum() \
            + (wr.square() * (ends[m] - starts[m]).double()).sum() / 3
        torch.testing.assert_close(got[r], expected)
    assert got[1] == 0  # a ray without samples
    # one sample carrying all the weight of a ray costs less than the same weight spread along it
    one = distortion_packed(torch.tensor([1.0]), torch.tensor([0.4]), torch.tensor([0.5]),
                            torch.zeros(1, dtype=torch.long), 1)
    spread = distortion_packed(torch.full((5,), 0.2), torch.arange(5) * 0.1, torch.arange(1, 6) * 0.1,
                               torch.zeros(5, dtype=torch.long), 1)
    assert one < spread
