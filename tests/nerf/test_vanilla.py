import dataclasses
import pytest
import torch

from nerf.train.config import TrainConfig
from nerf.data.formats.registry import load_scene
from nerf.data.generated.synthetic import write_synthetic_scene
from nerf.models.base import RadianceModel
from nerf.models.registry import build_model
from nerf.train.trainer import Trainer
from nerf.models.vanilla import NeRFConfig, VanillaNeRF


@pytest.fixture(autouse=True)
def _one_thread():
    """These tensors are small: one thread avoids OpenMP hand-offs, which cost ~10x when the CPU is
    shared (measured: 1.6 s vs 0.01 s per small step on a loaded 2-core machine)."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


# small enough for fast tests; the paper's sizes are checked by the parameter count only
SMALL = NeRFConfig(width=32, depth=4, coarse_samples=8, fine_samples=16)


def _rays(n: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Rays from a sphere of radius 4 towards points near the origin: all cross the unit cube."""
    g = torch.Generator().manual_seed(seed)
    o = torch.nn.functional.normalize(torch.randn(n, 3, generator=g), dim=-1) * 4.0
    d = torch.nn.functional.normalize(torch.rand(n, 3, generator=g) * 0.6 - 0.3 - o, dim=-1)
    return o, d


def test_one_mlp_has_the_papers_parameter_count():
    model = VanillaNeRF(1.0, 0.0, 10.0, False, NeRFConfig())
    # gamma(x): 3 + 3*2*10 = 63, gamma(d): 3 + 3*2*4 = 27 inputs
    # layer 1: 63*256 + 256              =  16,384
    # layers 2-5: 4 * (256*256 + 256)    = 263,168
    # layer 6 (skip): (256+63)*256 + 256 =  81,920
    # layers 7-8: 2 * (256*256 + 256)    = 131,584
    # sigma: 256 + 1                     =     257
    # feature: 256*256 + 256             =  65,792
    # view layer: (256+27)*128 + 128     =  36,352
    # rgb: 128*3 + 3                     =     387
    #                              total = 595,844
    assert sum(p.numel() for p in model.coarse.parameters()) == 595_844
    assert sum(p.numel() for p in model.fine.parameters()) == 595_844
    assert sum(p.numel() for p in model.parameters()) == 2 * 595_844  # encodings have no parameters


def test_build_model_makes_a_radiance_model():
    model = build_model(_tiny_scene_stub(), SMALL, "cpu")
    assert isinstance(model, VanillaNeRF) and isinstance(model, RadianceModel)
    assert model.param_groups(1e-3)[0]["lr"] == 1e-3
    assert model.extra_state() == {}


def _tiny_scene_stub():
    class _Scene:  # build_model reads only these fields
        bound, near, far, ndc, unbounded = 1.0, 0.1, 8.0, False, False
    return _Scene()


def test_render_rays_shapes_and_terms():
    torch.manual_seed(0)
    model = VanillaNeRF(1.0, 0.1, 8.0, False, SMALL)
    o, d = _rays(10)
    out = model.render_rays(o, d, torch.rand(10, 3), stratified=True, generator=torch.Generator().manual_seed(0))
    assert out.rgb.shape == (10, 3) and out.depth.shape == (10,) and out.opacity.shape == (10,)
    coarse, fine = out.rgb_terms
    assert coarse.shape == fine.shape == (10, 3)
    assert torch.equal(fine, out.rgb) and not torch.equal(coarse, fine)
    assert out.samples_per_ray == 2 * 8 + 16  # coarse MLP on 8, fine MLP on 8 + 16
    assert torch.all((out.opacity >= 0) & (out.opacity <= 1 + 1e-5))
    hit_depth = out.depth[out.opacity > 1e-3]
    assert torch.all((hit_depth > 2.0) & (hit_depth < 6.0))  # inside the cube, seen from radius 4


def test_rays_missing_the_cube_get_the_background_and_no_samples():
    model = VanillaNeRF(1.0, 0.1, 8.0, False, SMALL)
    o = torch.tensor([[0.0, 3.0, 4.0], [0.0, 0.0, 4.0]])
    d = torch.tensor([[0.0, 0.0, -1.0], [0.0, 0.0, -1.0]])
    bg = torch.tensor([[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]])
    out = model.render_rays(o, d, bg, stratified=False, generator=None)
    for term in out.rgb_terms:
        torch.testing.assert_close(term[0], bg[0])
    assert out.opacity[0] == 0 and out.depth[0] == 0
    assert out.samples_per_ray == (2 * 8 + 16) / 2
    empty = model.render_rays(o[:1], d[:1], bg[0], stratified=True, generator=None)
    torch.testing.assert_close(empty.rgb, bg[:1])
    assert empty.samples_per_ray == 0
    sum(t.sum() for t in empty.rgb_terms).backward()  # a batch of misses still trains (no-op)
    assert model.coarse.layers[0].weight.grad.abs().sum() == 0


