"""TrainConfig: how a model is trained, with the model's own config inside.

Training options (learning rate and its schedule, batch, seed, backgrounds, NaN recovery) are
fields here; everything about the model is its config dataclass, owned by the model
(nerf.models.ngp.NGPConfig, nerf.models.vanilla.NeRFConfig) and held in `model`.
`TrainConfig.tuned(name, device, scene_type)` applies the values each model measured for a device
kind and a scene type. Checkpoints store `to_dict()`; `from_dict` also reads the flat format of
older checkpoints (one dict with `ngp_` / `nerf_` prefixed fields).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from nerf.models.ngp import NGPConfig
from nerf.models.registry import MODEL_NAMES, ModelConfig, config_class

LEGACY_PREFIXES = {"ngp": "ngp_", "nerf": "nerf_"}
# fields older checkpoints kept at the top level that now belong to the ngp model's config
LEGACY_NGP_FIELDS = ("adam_eps", "weight_decay", "mixed_precision")


@dataclass(frozen=True)
class TrainConfig:
    model: ModelConfig = field(default_factory=NGPConfig)  # the model and its settings; model.name says which
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
    nan_snapshot_every: int = 50  # steps between in-memory snapshots used to recover from NaN
    render_chunk: int = 8192  # rays per chunk when rendering whole images (bounds memory)

    @property
    def model_name(self) -> str:
        return self.model.name

    @classmethod
    def tuned(cls, name: str = "ngp", device: str = "cpu", scene_type: str = "bounded", *,
              frontal: bool = False, model: dict | None = None, **overrides) -> "TrainConfig":
        """Model `name`'s measured values for a device kind ("cpu" | "cuda"), a scene type
        (Scene.scene_type) and whether its cameras face one way (Scene.faces_one_way), then the
        overrides: `model` for the model's config fields, the rest for this dataclass's. ValueError
        for an unknown model; TypeError for an unknown field."""
        model_config, training = config_class(name).tuned(device, scene_type, frontal)
        if model:
            model_config = dataclasses.replace(model_config, **model)
        return cls(model=model_config, **{**training, **overrides})

    @classmethod
    def parse_overrides(cls, pairs: list[str], model: str = "ngp") -> dict:
        """["batch_rays=128", "model.early_stop=0.01"] (the benches' --set) -> keyword arguments of
        `tuned` (model fields under "model"), typed as their defaults; ValueError naming the pair for an
        unknown field or a value of the wrong type."""
        out: dict = {}
        for pair in pairs:
            key, _, value = pair.partition("=")
            target, name = (config_class(model), key[len("model."):]) if key.startswith("model.") else (cls, key)
            types = {f.name: f.type for f in dataclasses.fields(target) if f.name != "model"}
            if name not in types:
                raise ValueError(f"{pair}: {target.__name__} has no field {name!r}")
            kind = {"int": int, "float": float, "bool": bool, "str": str}[str(types[name])]
            try:
                parsed = value in ("1", "true", "True") if kind is bool else kind(value)
            except ValueError:
                raise ValueError(f"{pair}: {name} takes {kind.__name__} values") from None
            if target is cls:
                out[name] = parsed
            else:
                out.setdefault("model", {})[name] = parsed
        return out

    def replace(self, **changes) -> "TrainConfig":
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["model"] = {"name": self.model.name, **d["model"]}
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        """A config from to_dict()'s output, or from an older checkpoint's flat dict. ValueError for
        an unknown model, TypeError for values that cannot make one."""
        d = dict(d)
        model = d.pop("model", "ngp")
        if isinstance(model, str):  # the flat format: model fields carried a prefix
            if model not in MODEL_NAMES:
                raise ValueError(f"unknown model {model!r} (this version has {', '.join(MODEL_NAMES)})")
            prefix = LEGACY_PREFIXES[model]
            model = {"name": model, **{k[len(prefix):]: v for k, v in d.items() if k.startswith(prefix)}}
            if model["name"] == "ngp":
                model.update({k: d[k] for k in LEGACY_NGP_FIELDS if k in d})
        if not isinstance(model, dict):
            raise TypeError(f"'model' must be a name or a dict, not {type(model).__name__}")
        model = dict(model)
        model_cls = config_class(str(model.pop("name", "ngp")))
        model_names = {f.name for f in dataclasses.fields(model_cls)}
        names = {f.name for f in dataclasses.fields(cls)} - {"model"}
        return cls(model=model_cls(**{k: v for k, v in model.items() if k in model_names}),
                   **{k: v for k, v in d.items() if k in names})
