"""The CUDA path against the CPU path (skipped without a CUDA device; the GPU benchmark runs it first).

Same weights, same rays: the GPU must give the CPU's numbers, up to TF32 products and the order
of atomic additions.
"""
import pytest
import torch

from nerf.train.config import TrainConfig
from nerf.models.encodings import HashGrid
from nerf.models.ngp import NGPModel
from nerf.train.trainer import Trainer
from nerf.train.run import load_trained

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")

SMALL = dict(model=dict(levels=8, log2_table=14, max_res=128, grid_res=32, march_steps=256, grid_warmup=64))


def test_hash_grid_forward_and_backward_match_cpu():
    torch.manual_seed(0)
    grid = HashGrid(n_levels=8, n_features=2, log2_table=12, base_res=4, max_res=256, init_scale=1.0)
    x = torch.rand(5000, 3)
    out = grid(x)
    out.square().sum().backward()
    gpu = HashGrid(n_levels=8, n_features=2, log2_table=12, base_res=4, max_res=256).cuda()
    gpu.load_state_dict(grid.state_dict())
    out_gpu = gpu(x.cuda())
    out_gpu.square().sum().backward()
    assert torch.allclose(out_gpu.cpu(), out, atol=1e-5)
    assert torch.allclose(gpu.table.grad.cpu(), grid.table.grad, atol=1e-4)


def test_ngp_rendering_matches_cpu():
    cfg = TrainConfig.tuned("ngp", "cuda", **SMALL)
    torch.manual_seed(0)
    model = NGPModel(1.0, 0.1, 6.0, False, cfg.model)
    with torch.no_grad():
        model.field.grid.table.uniform_(-1.0, 1.0)  # a field with structure, not the near-zero init
    gpu = NGPModel(1.0, 0.1, 6.0, False, cfg.model).cuda()
    gpu.load_state_dict(model.state_dict())
    rays_o = torch.tensor([[0.0, 0.0, 3.0]]).expand(256, 3) + torch.randn(256, 3) * 0.2
    rays_d = torch.nn.functional.normalize(-rays_o + torch.randn(256, 3) * 0.3, dim=-1)
    bg = torch.ones(3)
    with torch.no_grad():
        cpu_out = model.render_rays(rays_o, rays_d, bg, stratified=False, generator=None)
        gpu_out = gpu.render_rays(rays_o.cuda(), rays_d.cuda(), bg.cuda(), stratified=False, generator=None)
    assert gpu_out.samples_per_ray == pytest.approx(cpu_out.samples_per_ray, rel=0.02)
    assert (gpu_out.rgb.cpu() - cpu_out.rgb).abs().max() < 1e-2
    assert (gpu_out.opacity.cpu() - cpu_out.opacity).abs().max() < 1e-2


@pytest.mark.parametrize("model", ["ngp", "nerf"])
def test_training_on_cuda_learns_and_resumes(scene, tmp_path, model):
    extra = SMALL if model == "ngp" else dict(model=dict(width=32, depth=4, coarse_samples=8, fine_samples=8),
                                              batch_rays=512, lr=5e-3)
    trainer = Trainer(scene, TrainConfig.tuned(model, "cuda", **extra), device="cuda")
    trainer.progress = 0.0
    before = trainer.evaluate("test").psnr
    for i in range(150):
        trainer.progress = i / 150
        stats = trainer.step()
    after = trainer.evaluate("test").psnr
    assert after > before + 5.0, (before, after)
    assert stats.lr < trainer.config.lr  # the budget schedule stepped down (ngp) or decayed (nerf)
    if model == "ngp":
        assert trainer.adaptive_batch and trainer.batch_rays != trainer.config.batch_rays
    trainer.save(tmp_path / "ck.pt")
    again = load_trained(tmp_path / "ck.pt", scene=scene, device="cuda")
    assert again.step_count == 150 and again.evaluate("test").psnr == pytest.approx(after, abs=0.05)
