"""`nerf-train`: headless training, evaluation and scene inspection."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from nerf.commands.cli import command_parser, fail, guarded_main, number
from nerf.commands.scene_report import run_inspect
from nerf.commands.train_flags import add_training_arguments
from nerf.commands.train_run import run_training
from nerf.commands.train_serve import run_serving
from nerf.distributed.group import RankLost, collective, end_rank, join, launched, leave
from nerf.distributed.launch import launch_local
from nerf.errors import InputError
from nerf.process.sources import CHECKPOINT, SCENE_FOLDER, needs_processing, processed_run
from nerf.remote.access import TOKEN_ENV
from nerf.runtime.signals import exit_soon

PROG = "nerf-train"


def build_parser() -> argparse.ArgumentParser:
    p = command_parser(
        prog=PROG,
        description="Train a NeRF headless, evaluate it and render videos; or --inspect a scene.",
    )
    p.add_argument("scene", nargs="?", default=None,
                   help="scene folder (Blender, transforms.json, LLFF or COLMAP), or a video or folder of photos "
                        "(cameras recovered first, as nerf-process does); default: the checkpoint's scene with "
                        "--resume, else the embedded scene")
    p.add_argument("--inspect", action="store_true", help="load the scene, print a summary and exit")
    p.add_argument("--json", action="store_true", help="with --inspect: print one JSON object")
    p.add_argument("--plot", default=None, metavar="FILE",
                   help="with --inspect: draw the cameras as frustums with the sparse points, from above "
                        "and from the side, as a PNG")
    add_training_arguments(p)
    p.add_argument("--eval-views", type=number(int, low=1), default=None, metavar="N",
                   help="evaluate only the first N test views (default: all)")
    p.add_argument("--video-frames", type=number(int, low=0, high=100_000), default=48, metavar="N",
                   help="frames of the turntable video (0: no video)")
    p.add_argument("--nproc", type=number(int, low=1, high=1024), default=None, metavar="N",
                   help="train over N processes on this machine, one per GPU or N CPU processes of --threads "
                        "each (see README: several processes or machines); under torchrun nerf-train joins "
                        "its run without this flag")
    remote = p.add_argument_group("serving (nerf-viewer --connect from another machine)")
    remote.add_argument("--serve", default=None, metavar="[HOST:]PORT",
                        help="train and serve the live model to nerf-viewer --connect (default host 127.0.0.1; "
                             "across the internet keep it and use an SSH tunnel, ssh -L); after the budget the "
                             "final model is served until Ctrl-C")
    remote.add_argument("--token", default=None,
                        help=f"the token viewers must give (default: ${TOKEN_ENV}, else a new one, printed once)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    code = guarded_main(PROG, lambda: _run(args, sys.argv[1:] if argv is None else argv))
    if argv is None:
        exit_soon()
        if launched():  # a rank: everything is written and the group left
            end_rank(code)
    return code


def _run(args: argparse.Namespace, argv: list[str]) -> int:
    if args.inspect:
        return run_inspect(args)
    if args.plot is not None:
        raise InputError("--plot", "draws a scene's cameras: use it with --inspect")
    if args.token is not None and args.serve is None:
        return fail(PROG, "--token: only with --serve")
    if launched() or args.nproc is not None:
        return _run_ranks(args, argv)
    args = _process_if_needed(args)
    return run_serving(args) if args.serve is not None else run_training(args)


def _run_ranks(args: argparse.Namespace, argv: list[str]) -> int:
    """--nproc N starts the ranks; a rank (started by it or by torchrun) joins the others and trains."""
    if needs_processing(args.scene):  # every rank would run COLMAP on the same video at once
        return fail(PROG, f"{args.scene}: recover its cameras first (nerf-process, or nerf-train without ranks), "
                          "then train the scene folder over ranks")
    if not launched():
        return launch_local(args.nproc, argv, args.threads)
    try:
        with collective():
            group = join(args.device)
        return run_serving(args, group) if args.serve is not None else run_training(args, group)
    except RankLost as e:
        return fail(PROG, f"cannot join the distributed run ({e})")
    finally:
        leave()


def _process_if_needed(args: argparse.Namespace) -> argparse.Namespace:
    """`nerf-train clip.mp4` (or a folder of photos): the cameras are recovered first, as
    `nerf-viewer clip.mp4` does (nerf.process.sources): into <run folder>/scene, once; the same
    source again continues the run trained there (its checkpoint, as --resume would)."""
    if not needs_processing(args.scene):
        return args
    # pycolmap takes seconds to import: only a video or photos need it
    from nerf.process.pipeline import process
    from nerf.runtime.progress import StageBar

    def run_process(source: Path, scene: Path) -> bool:
        print(f"{PROG}: recovering the cameras of {source} first (as nerf-process does)", file=sys.stderr)
        process(source, scene, report=StageBar())
        return True

    run = processed_run(Path(args.scene), args.out, args.overwrite, run_process)
    checkpoint = run / CHECKPOINT
    resume = args.resume or (str(checkpoint) if checkpoint.is_file() else None)
    return argparse.Namespace(**{**vars(args), "scene": str(run / SCENE_FOLDER), "out": str(run), "resume": resume})


if __name__ == "__main__":
    sys.exit(main())
