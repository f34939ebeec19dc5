"""The run description and the one way to open a run.

A `RunSpec` says everything a user chose: the scene and how to read it, the model and the
training settings that differ from its tuned defaults, the checkpoint to continue, the budget and
the run folder. `open_run(spec)` turns it into a `Run`: it reads the checkpoint once (if any), checks
the flags against it, loads the scene, builds the Trainer (this module is the only place one is
made) and picks the run folder. nerf-train, the viewer (its scene, "switch model" and "load
checkpoint"), nerf-render, nerf-export and nerf-eval all open their runs here, so a viewer session
reproduces a headless run flag for flag.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import torch

from assets import default_scene_path
from nerf.data.formats.registry import load_scene
from nerf.data.scene import Scene
from nerf.device import pick_device
from nerf.errors import InputError
from nerf.files import new_run_folder
from nerf.train.checkpoint import check_resume_flags, check_scene, checkpoint_config, read_checkpoint
from nerf.train.config import TrainConfig
from nerf.train.loop import Budget
from nerf.train.trainer import Trainer

RUN_FILES = ("checkpoint.pt", "log.jsonl", "metrics.json")  # a folder holding one of these holds a run
DEFAULT_AUTOSAVE_MINUTES = 5.0


@dataclass(frozen=True)
class SceneOptions:
    """Which scene and how to read it."""

    path: str | None = None  # scene folder; None: the checkpoint's scene, else the embedded default scene
    downscale: int | None = None  # images are shrunk by this factor at load time; None: the checkpoint's, else 1
    llff_factor: int | None = None  # LLFF: read images_N/; None: the checkpoint's, else 4
    scene_type: str | None = None  # "bounded" | "unbounded" | "forward"; None: chosen from the files
    train_share: tuple[int, int] | None = None  # (rank, world): a distributed rank loads its share of the train views


@dataclass(frozen=True)
class RunSpec:
    """Everything a run is made of that the user chose; None leaves a value to the model's tuned
    defaults (or, on resume, to the checkpoint)."""

    scene: SceneOptions = SceneOptions()
    model: str | None = None  # "ngp" | "nerf"; None: the checkpoint's, else "ngp"
    seed: int | None = None  # None: the checkpoint's, else 0
    batch_rays: int | None = None  # a fixed batch instead of the tuned one (and no adaptive batch)
    distortion: float | None = None  # ngp, unbounded scenes: the distortion loss's weight
    overrides: dict = field(default_factory=dict)  # more TrainConfig.tuned keywords (the benches' --set)
    resume: str | None = None  # a checkpoint to continue
    device: str = "auto"  # "auto" | "cpu" | "cuda" | "cuda:N"
    steps: int | None = None  # this many more steps ...
    minutes: float | None = None  # ... or minutes of training time (None, None: no budget)
    out: str | None = None  # run folder; None: runs/<scene>-<date>-<time>
    overwrite: bool = False  # an --out that holds another run may be replaced
    autosave_minutes: float = DEFAULT_AUTOSAVE_MINUTES  # checkpoint every this much training time (0: off)

    def replace(self, **changes) -> "RunSpec":
        return dataclasses.replace(self, **changes)


@dataclass
class Run:
    """An opened run: the scene, its trainer on its device, the budget and the run folder (not yet
    created: the caller checks it with nerf.files.check_output_dir when it is about to write)."""

    spec: RunSpec
    scene: Scene
    trainer: Trainer
    device: torch.device
    budget: Budget
    out: Path


def open_run(spec: RunSpec, *, scene: Scene | None = None, device: torch.device | None = None) -> Run:
    """The run `spec` describes. `scene`: one already loaded (the viewer switching model or loading a
    checkpoint on the scene it shows). InputError (one line naming the file or flag) for anything
    that does not fit: a bad scene or checkpoint, a flag the checkpoint's run does not share, an
    --out that holds another run."""
    device = device or pick_device(spec.device)
    payload = None
    if spec.resume is not None:
        payload = read_checkpoint(spec.resume)  # the file is read once, here
        check_resume_flags(payload, spec.resume, model=spec.model, seed=spec.seed, batch_rays=spec.batch_rays,
                           distortion=spec.distortion)
    options = _scene_options(spec.scene, payload)
    if scene is None:
        scene = _load_scene(options)
    trainer = _trainer(spec, scene, options, device, payload)
    budget = Budget.more(trainer, spec.steps, None if spec.minutes is None else spec.minutes * 60.0)
    return Run(spec, scene, trainer, device, budget, run_folder(spec, scene.name))


def _scene_options(options: SceneOptions, payload: dict | None) -> SceneOptions:
    """How to read the scene: what the spec gives, the rest as the checkpoint's run read it (its
    scene folder too, when the spec names none), the rest the defaults."""
    meta, root = ({}, None) if payload is None else (payload.get("meta", {}), payload["scene"].get("root"))
    return SceneOptions(options.path if options.path is not None else root,
                        options.downscale or int(meta.get("downscale", 1)),
                        options.llff_factor or int(meta.get("llff_factor", 4)),
                        options.scene_type or meta.get("scene_type"), options.train_share)


def _load_scene(options: SceneOptions) -> Scene:
    path = options.path if options.path is not None else default_scene_path()
    try:
        return load_scene(path, downscale=options.downscale, llff_factor=options.llff_factor,
                          scene_type=options.scene_type, train_share=options.train_share)
    except OSError as exc:  # a folder that vanished or cannot be read
        raise InputError(exc.filename or path, exc.strerror or str(exc)) from None


def _trainer(spec: RunSpec, scene: Scene, options: SceneOptions, device: torch.device,
             payload: dict | None) -> Trainer:
    """The one place a Trainer is made: new from the spec, or continuing the checkpoint's run."""
    if payload is not None:
        config = checkpoint_config(payload, spec.resume)
        check_scene(payload, scene, spec.resume)
    else:
        config = TrainConfig.tuned(spec.model or "ngp", device.type, scene.scene_type, frontal=scene.faces_one_way,
                                   **_overrides(spec))
    trainer = Trainer(scene, config, device)
    trainer.meta = {"downscale": options.downscale, "llff_factor": options.llff_factor}
    if payload is not None:
        trainer.restore(payload["state"], spec.resume)
    return trainer