def test_max_samples_lowers_the_sample_counts():
    model = VanillaNeRF(1.0, 0.1, 8.0, False, NeRFConfig())
    assert model.sample_counts(None) == (64, 128)
    assert model.sample_counts(1000) == (64, 128)
    assert model.sample_counts(48) == (16, 32)
    small = VanillaNeRF(1.0, 0.1, 8.0, False, SMALL)
    o, d = _rays(4)
    out = small.render_rays(o, d, torch.ones(3), stratified=False, generator=None, max_samples=12)
    assert out.samples_per_ray == 2 * 4 + 8


def test_deterministic_render_is_repeatable_and_chunking_does_not_change_it(monkeypatch):
    torch.manual_seed(1)
    model = VanillaNeRF(1.0, 0.1, 8.0, False, SMALL)
    o, d = _rays(40, seed=3)
    with torch.no_grad():
        a = model.render_rays(o, d, torch.ones(3), stratified=False, generator=None)
        monkeypatch.setattr("nerf.models.vanilla.CHUNK_SAMPLES", 64)  # 2 rays per chunk
        b = model.render_rays(o, d, torch.ones(3), stratified=False, generator=None)
    torch.testing.assert_close(a.rgb, b.rgb)
    torch.testing.assert_close(a.depth, b.depth)


def test_loss_decreases_and_both_networks_learn():
    torch.manual_seed(0)
    model = VanillaNeRF(1.0, 0.1, 8.0, False, SMALL)
    o, d = _rays(64, seed=1)
    target = torch.rand(64, 3, generator=torch.Generator().manual_seed(2))
    bg = torch.ones(3)
    opt = torch.optim.Adam(model.parameters(), lr=5e-3)
    g = torch.Generator().manual_seed(0)
    losses = []
    for _ in range(40):
        out = model.render_rays(o, d, bg, stratified=True, generator=g)
        coarse_loss, fine_loss = (torch.mean((t - target) ** 2) for t in out.rgb_terms)
        opt.zero_grad()
        (coarse_loss + fine_loss).backward()
        if not losses:
            for net in (model.coarse, model.fine):
                assert net.layers[0].weight.grad.abs().sum() > 0
                assert net.sigma.weight.grad.abs().sum() > 0
        opt.step()
        losses.append((coarse_loss.item(), fine_loss.item()))
    assert losses[-1][0] < 0.7 * losses[0][0]
    assert losses[-1][1] < 0.7 * losses[0][1]


def test_ndc_rays_run_from_the_near_plane_to_infinity_unclipped_in_x_and_y():
    model = VanillaNeRF(1.0, 0.5, 100.0, True, SMALL)  # near/far are world units: ignored
    # on the z = -1 plane; the second starts outside |x| <= 1 and heads inwards (edge ray of an
    # off-centre camera): its near part must not be cut off
    o = torch.tensor([[0.2, -0.1, -1.0], [1.2, 0.0, -1.0]])
    d = torch.nn.functional.normalize(torch.tensor([[0.0, 0.0, 1.0], [-0.5, 0.0, 1.0]]), dim=-1)
    near, far, hit = model.ray_segments(o, d)
    assert hit.all()
    torch.testing.assert_close(near, torch.tensor([0.0, 0.0]))
    torch.testing.assert_close(far, 2.0 / d[:, 2])  # z reaches +1


@pytest.mark.slow
def test_short_training_on_a_generated_scene_raises_psnr(tmp_path):
    write_synthetic_scene(tmp_path / "scene", n_train=8, n_test=2, size=32)
    scene = load_scene(tmp_path / "scene")
    config = TrainConfig(model=dataclasses.replace(SMALL, fine_samples=8), batch_rays=512, lr=5e-3)
    trainer = Trainer(scene, config)
    before = trainer.evaluate("test").psnr
    for _ in range(120):
        stats = trainer.step()
    after = trainer.evaluate("test").psnr
    assert stats.samples_per_ray > 0
    assert after > before + 5.0, (before, after)


def test_ndc_rays_are_opaque_at_infinity_and_object_rays_are_not():
    torch.manual_seed(2)
    o = torch.tensor([[0.2, -0.1, -1.0], [-0.5, 0.3, -1.0]])
    d = torch.nn.functional.normalize(torch.tensor([[0.1, 0.0, 1.0], [0.0, -0.2, 1.0]]), dim=-1)
    ndc = VanillaNeRF(1.0, 0.5, 100.0, True, SMALL)
    with torch.no_grad():
        ndc.fine.sigma.bias.fill_(-1e3)  # empty space everywhere: all the light reaches infinity
        for stratified in (False, True):
            out = ndc.render_rays(o, d, torch.ones(3), stratified=stratified, generator=None)
            # the far plane takes what is left, as the paper's 1e10 last delta does: no background
            torch.testing.assert_close(out.opacity, torch.ones(2))
            assert torch.all(out.rgb < 1.0)  # the last sample's colour (sigmoid < 1), not the white background
        obj = VanillaNeRF(1.0, 0.1, 8.0, False, SMALL)
        obj.fine.sigma.bias.fill_(-1e3)
        out = obj.render_rays(*_rays(3), torch.ones(3), stratified=False, generator=None)
        assert torch.all(out.opacity == 0)
        torch.testing.assert_close(out.rgb, torch.ones(3, 3))
