"""nerf-render as one rank of several (torchrun, or `nerf-render --nproc N`): the frames are shared out.

Every rank loads the checkpoint and plans the same frames; the ranks check that they agree (same flags,
same model, same frames, no rank's error) before the first frame. Then the frames go in rounds: in
round k rank r renders frame k * world + r, and rank 0 gathers the round's frames and writes them to
the video in order, so the frames stream to disk and memory holds one round, however long the path.
Rank 0 tells the others the first frame's size and, for depth, its colour range (one range for the
whole video, as one process uses). A signal seen by any rank stops every rank after the same round:
rank 0 closes the video with the frames so far, as nerf-render does alone. A rank lost mid-render ends
the others within the collectives' timeout, with one line, and no half-written video.
"""
from __future__ import annotations

import argparse
import sys

import numpy as np
import torch
import torch.distributed as dist

from nerf.commands.cli import fail
from nerf.distributed.agreement import check_same_run
from nerf.distributed.group import Group, RankLost, collective, join, leave
from nerf.distributed.work import agree_step
from nerf.errors import InputError
from nerf.export.frames import depth_range
from nerf.export.render_path import frame_image
from nerf.runtime.progress import Progress
from nerf.runtime.signals import StopSignals, Stopped
from nerf.runtime.stages import Stage
from nerf.train.batching import BACKGROUNDS
from nerf.train.checkpoint import scene_fingerprint
from nerf.train.run import load_trained

PROG = "nerf-render"
PER_RANK_FLAGS = ("checkpoint", "scene", "out", "nproc", "device")  # paths and devices may differ by machine


def render_over_ranks(args: argparse.Namespace, stop: StopSignals, plan, check_flags) -> int:
    """Join the ranks, render this rank's frames, leave; -> the exit status (rank 0 prints the lines)."""
    try:
        with collective():
            group = join(args.device)
    except RankLost as e:
        return fail(PROG, f"cannot join the other ranks ({e})")
    finished = False
    try:
        code = _render(args, stop, group, plan, check_flags)
        finished = True
        return code
    finally:
        if finished:  # leave together; after an error (a full disk on rank 0) this rank's exit alone
            leave()   # tells the others, whose next collective fails at once instead of at the timeout


def _render(args, stop: StopSignals, group: Group, plan, check_flags) -> int:
    from nerf.export.frames import FrameSink
    sink = None
    try:
        error = trainer = cameras = None
        try:
            with stop.immediate():
                check_flags(args)
                if group.is_main:  # only rank 0 writes; it fails now if --out cannot be written
                    sink = FrameSink(args.out, fps=1.0)
                trainer = load_trained(args.checkpoint, group.device, args.scene)
                cameras, fps, crop, truth = plan(args, trainer)
        except InputError as e:
            error = str(e)
        except Stopped:
            pass  # told to every rank by the check below, so that all stop before the first frame
        facts: dict = {"error": error, "stopped": stop.signum}
        if error is None and not stop.requested:
            facts.update({f"--{k.replace('_', '-')}": v for k, v in sorted(vars(args).items())
                          if k not in PER_RANK_FLAGS})
            facts.update({"the checkpoint's step": trainer.step_count,
                          "the scene's cameras": scene_fingerprint(trainer.scene),
                          "the frames": (len(cameras), cameras.width, cameras.height)})
        check_same_run(facts, group.world)
    except InputError as e:
        if sink is not None:
            sink.discard()
        return fail(PROG, str(e)) if group.is_main else 2
    except RankLost as e:
        if sink is not None:
            sink.discard()
        print(f"{PROG}: error: rank {group.rank}: lost the other ranks before the first frame ({e}); "
              "nothing written", file=sys.stderr)
        return 1
    except Stopped as e:
        stop.request(e.signum)  # a rank the signal did not reach exits as the one it reached
        if sink is not None:
            sink.discard()
        if group.is_main:
            print(f"{PROG}: stopped by {stop.name} before the first frame; nothing written", file=sys.stderr)
        return stop.exit_code
    if sink is not None:
        sink.fps = fps
    bg = BACKGROUNDS.get(trainer.config.eval_background, BACKGROUNDS["black"])
    progress = Progress() if group.is_main else None
    frames = None if progress is None else Stage(
        f"{PROG}: {cameras.width}x{cameras.height} on {group.world} ranks",
        lambda p: progress.show(p.line(), force=p.finished), total=len(cameras))
    try:
        stopped = _frames_in_rounds(trainer, cameras, args.output, bg, crop, truth, group, stop, sink,
                                    None if frames is None else frames.tick)
    except RankLost as e:
        if progress is not None:
            progress.done()
        if sink is not None:
            sink.discard()
        print(f"{PROG}: error: rank {group.rank}: another rank stopped answering mid-render ({e})"
              + ("; no video written" if group.is_main else ""), file=sys.stderr)
        return 1
    except BaseException:  # an error part-way (disk full, ...): no half-written video, no ffmpeg left
        if progress is not None:
            progress.done()
        if sink is not None:
            sink.discard()
        raise
    if not group.is_main:
        return stop.exit_code if stopped else 0
    if not stopped:
        frames.finish()
    progress.done()
    sink.close()
    if stopped:
        print(f"{PROG}: interrupted; {sink.count} frames kept in {args.out}", file=sys.stderr)
        return stop.exit_code
    print(f"{PROG}: {sink.count} frames at {sink.fps:g} fps on {group.world} ranks -> {args.out}", file=sys.stderr)
    return 0


def _frames_in_rounds(trainer, cameras, output: str, bg, crop, truth, group: Group, stop: StopSignals,
                      sink, tick) -> bool:
    """Render this rank's frames round by round, rank 0 writing each round's frames into `sink` in
    order; -> whether a signal stopped the ranks (after the same round on each)."""
    n, rank, world, device = len(cameras), group.rank, group.world, group.device
    span, shape = None, None
    for start in range(0, n, world):
        i = start + rank
        out = trainer.render(cameras, i, background=bg, crop=crop) if i < n else None
        frame = None
        if shape is None:  # round 0: rank 0 holds frame 0, whose size and depth range every rank uses
            info = torch.zeros(5, dtype=torch.float64, device=device)
            if group.is_main:
                span = depth_range(out.depth, out.opacity) if output == "depth" else (0.0, 1.0)
                frame = frame_image(out, output, span if output == "depth" else None,
                                    None if truth is None else truth(0))
                info = torch.tensor([*frame.shape, *span], dtype=torch.float64, device=device)
            with collective():
                dist.broadcast(info, 0)
            shape, span = tuple(int(v) for v in info[:3].tolist()), (float(info[3]), float(info[4]))
        if frame is None and out is None:
            frame = np.zeros(shape, np.uint8)  # past the last frame: padding rank 0 drops
        elif frame is None:  # (rank 0's frame 0 was composed above)
            frame = frame_image(out, output, span if output == "depth" else None, None if truth is None else truth(i))
            if frame.shape != shape:
                raise InputError(f"frame {i}", f"is {frame.shape[1]}x{frame.shape[0]} but frame 0 is "
                                               f"{shape[1]}x{shape[0]}; every frame must have one size")
        stop_now, _ = agree_step(stop.requested, 0.0, device)
        mine = torch.from_numpy(np.ascontiguousarray(frame)).to(device)
        parts = [torch.empty_like(mine) for _ in range(world)] if group.is_main else None
        with collective():
            dist.gather(mine, parts, dst=0)
        if group.is_main:
            for r, part in enumerate(parts):
                if start + r < n:
                    sink.add(part.cpu().numpy())
                    tick(sink.count, n)
        if stop_now:
            return True
    return False
