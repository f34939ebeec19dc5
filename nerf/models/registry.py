"""The models by name: their classes and config dataclasses, and `build_model`.

The one module that imports every model, so the base class never has to (no import cycle).
"""
from __future__ import annotations

import torch

from nerf.data.scene import Scene
from nerf.models.base import RadianceModel
from nerf.models.ngp import NGPConfig, NGPModel
from nerf.models.vanilla import NeRFConfig, VanillaNeRF

ModelConfig = NGPConfig | NeRFConfig
MODELS: dict[str, tuple[type[RadianceModel], type]] = {
    "ngp": (NGPModel, NGPConfig),  # instant-NGP: hash grid + occupancy grid (default)
    "nerf": (VanillaNeRF, NeRFConfig),  # the original NeRF: coarse + fine MLPs
}
MODEL_NAMES = tuple(MODELS)


def config_class(name: str) -> type:
    """The config dataclass of model `name`; ValueError naming the choices for an unknown one."""
    if name not in MODELS:
        raise ValueError(f"unknown model '{name}' (choose from {', '.join(MODEL_NAMES)})")
    return MODELS[name][1]


def build_model(scene: Scene, config: ModelConfig, device: torch.device | str, seed: int = 0) -> RadianceModel:
    """A fresh model for `config` (its class picked by config.name) on `scene`, on `device`."""
    model_cls = MODELS[config.name][0]
    model = model_cls(scene.bound, scene.near, scene.far, scene.ndc, config, unbounded=scene.unbounded, seed=seed)
    return model.to(device)
