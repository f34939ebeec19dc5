"""`nerf-render CHECKPOINT`: a video (or a folder of PNGs) along a camera path, an orbit or a dataset split.

    nerf-render run/checkpoint.pt --camera-path camera_path.json --out video.mp4
    nerf-render run/checkpoint.pt --orbit 4,1.5,6 --resolution 512x512 --out orbit.mp4
    nerf-render run/checkpoint.pt --dataset test --with-gt --out frames/

Path files and --orbit are in the scene file's own coordinates (nerf.data.paths.path_files). Ctrl-C or
SIGTERM stops the render and keeps the frames written so far (a video is closed with them, under
its final name); an error drops the unfinished video. Either way no temporary file and no ffmpeg
child is left.
"""
from __future__ import annotations

import argparse
import signal
import sys

import numpy as np
import torch

from nerf.commands.cli import add_device_argument, command_parser, fail, guarded_main, number
from nerf.train.batching import BACKGROUNDS
from nerf.train.run import load_trained
from nerf.device import pick_device
from nerf.data.cameras import fov_deg, resized_cameras
from nerf.data.crop import CropBox
from nerf.distributed.group import end_rank, launched
from nerf.distributed.launch import launch_local
from nerf.data.paths.keyframes import MAX_FRAMES, MAX_SIDE
from nerf.errors import InputError
from nerf.export.render_path import OUTPUTS, path_cameras, render_frames
from nerf.runtime.progress import Progress
from nerf.runtime.stages import Stage
from nerf.runtime.signals import StopSignals, Stopped, exit_soon

PROG = "nerf-render"
MODULE = "nerf.commands.render"  # what --nproc starts once a rank
MAX_FPS = 1000.0  # beyond this no player shows the frames; a typo (1e9) would only make a broken file


def build_parser() -> argparse.ArgumentParser:
    p = command_parser(prog=PROG, description="Render a trained NeRF along a camera path, an orbit "
                                                       "or the views of a dataset split.")
    p.add_argument("checkpoint", help="checkpoint.pt written by nerf-train or the viewer")
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--camera-path", metavar="FILE", help="nerfstudio camera_path.json (its camera_path[] frames "
                                                         "as given, else its keyframes splined as nerfstudio does)")
    what.add_argument("--orbit", metavar="R,H,S", help="a circle of radius R, height H above the scene centre "
                                                      "(scene file units, along the cameras' mean up), S seconds")
    what.add_argument("--dataset", choices=("train", "test"), help="every view of this split")
    p.add_argument("--dataparser-transforms", metavar="FILE",
                   help="with --camera-path: a path made in nerfstudio's viewer on a nerfstudio-trained run; "
                        "FILE is that run's dataparser_transforms.json, which takes the path back to the scene's frame")
    p.add_argument("--with-gt", action="store_true", help="with --dataset: each frame beside its ground truth")
    p.add_argument("--out", required=True, help="video.mp4 / video.gif, or a folder for numbered PNGs")
    p.add_argument("--resolution", metavar="WxH", help="frame size (default: the path's, or the training views')")
    p.add_argument("--fps", type=number(float, low=0, low_open=True, high=MAX_FPS), default=None,
                   help="frames per second (default: the path's, else 30)")
    p.add_argument("--output", choices=OUTPUTS, default="rgb", help="colour, depth (turbo colour map) or opacity")
    p.add_argument("--downscale", type=number(int, low=1, high=64), default=1, metavar="K",
                   help="render 1/K as many pixels on a side")
    p.add_argument("--crop", metavar="X0,Y0,Z0,X1,Y1,Z1",
                   help="show only this box (normalised world, as the viewer's sliders); default: the path's")
    p.add_argument("--scene", default=None, help="scene folder, if it moved since training")
    add_device_argument(p)
    p.add_argument("--nproc", type=number(int, low=1, high=1024), default=None, metavar="N",
                   help="render over N processes on this machine (one GPU each on CUDA), each taking every N-th "
                        "frame; under torchrun nerf-render shares the frames out without this flag")
    return p


