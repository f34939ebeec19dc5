"""`nerf-train` without a window: open the run, train it to the end of its budget, evaluate, write results.

Writes into the run folder: metrics.json, log.jsonl (training stats four times a second and the test
result, in the viewer's format), test/<i>.png (prediction | ground truth side by side),
turntable.mp4 and checkpoint.pt, which is also saved every --autosave minutes of training and when
anything goes wrong mid-run. The output folder is checked (created, writable, free space) before
training starts. SIGINT (Ctrl-C) or SIGTERM stops training at the next step boundary, saves the
checkpoint and exits with 130 or 143 (nerf.runtime.signals). The run is opened by
nerf.train.run.open_run and trained by nerf.train.loop.TrainingLoop, as in the viewer.

A rank of a distributed run (nerf.distributed: torchrun, or --nproc) runs this same path with its
Group: its share of the scene, the ranks' agreement at the start (nerf.commands.train_ranks), the
rank's loop, the frames shared out at the end; rank 0 alone prints and writes files.
"""
from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import torch

from nerf.commands.cli import crash_report, fail
from nerf.commands.run_outputs import write_outputs
from nerf.commands.train_flags import run_spec
from nerf.commands.train_ranks import lost_ranks, open_rank_run, rank_figures, shared_frames, train_views
from nerf.distributed.group import Group, RankLost
from nerf.distributed.rank import RankLoop, join_trainer
from nerf.errors import InputError
from nerf.files import check_output_dir
from nerf.runtime.allocator import tune_malloc
from nerf.runtime.progress import Progress
from nerf.runtime.signals import StopSignals, Stopped
from nerf.train.checkpoint import checkpoint_bytes
from nerf.train.loop import TrainingLoop
from nerf.train.run import Run, RunSpec, open_run, start_run_files
from nerf.train.run_log import RunLog
from nerf.train.trainer import Trainer

PROG = "nerf-train"
DEFAULT_MINUTES = 3.0  # budget when neither --steps nor --minutes is given


def run_training(args, group: Group | None = None) -> int:
    """Train the run `args` describe: alone, or as one rank of `group`."""
    tune_malloc()
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        spec = run_spec(args, args.scene)
    except InputError as e:  # a --set pair that does not fit
        return fail(PROG, str(e))
    if spec.steps is None and spec.minutes is None:
        spec = spec.replace(minutes=DEFAULT_MINUTES)
    main = group is None or group.is_main
    with StopSignals() as stop:
        opened = open_training_run(spec, stop) if group is None else open_rank_run(args, spec, stop, group)
        if isinstance(opened, int):
            return opened
        run, roster = (opened, None) if group is None else opened
        trainer, out = run.trainer, run.out
        if main:
            ranks = "" if group is None else f", {group.world} ranks ({group.backend})"
            print(f"{PROG}: {run.scene.name} ({train_views(run.scene)} train views, "
                  f"{trainer.images.shape[2]}x{trainer.images.shape[1]}), model {trainer.config.model_name}, "
                  f"device {run.device}{ranks}, output {out}", file=sys.stderr)
        log = RunLog(out / "log.jsonl" if main else None,
                     on_error=lambda path, exc: _warn(path, "the training log", exc))
        saves = dict(autosave_path=out / "checkpoint.pt" if main else None, autosave_s=spec.autosave_minutes * 60.0,
                     on_autosave=lambda _step, exc: exc and _warn(out / "checkpoint.pt", "the autosave", exc))
        if group is None:
            loop = TrainingLoop(trainer, run.budget, log, **saves)
        else:
            join_trainer(trainer, group)
            loop = RankLoop(trainer, group, run.budget, log, stop_requested=lambda: stop.requested, **saves)
        progress = Progress() if main else None
        try:
            summary = loop.run(should_stop=lambda: stop.requested, show=progress and progress.show)
        except Exception as exc:  # noqa: BLE001 - out of memory, a CUDA error, a lost rank: keep what was trained
            if progress is not None:
                progress.done()
            log.close()
            return _crashed(trainer, out, exc, group, roster)
        if progress is not None:
            progress.done()
        try:
            if main and not _save_checkpoint(trainer, out / "checkpoint.pt"):
                return 1
            if summary.diverged:
                if main:
                    print(f"{PROG}: error: the loss was not finite {summary.nan_recovered} times, the last "
                          f"{loop.nan_streak} in a row, at step {trainer.step_count}: training diverged; lower "
                          f"the learning rate or the batch; checkpoint {out / 'checkpoint.pt'}", file=sys.stderr)
                return 1
            figures = dataclasses.asdict(summary)
            if isinstance(loop, RankLoop):
                figures["collective_seconds"] = loop.collective_seconds()
            return _finish(args, run, figures, log, stop, group)
        finally:
            log.close()


