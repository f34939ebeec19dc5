"""nerf-train as one rank of a distributed run: what nerf.commands.train_run does differently there.

Every rank runs the same code path (train_run.run_training with a Group); this module holds the few
steps that differ: opening the rank's run (its share of the scene; after a torchrun restart, the last
checkpoint) and the ranks' agreement on it (same flags, same scene, no rank's error), the evaluation
and turntable frames rendered across ranks, the figures metrics.json adds, and the line that names a
rank lost mid-run. Rank 0 writes every file.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import socket
import sys
from pathlib import Path

from nerf.commands.cli import fail
from nerf.commands.run_outputs import OutputFrames, output_jobs
from nerf.data.scene import Scene
from nerf.distributed.agreement import check_same_run
from nerf.distributed.group import Group, RankLost
from nerf.distributed.work import gather_frames
from nerf.train.batching import BACKGROUNDS
from nerf.errors import InputError
from nerf.files import check_output_dir
from nerf.runtime.signals import StopSignals, Stopped
from nerf.train.checkpoint import checkpoint_bytes, read_checkpoint, scene_fingerprint, scene_space
from nerf.train.loop import Budget
from nerf.train.run import Run, RunSpec, open_run, start_run_files
from nerf.train.trainer import Trainer

PROG = "nerf-train"
# flags a rank may hold differently from rank 0: its threads, and paths that differ between machines
# (the scene and checkpoint are compared by content instead; only rank 0 writes into --out)
PER_RANK_FLAGS = ("threads", "scene", "resume", "out", "nproc")


def rank_spec(spec: RunSpec, group: Group) -> RunSpec:
    """The run description of this rank: its share of the training views."""
    return spec.replace(scene=dataclasses.replace(spec.scene, train_share=(group.rank, group.world)))


def restart_count() -> int:
    """How often torchrun (--max-restarts) has started the ranks again after a failure."""
    try:
        return int(os.environ.get("TORCHELASTIC_RESTART_COUNT", "0"))
    except ValueError:
        return 0


def restarted_run(spec: RunSpec) -> tuple[RunSpec, Budget | None]:
    """A restarted job (restart_count() > 0) continues from its --out folder's last checkpoint, within
    the first attempt's budget: -> the spec that resumes it and that budget (None: no checkpoint
    yet, the attempt starts over, replacing what the failed one left)."""
    if spec.out is None:
        raise InputError("--out", "a job torchrun may restart (--max-restarts) needs a fixed --out, where the "
                                  "restarted ranks find the last checkpoint")
    checkpoint = Path(spec.out) / "checkpoint.pt"
    if not checkpoint.is_file():
        return spec.replace(overwrite=True), None
    start = {"step": 0, "train_seconds": 0.0} if spec.resume is None else read_checkpoint(spec.resume)["state"]
    budget = Budget(None if spec.steps is None else int(start["step"]) + spec.steps,
                    None if spec.minutes is None else float(start.get("train_seconds", 0.0)) + spec.minutes * 60.0)
    return spec.replace(resume=str(checkpoint)), budget


def open_rank_run(args: argparse.Namespace, spec: RunSpec, stop: StopSignals,
                  group: Group) -> tuple[Run, list[tuple[str, int]]] | int:
    """This rank's run, agreed on by every rank (its folder checked by rank 0), and who each rank is;
    or the exit status after one line from rank 0: bad input on any rank 2, a stop while loading 130 /
    143, a rank lost before training 1."""
    try:
        run, error = None, None
        try:
            with stop.immediate():
                budget = None
                if restart_count() > 0:
                    spec, budget = restarted_run(spec)
                run = open_run(rank_spec(spec, group), device=group.device)
                run.budget = budget or run.budget
                if group.is_main:
                    check_output_dir(run.out, checkpoint_bytes(run.trainer.model))
        except InputError as e:
            error = str(e)
        except Stopped:
            pass  # told to every rank by agree_start, so that all stop before the first step
        roster = agree_start(args, run, error, group, stop.signum)
        if group.is_main:  # a signal from here on is read after the first step, which is then saved
            start_run_files(run)
    except InputError as e:
        return fail(PROG, str(e)) if group.is_main else 2
    except RankLost as e:  # a rank ended (or never came) while the ranks compared their runs
        print(f"{PROG}: error: rank {group.rank}: lost the other ranks before training ({e}); nothing written",
              file=sys.stderr)
        return 1
    except Stopped as e:
        stop.request(e.signum)  # a rank the signal did not reach exits as the one it reached
        if group.is_main:
            print(f"{PROG}: stopped by {stop.name} before training; nothing written", file=sys.stderr)
        return stop.exit_code
    return run, roster


def agree_start(args: argparse.Namespace, run: Run | None, error: str | None, group: Group,
                stopped: int | None = None) -> list[tuple[str, int]]:
    """InputError on every rank unless all opened the same run without error, Stopped on every rank
    when one was `stopped` (by that signal) while opening; -> each rank's (host, pid), for naming a
    rank that is lost later."""
    facts: dict = {"error": error, "stopped": stopped}
    if run is not None and stopped is None:
        facts.update({f"--{k.replace('_', '-')}": v for k, v in sorted(vars(args).items())
                      if k not in PER_RANK_FLAGS})
        facts.update({"the scene's cameras": scene_fingerprint(run.scene), "the scene's space": scene_space(run.scene),
                      "the checkpoint's step": run.trainer.step_count})
    return check_same_run(facts, group.world, (socket.gethostname(), os.getpid()))


def shared_frames(trainer: Trainer, eval_views: int | None, video_frames: int, group: Group) -> OutputFrames | None:
    """The evaluation views and turntable frames, each rendered by one rank; on rank 0 all of them,
    None on the others. A sharded train split (a scene without a test split) is scored by rank 0 on
    its own views: the others do not hold those images."""
    split, cameras, n, turntable = output_jobs(trainer, eval_views, video_frames)
    bg = BACKGROUNDS[trainer.config.eval_background]

    def render(cams):
        return lambda i: trainer.render(cams, i, background=bg).rgb

    if split == "train" and trainer.scene.shard is not None:
        views = [render(cameras)(i) for i in range(n)] if group.is_main else None
    else:
        views = gather_frames(render(cameras), n, group.rank, group.world, group.device)
    frames = [] if turntable is None else gather_frames(render(turntable), len(turntable), group.rank,
                                                        group.world, group.device)
    return None if views is None else OutputFrames(views, frames)


def rank_figures(figures: dict, group: Group) -> dict:
    """metrics.json's part about the ranks: how many, and rank 0's time in collectives."""
    seconds = figures["collective_seconds"]
    return {"world_size": group.world, "backend": group.backend, "collective_seconds": seconds,
            "collective_share": seconds / max(figures["train_seconds"], 1e-9)}


def train_views(scene: Scene) -> str:
    """How many training views, and how many this rank holds when it holds a share."""
    if scene.shard is None:
        return str(len(scene.split("train")))
    return f"{scene.shard.count} ({len(scene.shard.views)} on rank {scene.shard.rank})"


def lost_ranks(roster: list[tuple[str, int]], rank: int) -> str:
    """Which ranks are gone, as far as this rank can tell: the ones on this machine whose process has
    ended, else those on other machines."""
    host = socket.gethostname()
    here = [r for r, (h, _) in enumerate(roster) if h == host and r != rank]
    dead = [r for r in here if not _alive(roster[r][1])]
    if dead:
        return ", ".join(f"rank {r} (pid {roster[r][1]})" for r in dead) + " ended"
    remote = [r for r, (h, _) in enumerate(roster) if h != host]
    if remote:
        return "a rank on another machine (" + ", ".join(f"rank {r} on {roster[r][0]}" for r in remote) + ") stopped"
    return "another rank stopped answering"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: it exists
        return True
    try:  # a rank that died but that torchrun has not reaped yet is a zombie: gone all the same
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except OSError:  # no /proc (macOS): kill(0) is all there is
        return True