def _resolution(text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        w = h = 0
    if not (1 <= w <= MAX_SIDE and 1 <= h <= MAX_SIDE):
        raise InputError("--resolution", f"expected WxH with integers in 1..{MAX_SIDE}, got '{text}'")
    return w, h


def _orbit(text: str, scene, size: tuple[int, int], fps: float):
    from nerf.data.paths.keyframes import orbit_path
    try:
        radius, height, seconds = (float(v) for v in text.split(","))
    except ValueError:
        raise InputError("--orbit", f"expected R,H,S (three numbers), got '{text}'") from None
    if not (0 < radius < 1e30 and 0 < seconds and np.isfinite(height)):
        raise InputError("--orbit", "radius and seconds must be positive finite numbers")
    if seconds * fps > MAX_FRAMES:
        raise InputError("--orbit", f"{seconds:g} s at {fps:g} fps is over {MAX_FRAMES} frames")
    cams = scene.split("train").cameras
    up = cams.c2w[:, :3, 1].double().mean(0).numpy()
    fov = fov_deg(float(cams.fy[0]), cams.height)
    return orbit_path((0.0, 0.0, 0.0), up, radius / scene.scale, height / scene.scale, seconds, fov, fps,
                      size[0], size[1])


def plan(args, trainer):
    """(cameras, fps, crop, ground_truth or None) for the parsed arguments."""
    from nerf.data.paths.path_files import read_camera_path, read_dataparser_transforms
    scene = trainer.scene
    size = _resolution(args.resolution)
    crop = CropBox.parse(args.crop) if args.crop else None
    if (crop is not None or args.camera_path or args.orbit) and scene.ndc:
        raise InputError(scene.root, "forward-facing (LLFF) scenes render only with --dataset")
    if args.dataset:
        split = scene.split(args.dataset)
        cams, d = split.cameras, args.downscale
        if d > 1:  # intrinsics divided by d exactly, as the loaders' --downscale does
            cams = resized_cameras(cams, max(1, cams.width // d), max(1, cams.height // d), 1.0 / d, 1.0 / d)

        def truth(i):
            img = trainer.target_image(args.dataset, i).permute(2, 0, 1)[None]
            return torch.nn.functional.avg_pool2d(img, args.downscale)[0].permute(1, 2, 0)
        return cams, args.fps or 10.0, crop, truth if args.with_gt else None
    if args.camera_path:
        dataparser = None if args.dataparser_transforms is None else \
            read_dataparser_transforms(args.dataparser_transforms, scene.root)
        path = read_camera_path(args.camera_path, scene.scale, scene.offset, dataparser)
        if args.fps is not None:
            from dataclasses import replace
            path = replace(path, fps=args.fps)
        crop = crop or path.crop
    else:
        train = scene.split("train").cameras
        path = _orbit(args.orbit, scene, size or (train.width, train.height), args.fps or 30.0)
    w, h = size or (path.width, path.height)
    if path.frame_count() > MAX_FRAMES:
        raise InputError(args.camera_path or "--orbit", f"{path.frame_count()} frames; at most {MAX_FRAMES}")
    return path_cameras(path, max(1, w // args.downscale), max(1, h // args.downscale)), path.fps, crop, None


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.nproc is not None and not launched():
        code = guarded_main(PROG, lambda: launch_local(args.nproc, sys.argv[1:] if argv is None else argv,
                                                         module=MODULE))
        exit_soon()
        return code
    with StopSignals() as stop:
        if launched():  # a rank of torchrun or of --nproc: this rank's share of the frames
            from nerf.commands.render_ranks import render_over_ranks
            code = guarded_main(PROG, lambda: render_over_ranks(args, stop, plan, check_flags))
        else:
            code = guarded_main(PROG, lambda: _render(args, stop))
    exit_soon()
    if argv is None and launched():  # a rank: the video is written and the group left
        end_rank(code)
    return code


def check_flags(args) -> None:
    """InputError for flags that do not go together."""
    if args.dataparser_transforms and not args.camera_path:
        raise InputError("--dataparser-transforms", "only with --camera-path")
    if args.with_gt and not args.dataset:
        raise InputError("--with-gt", "only with --dataset")
    if args.resolution and args.dataset:
        raise InputError("--resolution", "not with --dataset, whose views keep their size (use --downscale)")


def _render(args, stop: StopSignals) -> int:
    from nerf.export.frames import FrameSink
    try:
        with stop.immediate():  # nothing to keep yet: a signal ends the loading at once
            check_flags(args)
            sink = FrameSink(args.out, fps=1.0)  # fails now if --out cannot be written
            trainer = load_trained(args.checkpoint, pick_device(args.device), args.scene)
            cameras, fps, crop, truth = plan(args, trainer)
            sink.fps = fps
    except InputError as e:
        return fail(PROG, str(e))
    bg = BACKGROUNDS.get(trainer.config.eval_background, BACKGROUNDS["black"])
    progress = Progress()  # to a log: a line every LOG_SECONDS and the last; redrawn in place on a terminal
    frames = Stage(f"{PROG}: {cameras.width}x{cameras.height}", lambda p: progress.show(p.line(), force=p.finished),
                   total=len(cameras))
    try:
        # SIGINT/SIGTERM abort the frame being rendered, never one being written: the video is closed
        # with the whole frames so far (a stop inside the encoder's write left a file no player read)
        done = render_frames(trainer, cameras, sink, output=args.output, background=bg, crop=crop,
                             ground_truth=truth, progress=frames.tick, should_abort=lambda: stop.requested)
        if not done or stop.requested:
            raise Stopped(stop.signum or signal.SIGINT)
        frames.finish()
        progress.done()
        sink.close()
    except KeyboardInterrupt as e:
        progress.done()
        if sink.count == 0:
            sink.discard()
            print(f"{PROG}: interrupted before the first frame; nothing written", file=sys.stderr)
        else:
            sink.close()
            print(f"{PROG}: interrupted; {sink.count} frames kept in {args.out}", file=sys.stderr)
        return 128 + getattr(e, "signum", signal.SIGINT)
    except BaseException:  # an error part-way (disk full, ...): no half-written video, no ffmpeg left
        progress.done()
        sink.discard()
        raise
    print(f"{PROG}: {sink.count} frames at {fps:g} fps -> {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
