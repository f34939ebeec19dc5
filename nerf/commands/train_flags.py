"""The training flags, defined once: nerf-train and nerf-viewer both take them, and both turn them
into the same run description (nerf.train.run.RunSpec), so a viewer session reproduces a headless
run flag for flag. Every number is checked here (finite, in range) by argparse, before anything
heavy happens.
"""
from __future__ import annotations

import argparse
import math

from nerf.commands.cli import add_device_argument, number
from nerf.errors import InputError
from nerf.models.registry import MODEL_NAMES
from nerf.train.config import TrainConfig
from nerf.train.run import DEFAULT_AUTOSAVE_MINUTES, RunSpec, SceneOptions

MAX_DOWNSCALE = 64
MAX_BATCH_RAYS = 1 << 22  # 4 M rays a step: well past any GPU's useful batch


def add_training_arguments(p: argparse.ArgumentParser) -> None:
    """The flags of a run (the scene or checkpoint argument is the command's own)."""
    scene = p.add_argument_group("scene")
    scene.add_argument("--downscale", type=number(int, low=1, high=MAX_DOWNSCALE), default=None, metavar="K",
                       help="downscale images by K at load time (area resampling; default 1, or the checkpoint's)")
    scene.add_argument("--llff-factor", type=number(int, low=1, high=MAX_DOWNSCALE), default=None, metavar="N",
                       help="LLFF: read images_N/ (default 4, as in the paper)")
    scene.add_argument("--scene-type", choices=("bounded", "unbounded", "forward"), default=None,
                       help="space to train in (default: chosen from the files, see nerf-train --inspect): bounded "
                            "(object on a background), unbounded (contracted, nothing clipped), forward (NDC)")
    train = p.add_argument_group("training")
    train.add_argument("--model", choices=MODEL_NAMES, default=None,
                       help="ngp (instant-NGP hash grid, default) or nerf (the original NeRF)")
    budget = train.add_mutually_exclusive_group()
    budget.add_argument("--steps", type=number(int, low=1), default=None, metavar="N",
                        help="train for N steps (on --resume: N more)")
    budget.add_argument("--minutes", type=number(float, low=0, low_open=True), default=None, metavar="M",
                        help="train for M minutes of training time (evaluation and saving not counted; "
                             "on --resume: M more)")
    add_device_argument(train)
    train.add_argument("--resume", default=None, metavar="CKPT", help="continue the run saved in a checkpoint")
    train.add_argument("--seed", type=number(int, low=0, high=2**63 - 1), default=None,
                       help="seeds the weights and the rays (default 0)")
    train.add_argument("--batch-rays", type=number(int, low=1, high=MAX_BATCH_RAYS), default=None, metavar="N",
                       help="fixed rays per training step (default: the model's tuned value for the device; "
                            "ngp on CUDA adapts it to about 2^18 samples per step)")
    train.add_argument("--distortion", type=number(float, low=0, high=10), default=None, metavar="W",
                       help="ngp, unbounded scenes: weight of the distortion loss that gathers each ray's weight "
                            "onto its surface (default on a CPU: 0.01 when the training cameras all face one "
                            "way, as in a frontal handheld capture, else 0; on CUDA 0; 0 turns it off)")
    train.add_argument("--threads", type=number(int, low=1, high=1024), default=None, metavar="N",
                       help="CPU threads for torch (default: torch's choice; 1 can be faster on a busy CPU)")
    train.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                       help="override a training setting of a new run (model settings as model.FIELD, e.g. "
                            "model.distortion=0): how bench/scene_suite.py tries a candidate default; repeatable")
    output = p.add_argument_group("output")
    output.add_argument("--out", default=None, metavar="DIR",
                        help="run folder (default runs/<scene>-<date>-<time>); one that holds another run is "
                             "refused unless --overwrite")
    output.add_argument("--overwrite", action="store_true", help="let --out replace the run it holds")
    output.add_argument("--autosave", type=number(float, low=0), default=DEFAULT_AUTOSAVE_MINUTES, metavar="MIN",
                        help=f"save checkpoint.pt in the run folder every MIN minutes of training (default "
                             f"{DEFAULT_AUTOSAVE_MINUTES:g}; 0: only at the end)")


def _overrides(pairs: list[str], model: str | None, resume: str | None) -> dict:
    """--set pairs as TrainConfig.tuned keywords; InputError naming the pair that does not fit."""
    if not pairs:
        return {}
    if resume is not None:
        raise InputError("--set", "a resumed run keeps its checkpoint's settings; --set applies to new runs")
    try:
        overrides = TrainConfig.parse_overrides(pairs, model=model or "ngp")
    except ValueError as exc:
        raise InputError("--set", str(exc)) from None
    for value in [*overrides.get("model", {}).values(), *(v for k, v in overrides.items() if k != "model")]:
        if isinstance(value, float) and not math.isfinite(value):
            raise InputError("--set", f"{value} is not a finite number")
    return overrides


def run_spec(args: argparse.Namespace, scene: str | None, resume: str | None = None) -> RunSpec:
    """The run description of parsed training flags; `scene` the scene folder argument (None: the
    checkpoint's or the default), `resume` a checkpoint given as the command's argument."""
    return RunSpec(scene=SceneOptions(scene, args.downscale, args.llff_factor, args.scene_type),
                   model=args.model, seed=args.seed, batch_rays=args.batch_rays, distortion=args.distortion,
                   overrides=_overrides(args.set, args.model, resume or args.resume),
                   resume=resume or args.resume, device=args.device, steps=args.steps, minutes=args.minutes,
                   out=args.out, overwrite=args.overwrite, autosave_minutes=args.autosave)