def _overrides(spec: RunSpec) -> dict:
    """TrainConfig.tuned keywords for the spec's choices."""
    overrides = {k: v for k, v in spec.overrides.items() if k != "model"}
    model = dict(spec.overrides.get("model", {}))
    overrides["seed"] = 0 if spec.seed is None else spec.seed
    if spec.batch_rays is not None:
        overrides.update(batch_rays=spec.batch_rays, target_samples=0)  # a fixed batch
    if spec.distortion is not None:
        if (spec.model or "ngp") != "ngp":
            raise InputError("--distortion", "applies to the ngp model only")
        model["distortion"] = spec.distortion
    return {**overrides, "model": model}


def run_folder(spec: RunSpec, scene_name: str) -> Path:
    """The run folder: --out, or runs/<scene>-<date>-<time>. An --out that already holds a run is
    refused unless the spec continues that run's own checkpoint or says --overwrite: a second run
    there would replace its checkpoint and mix its log."""
    if spec.out is None:
        return new_run_folder(scene_name)
    out = Path(spec.out)
    held = [name for name in RUN_FILES if (out / name).is_file()]
    continues = spec.resume is not None and Path(spec.resume).resolve().parent == out.resolve()
    if held and not continues and not spec.overwrite:
        resume = f"continue it with --resume {out / 'checkpoint.pt'}, " if "checkpoint.pt" in held else ""
        raise InputError(out, f"holds another run ({', '.join(held)}); {resume}choose another --out, or pass "
                              "--overwrite to replace it")
    return out


def start_run_files(run: Run) -> None:
    """Before the first write into the run folder: an --overwrite run starts a log of its own."""
    if run.spec.overwrite and not (run.spec.resume and Path(run.spec.resume).resolve().parent == run.out.resolve()):
        for name in ("log.jsonl", "metrics.json"):
            (run.out / name).unlink(missing_ok=True)


def load_trained(checkpoint: str | Path, device: torch.device | str = "cpu", scene_dir: str | None = None, *,
                 scene: Scene | None = None) -> Trainer:
    """The Trainer saved in `checkpoint`, on `scene`, on the scene read from `scene_dir` (as the
    checkpoint read it), or on its recorded scene (nerf-render, nerf-export, nerf-eval)."""
    spec = RunSpec(scene=SceneOptions(scene_dir), resume=str(checkpoint))
    return open_run(spec, scene=scene, device=torch.device(device)).trainer
