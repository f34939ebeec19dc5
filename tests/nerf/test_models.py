"""nerf/models/base.py: the model base class, its no-op hooks, the factory and each model's defaults."""
import pytest
import torch

from nerf.models.base import RadianceModel, build_model, model_class
from nerf.models.ngp import NGPModel
from nerf.models.vanilla import VanillaNeRF
from nerf.train.config import TrainConfig


class _Constant(RadianceModel):
    """The smallest model: one learnable colour, no hooks of its own."""

    def __init__(self):
        super().__init__()
        self.colour = torch.nn.Parameter(torch.zeros(3))


def test_the_base_hooks_do_nothing():
    model = _Constant()
    assert model.update(16) is True and model.update(17, should_yield=lambda: True) is True
    assert model.extra_state() == {}
    model.load_extra_state({})
    (group,) = model.param_groups(0.5)
    assert group["lr"] == 0.5 and group["params"] == [model.colour]
    assert _Constant.defaults("cuda") == {}
    with pytest.raises(NotImplementedError):
        model.render_rays(torch.zeros(1, 3), torch.ones(1, 3), torch.ones(3), stratified=False, generator=None)


def test_model_class_and_unknown_names():
    assert model_class("ngp") is NGPModel and model_class("nerf") is VanillaNeRF
    with pytest.raises(ValueError, match="unknown model 'mip'"):
        model_class("mip")
    with pytest.raises(ValueError, match="unknown model 'mip'"):
        TrainConfig.for_model("mip")

    class _Scene:  # build_model reads only these fields
        bound, near, far, ndc, unbounded = 1.0, 0.1, 8.0, False, False
    cfg = TrainConfig.for_model("ngp", "cpu", ngp_levels=2, ngp_log2_table=8, ngp_max_res=16, ngp_grid_res=8)
    assert isinstance(build_model("ngp", _Scene(), cfg, "cpu"), RadianceModel)


def test_each_model_owns_its_defaults_per_device():
    cpu, cuda = TrainConfig.for_model("ngp", "cpu"), TrainConfig.for_model("ngp", "cuda")
    assert (cpu.batch_rays, cpu.ngp_log2_table, cpu.ngp_max_res, cpu.ngp_march_steps) == (1024, 17, 512, 128)
    assert (cpu.ngp_grid_res, cpu.lr_decay_steps, cpu.target_samples) == (64, 1000, 0)
    assert (cuda.target_samples, cuda.lr_schedule, cuda.render_chunk) == (1 << 18, "budget", 1 << 16)
    assert cuda.ngp_log2_table == TrainConfig().ngp_log2_table  # the paper's field
    nerf_cpu, nerf_cuda = TrainConfig.for_model("nerf", "cpu"), TrainConfig.for_model("nerf", "cuda")
    assert nerf_cpu.model == "nerf" and (nerf_cpu.nerf_coarse_samples, nerf_cpu.batch_rays) == (16, 128)
    assert (nerf_cuda.nerf_coarse_samples, nerf_cuda.nerf_fine_samples, nerf_cuda.lr) == (64, 128, 5e-4)
    assert TrainConfig.for_model("ngp", "cuda", batch_rays=7).batch_rays == 7  # overrides win


def test_config_overrides_from_text_take_their_fields_types():
    parsed = TrainConfig.parse_overrides(["batch_rays=128", "ngp_early_stop=0.01", "mixed_precision=0",
                                          "ngp_marcher=dense"])
    assert parsed == {"batch_rays": 128, "ngp_early_stop": 0.01, "mixed_precision": False, "ngp_marcher": "dense"}
    assert type(parsed["batch_rays"]) is int and type(parsed["ngp_early_stop"]) is float
    with pytest.raises(ValueError, match="no field 'batch'"):
        TrainConfig.parse_overrides(["batch=128"])
    with pytest.raises(ValueError, match="batch_rays takes int values"):
        TrainConfig.parse_overrides(["batch_rays=1e3"])
