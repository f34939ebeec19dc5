"""TrainConfig: every knob of training, one frozen dataclass with a reason on each field.

Lives apart from the Trainer so models can read it without importing it. Fields prefixed `ngp_` /
`nerf_` belong to one model; `TrainConfig.for_model(name, device)` applies the tuned defaults each
model class gives for a device kind (`RadianceModel.defaults`).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from nerf.models.base import model_class


@dataclass(frozen=True)
class TrainConfig:
    model: str = "ngp"  # "ngp" (hash grid + occupancy grid, default) or "nerf" (original MLP)
    lr: float = 1e-2  # Adam learning rate at step 0; hash tables like large steps (instant-NGP: 1e-2)
    lr_decay_steps: int = 4000  # lr is multiplied by lr_decay once per this many steps (exponential)
    lr_decay: float = 0.33  # fine detail needs small steps late in training
    lr_min_factor: float = 0.03  # floor of the decay (in units of lr) so long runs keep learning
    batch_rays: int = 4096  # rays per step (the first step's, when target_samples adapts it)
    target_samples: int = 0  # > 0: rays per step adapt so a step has about this many samples (instant-NGP: 2^18)
    max_batch_rays: int = 1 << 17  # cap of the adapted batch (rays that mostly miss would ask for millions)
    lr_schedule: str = "exp"  # "exp": x lr_decay per lr_decay_steps; "budget": x lr_decay at 50/75/90 % of the run
    seed: int = 0  # seeds the model init and the ray sampler; same seed + config = same run
    train_background: str = "random"  # RGBA scenes: random colour per ray stops density leaking
    eval_background: str = "white"  # "white" | "black": background of RGBA targets in evaluation
    adam_eps: float = 1e-15  # hash entries get rare, tiny gradients; a big eps would mute them
    weight_decay: float = 1e-6  # on MLP weights only (instant-NGP); keeps the MLP from blowing up
    nan_snapshot_every: int = 50  # steps between in-memory snapshots used to recover from NaN
    render_chunk: int = 8192  # rays per chunk when rendering whole images (bounds memory)
    mixed_precision: bool = False  # autocast the MLPs to bf16 on CUDA (ignored on CPU); off: fp32 with TF32 matmuls

    # ngp: hash grid (instant-NGP section 3)
    ngp_levels: int = 16  # resolution levels
    ngp_features: int = 2  # features per level
    ngp_log2_table: int = 19  # table size per level 2^19 (paper's quality setting)
    ngp_base_res: int = 16  # coarsest grid
    ngp_max_res: int = 2048  # finest grid across the scene cube; detail of ~cube/2048
    ngp_hidden: int = 64  # width of the density and colour MLPs
    ngp_geo_features: int = 15  # density MLP outputs 1 + this (fed to the colour MLP)
    # ngp: occupancy grid and marching
    ngp_grid_res: int = 128  # occupancy cells per axis over the scene cube
    ngp_grid_every: int = 16  # steps between occupancy updates (instant-NGP)
    ngp_grid_warmup: int = 256  # steps during which every cell is re-evaluated at each update
    ngp_grid_decay: float = 0.95  # EMA decay of cell densities
    # > 0: an emptied cell is culled after at most this many refreshes (0: as instant-NGP, no cap)
    ngp_grid_memory: int = 0
    # min optical thickness sigma*step of an occupied cell (capped by the mean density)
    ngp_grid_threshold: float = 0.01
    ngp_march_steps: int = 1024  # steps across the cube diagonal: step = 2 sqrt(3) bound / this
    ngp_early_stop: float = 1e-4  # stop a ray once its transmittance falls below this
    ngp_cone_angle: float = 1 / 128  # unbounded scenes: step = this x distance (at least the cube's step)
    ngp_distortion: float = 0.0  # unbounded scenes: weight of mip-NeRF 360's distortion loss against haze (0: off)
    ngp_marcher: str = "rounds"  # "rounds": occupied samples only, opaque rays dropped; "dense": the reference
    ngp_first_round: int = 4  # samples per ray of the batch in each marching round (nerf.volume.rounds)

    # nerf: original NeRF (Mildenhall et al. 2020)
    nerf_coarse_samples: int = 64  # stratified samples per ray (paper: 64)
    nerf_fine_samples: int = 128  # importance samples per ray (paper: 128)
    nerf_pos_freqs: int = 10  # positional encoding frequencies of x (paper: 10)
    nerf_dir_freqs: int = 4  # of the view direction (paper: 4)
    nerf_width: int = 256  # MLP width (paper: 256)
    nerf_depth: int = 8  # MLP layers before the density head (paper: 8, skip at 4)

    @classmethod
    def for_model(cls, model: str = "ngp", device: str = "cpu", scene_type: str = "bounded",
                  **overrides) -> "TrainConfig":
        """Tuned defaults for `model` on a device kind ("cpu" | "cuda") and a scene type (Scene.scene_type),
        then `overrides`."""
        base = dict(model=model, **model_class(model).defaults(device, scene_type))
        base.update(overrides)
        return cls(**base)

    @classmethod
    def parse_overrides(cls, pairs: list[str]) -> dict:
        """["batch_rays=128", "ngp_early_stop=0.01"] (the benches' --set) -> fields typed as their
        defaults; ValueError naming the pair for an unknown field or a value of the wrong type."""
        types = {f.name: type(f.default) for f in dataclasses.fields(cls)}
        out = {}
        for pair in pairs:
            key, _, value = pair.partition("=")
            if key not in types:
                raise ValueError(f"{pair}: TrainConfig has no field {key!r}")
            kind = types[key]
            try:
                out[key] = value in ("1", "true", "True") if kind is bool else kind(value)
            except ValueError:
                raise ValueError(f"{pair}: {key} takes {kind.__name__} values") from None
        return out

    def replace(self, **changes) -> "TrainConfig":
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})

