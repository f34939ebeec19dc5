"""`nerf-train` without a window: open the run, train it to the end of its budget, evaluate, write results.

Writes into the run folder: metrics.json, log.jsonl (training stats four times a second and the test
result, in the viewer's format), test/<i>.png (prediction | ground truth side by side),
turntable.mp4 and checkpoint.pt, which is also saved every --autosave minutes of training and when
anything goes wrong mid-run. The output folder is checked (created, writable, free space) before
training starts. SIGINT (Ctrl-C) or SIGTERM stops training at the next step boundary, saves the
checkpoint and exits with 130 or 143 (nerf.runtime.signals). The run is opened by
nerf.train.run.open_run and trained by nerf.train.loop.TrainingLoop, as in the viewer.
"""
from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import torch

from nerf.commands.cli import crash_report, fail
from nerf.commands.run_outputs import write_outputs
from nerf.commands.train_flags import run_spec
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


def run_training(args) -> int:
    tune_malloc()
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        spec = run_spec(args, args.scene)
    except InputError as e:  # a --set pair that does not fit
        return fail(PROG, str(e))
    if spec.steps is None and spec.minutes is None:
        spec = spec.replace(minutes=DEFAULT_MINUTES)
    with StopSignals() as stop:
        run = open_training_run(spec, stop)
        if isinstance(run, int):
            return run
        trainer, out = run.trainer, run.out
        print(f"{PROG}: {run.scene.name} ({len(run.scene.split('train'))} train views, "
              f"{trainer.images.shape[2]}x{trainer.images.shape[1]}), model {trainer.config.model_name}, "
              f"device {run.device}, output {out}", file=sys.stderr)
        log = RunLog(out / "log.jsonl", on_error=lambda path, exc: _warn(path, "the training log", exc))
        loop = TrainingLoop(trainer, run.budget, log, autosave_path=out / "checkpoint.pt",
                            autosave_s=spec.autosave_minutes * 60.0,
                            on_autosave=lambda _step, exc: exc and _warn(out / "checkpoint.pt", "the autosave", exc))
        progress = Progress()
        try:
            summary = loop.run(should_stop=lambda: stop.requested, show=progress.show)
        except Exception as exc:  # noqa: BLE001 - out of memory, a CUDA error: keep what was trained
            progress.done()
            log.close()
            return _crashed(trainer, out, exc)
        progress.done()
        try:
            if not _save_checkpoint(trainer, out / "checkpoint.pt"):
                return 1
            if summary.diverged:
                print(f"{PROG}: error: the loss was not finite {summary.nan_recovered} times, the last "
                      f"{loop.nan_streak} in a row, at step {trainer.step_count}: training diverged; lower the "
                      f"learning rate or the batch; checkpoint {out / 'checkpoint.pt'}", file=sys.stderr)
                return 1
            return _finish(args, run, dataclasses.asdict(summary), log, stop)
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


def _crashed(trainer: Trainer, out: Path, exc: Exception) -> int:
    """An unexpected error mid-run: save what was trained, then one line naming the traceback file."""
    saved = _save_checkpoint(trainer, out / "checkpoint.pt")
    trace = crash_report(PROG, exc)
    kept = f"checkpoint saved at step {trainer.step_count}: {out / 'checkpoint.pt'}" if saved else "no checkpoint"
    first = (str(exc).splitlines() or [""])[0]
    print(f"{PROG}: error: training failed ({type(exc).__name__}: {first}); {kept}"
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


def _finish(args, run: Run, figures: dict, log: RunLog, stop: StopSignals) -> int:
    trainer, out = run.trainer, run.out
    if figures["interrupted"]:
        print(f"{PROG}: stopped by {stop.name} at step {trainer.step_count}; checkpoint "
              f"{out / 'checkpoint.pt'}", file=sys.stderr)
        return stop.exit_code
    try:
        with stop.immediate():
            metrics = write_outputs(trainer, out, figures, args.eval_views, args.video_frames, log)
    except KeyboardInterrupt:
        print(f"{PROG}: stopped by {stop.name} during evaluation; checkpoint {out / 'checkpoint.pt'}",
              file=sys.stderr)
        return stop.exit_code
    # a scene without held-out views is scored on its training views: the line says so
    split = "test" if metrics["test_split"] == "test" else "training (the scene has no test views)"
    print(f"{PROG}: {split} PSNR {metrics['test_psnr']:.2f} dB, SSIM {metrics['test_ssim']:.3f} over "
          f"{metrics['test_views']} views; {metrics['steps']} steps, {metrics['rays_per_second']:.0f} "
          f"rays/s, {metrics['samples_per_ray']:.1f} samples/ray; results in {out}", file=sys.stderr)
    if metrics["generalisation_warning"]:
        print(f"{PROG}: warning: {metrics['generalisation_warning']}", file=sys.stderr)
    return 0
