"""nerf/models: the model base class, its no-op hooks, the registry and each model's own config."""
import pytest
import torch

from nerf.models.base import RadianceModel
from nerf.models.ngp import NGPConfig, NGPModel
from nerf.models.registry import build_model, config_class
from nerf.models.vanilla import NeRFConfig, VanillaNeRF
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
    with pytest.raises(NotImplementedError):
        model.render_rays(torch.zeros(1, 3), torch.ones(1, 3), torch.ones(3), stratified=False, generator=None)


def test_registry_names_and_unknown_names():
    assert config_class("ngp") is NGPConfig and config_class("nerf") is NeRFConfig
    with pytest.raises(ValueError, match="unknown model 'mip'"):
        config_class("mip")
    with pytest.raises(ValueError, match="unknown model 'mip'"):
        TrainConfig.tuned("mip")

    class _Scene:  # build_model reads only these fields
        bound, near, far, ndc, unbounded = 1.0, 0.1, 8.0, False, False
    ngp = NGPConfig(levels=2, log2_table=8, max_res=16, grid_res=8)
    assert isinstance(build_model(_Scene(), ngp, "cpu"), NGPModel)
    assert isinstance(build_model(_Scene(), NeRFConfig(width=8, depth=2), "cpu"), VanillaNeRF)


def test_each_model_owns_its_defaults_per_device():
    cpu, cuda = TrainConfig.tuned("ngp", "cpu"), TrainConfig.tuned("ngp", "cuda")
    assert (cpu.batch_rays, cpu.model.log2_table, cpu.model.max_res, cpu.model.march_steps) == (1024, 17, 512, 128)
    assert (cpu.model.grid_res, cpu.lr_decay_steps, cpu.target_samples) == (64, 1000, 0)
    assert (cuda.target_samples, cuda.lr_schedule, cuda.render_chunk) == (1 << 18, "budget", 1 << 16)
    assert cuda.model == NGPConfig()  # the paper's field
    nerf_cpu, nerf_cuda = TrainConfig.tuned("nerf", "cpu"), TrainConfig.tuned("nerf", "cuda")
    assert nerf_cpu.model_name == "nerf" and (nerf_cpu.model.coarse_samples, nerf_cpu.batch_rays) == (16, 128)
    assert (nerf_cuda.model.coarse_samples, nerf_cuda.model.fine_samples, nerf_cuda.lr) == (64, 128, 5e-4)
    assert TrainConfig.tuned("ngp", "cuda", batch_rays=7).batch_rays == 7  # overrides win
    assert TrainConfig.tuned("ngp", "cpu", model={"levels": 3}).model.levels == 3


def test_config_overrides_from_text_take_their_fields_types():
    parsed = TrainConfig.parse_overrides(["batch_rays=128", "model.early_stop=0.01", "model.mixed_precision=0"])
    assert parsed == {"batch_rays": 128, "model": {"early_stop": 0.01, "mixed_precision": False}}
    assert type(parsed["batch_rays"]) is int and type(parsed["model"]["early_stop"]) is float
    assert TrainConfig.parse_overrides(["model.width=64"], model="nerf") == {"model": {"width": 64}}
    with pytest.raises(ValueError, match="no field 'batch'"):
        TrainConfig.parse_overrides(["batch=128"])
    with pytest.raises(ValueError, match="no field 'width'"):
        TrainConfig.parse_overrides(["model.width=64"])  # ngp has no width
    with pytest.raises(ValueError, match="batch_rays takes int values"):
        TrainConfig.parse_overrides(["batch_rays=1e3"])


def test_config_round_trips_and_reads_the_old_flat_format():
    config = TrainConfig.tuned("nerf", "cpu", seed=3)
    assert TrainConfig.from_dict(config.to_dict()) == config
    flat = {"model": "ngp", "lr": 0.02, "ngp_levels": 4, "ngp_marcher": "rounds", "adam_eps": 1e-12,
            "nerf_width": 99, "seed": 5}  # a format-2 checkpoint's config
    old = TrainConfig.from_dict(flat)
    assert (old.model.levels, old.model.adam_eps, old.lr, old.seed) == (4, 1e-12, 0.02, 5)
    assert TrainConfig.from_dict({"model": "nerf", "nerf_width": 32}).model == NeRFConfig(width=32)
    with pytest.raises(ValueError, match="unknown model"):
        TrainConfig.from_dict({"model": "mip"})
