"""`nerf-train`: headless training, evaluation and scene inspection."""
from __future__ import annotations

import argparse
import sys

from nerf.commands.cli import command_parser
from nerf.runtime.signals import exit_soon


def build_parser() -> argparse.ArgumentParser:
    p = command_parser(
        prog="nerf-train",
        description="Train a NeRF headless, evaluate it and render videos; or --inspect a scene.",
    )
    p.add_argument("scene", nargs="?", default=None,
                   help="scene folder (Blender, transforms.json or LLFF); default: the embedded scene")
    p.add_argument("--inspect", action="store_true", help="load the scene, print a summary and exit")
    p.add_argument("--json", action="store_true", help="with --inspect: print one JSON object")
    p.add_argument("--downscale", type=int, default=1, metavar="K",
                   help="downscale images by K at load time (area resampling)")
    p.add_argument("--llff-factor", type=int, default=4, metavar="N",
                   help="LLFF: read images_N/ (default 4, as in the paper)")
    p.add_argument("--scene-type", choices=("bounded", "unbounded", "forward"), default=None,
                   help="space to train in (default: chosen from the files, see --inspect): bounded "
                        "(object on a background), unbounded (contracted, nothing clipped), forward (NDC)")
    p.add_argument("--model", choices=("ngp", "nerf"), default=None, help="ngp (default) or nerf")
    budget = p.add_mutually_exclusive_group()
    budget.add_argument("--steps", type=int, default=None, help="train for N steps")
    budget.add_argument("--minutes", type=float, default=None, help="train for M minutes of wall time")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    p.add_argument("--out", default=None, metavar="DIR", help="output folder (default runs/<scene>-<time>)")
    p.add_argument("--resume", default=None, metavar="CKPT", help="resume from a checkpoint")
    p.add_argument("--seed", type=int, default=None, help="seeds the weights and the rays (default 0)")
    p.add_argument("--batch-rays", type=int, default=None, metavar="N",
                   help="fixed rays per training step (default: the model's tuned value for the device; "
                        "ngp on CUDA adapts it to about 2^18 samples per step)")
    p.add_argument("--distortion", type=float, default=None, metavar="W",
                   help="ngp, unbounded scenes: weight of the distortion loss that gathers each ray's weight onto "
                        "its surface (default: 0.01 on a CPU, 0 on CUDA; 0 turns it off)")
    p.add_argument("--eval-views", type=int, default=None, metavar="N",
                   help="evaluate only the first N test views (default: all)")
    p.add_argument("--threads", type=int, default=None, metavar="N",
                   help="CPU threads for torch (default: torch's choice; 1 can be faster on a busy CPU)")
    p.add_argument("--marcher", choices=("rounds", "dense"), default="rounds",
                   help="ngp: march occupied samples in rounds (default) or every step densely (the reference)")
    p.add_argument("--video-frames", type=int, default=48, metavar="N",
                   help="frames of the turntable video (0: no video)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.inspect:
        from nerf.commands.scene_report import run_inspect
        return run_inspect(args)
    try:
        from nerf.commands.train_run import run_training  # imports torch: seconds
    except KeyboardInterrupt:
        print("nerf-train: interrupted while starting; nothing written", file=sys.stderr)
        return 130
    code = run_training(args)
    if argv is None:
        exit_soon()
    return code


if __name__ == "__main__":
    sys.exit(main())