def open_training_run(spec: RunSpec, stop: StopSignals) -> Run | int:
    """The run of `spec` with its folder checked and started (as nerf-train and --serve open it), or
    the exit status after one line: bad input 2, a stop signal while loading 130 / 143."""
    try:
        with stop.immediate():
            run = open_run(spec)
            check_output_dir(run.out, checkpoint_bytes(run.trainer.model))
            start_run_files(run)
    except InputError as e:
        return fail(PROG, str(e))
    except Stopped:
        print(f"{PROG}: stopped by {stop.name} before training; nothing written", file=sys.stderr)
        return stop.exit_code
    return run


def _warn(path: Path, what: str, exc: OSError) -> None:
    print(f"{PROG}: warning: {path}: cannot write {what} ({exc.strerror or exc}); training goes on",
          file=sys.stderr)


def _crashed(trainer: Trainer, out: Path, exc: Exception, group: Group | None = None,
             roster: list | None = None) -> int:
    """An unexpected error mid-run: save what was trained (rank 0), then one line naming the traceback
    file, or the rank that was lost (a failed collective: the weights are those of the last whole
    step, as no rank steps before the gradient reduce is done)."""
    main = group is None or group.is_main
    saved = main and _save_checkpoint(trainer, out / "checkpoint.pt")
    kept = f"checkpoint saved at step {trainer.step_count}: {out / 'checkpoint.pt'}" if saved else "no checkpoint"
    if group is not None and isinstance(exc, RankLost):
        kept = kept if main else "rank 0 keeps the last checkpoint"
        print(f"{PROG}: error: rank {group.rank}: {lost_ranks(roster, group.rank)}, the run stops ({exc}); {kept}",
              file=sys.stderr)
        return 1
    trace = crash_report(PROG, exc)
    first = (str(exc).splitlines() or [""])[0]
    rank = "" if group is None else f"rank {group.rank}: "
    print(f"{PROG}: error: {rank}training failed ({type(exc).__name__}: {first}); {kept}"
          + (f"; the traceback is in {trace}" if trace else ""), file=sys.stderr)
    return 1


def _save_checkpoint(trainer: Trainer, path: Path) -> bool:
    """Save; on failure (a full disk) one line, and the previous checkpoint, if any, stays."""
    try:
        trainer.save(path)
    except OSError as exc:
        kept = "the previous checkpoint is kept" if path.exists() else "no checkpoint was written"
        print(f"{PROG}: error: {path}: cannot save the checkpoint ({exc.strerror or exc}); {kept}",
              file=sys.stderr)
        return False
    return True


def _finish(args, run: Run, figures: dict, log: RunLog, stop: StopSignals, group: Group | None) -> int:
    trainer, out = run.trainer, run.out
    main = group is None or group.is_main
    if figures["interrupted"]:
        if main:
            print(f"{PROG}: stopped by {stop.name} at step {trainer.step_count}; checkpoint "
                  f"{out / 'checkpoint.pt'}", file=sys.stderr)
        return stop.exit_code
    try:
        with stop.immediate():
            frames = None if group is None else shared_frames(trainer, args.eval_views, args.video_frames, group)
            if not main:
                return 0
            metrics = write_outputs(trainer, out, figures, args.eval_views, args.video_frames, log, frames=frames,
                                    ranks=None if group is None else rank_figures(figures, group))
    except KeyboardInterrupt:
        if main:
            print(f"{PROG}: stopped by {stop.name} during evaluation; checkpoint {out / 'checkpoint.pt'}",
                  file=sys.stderr)
        return stop.exit_code
    except RankLost as e:  # a rank stopped (a signal) or died while the frames were shared out
        print(f"{PROG}: error: rank {group.rank}: lost the other ranks during evaluation ({e}); checkpoint "
              f"{out / 'checkpoint.pt'}", file=sys.stderr)
        return stop.exit_code if stop.requested else 1
    # a scene without held-out views is scored on its training views: the line says so
    split = "test" if metrics["test_split"] == "test" else "training (the scene has no test views)"
    print(f"{PROG}: {split} PSNR {metrics['test_psnr']:.2f} dB, SSIM {metrics['test_ssim']:.3f} over "
          f"{metrics['test_views']} views; {metrics['steps']} steps, {metrics['rays_per_second']:.0f} "
          f"rays/s, {metrics['samples_per_ray']:.1f} samples/ray; results in {out}", file=sys.stderr)
    if metrics["generalisation_warning"]:
        print(f"{PROG}: warning: {metrics['generalisation_warning']}", file=sys.stderr)
    return 0
