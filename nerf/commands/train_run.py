"""`nerf-train` without a window: train for a step or time budget, evaluate, write results.

Writes into --out: metrics.json, log.jsonl (training stats four times a second and the test
result, in the viewer's format), test/<i>.png (prediction | ground truth side by side),
turntable.mp4 and checkpoint.pt. The output folder is checked (created, writable, free space)
before training starts. SIGINT (Ctrl-C) or SIGTERM stops training at the next step boundary, saves
the checkpoint and exits with 130 or 143 (nerf.runtime.signals).
"""
from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Callable

import torch

from nerf.runtime.progress import Progress
from nerf.commands.run_outputs import write_outputs
from nerf.runtime.signals import StopSignals, Stopped
from nerf.device import pick_device
from nerf.errors import InputError
from nerf.files import check_output_dir
from nerf.runtime.allocator import tune_malloc
from nerf.train.checkpoint import check_resume_flags, checkpoint_bytes, read_checkpoint
from nerf.train.config import TrainConfig
from nerf.train.run_log import RunLog, Throughput
from nerf.train.schedule import budget_progress
from nerf.train.trainer import Trainer

DEFAULT_MINUTES = 3.0  # budget when neither --steps nor --minutes is given
LOG_SECONDS = 0.25  # training time between two log.jsonl records (the viewer's stats interval)


def _error(message: str) -> int:
    print(f"nerf-train: error: {message}", file=sys.stderr)
    return 2


def _out_dir(args, scene_name: str) -> Path:
    if args.out:
        return Path(args.out)
    return Path("runs") / f"{scene_name}-{time.strftime('%Y%m%d-%H%M%S')}"


def _make_trainer(args, device: torch.device):
    """The scene and a new or resumed Trainer. On resume the checkpoint is read and the flags
    checked first (a bad file fails before anything heavy happens); its scene is the default."""
    from nerf.data.formats.registry import load_scene
    payload = None
    if args.resume:
        payload = read_checkpoint(args.resume)
        check_resume_flags(payload, model=args.model, seed=args.seed, batch_rays=args.batch_rays,
                           distortion=args.distortion)
    path = args.scene or (payload["scene"].get("root") if payload else None)
    if path is None:
        from assets import default_scene_path
        path = default_scene_path()
    scene_type = args.scene_type or (payload.get("meta", {}).get("scene_type") if payload else None)
    scene = load_scene(path, downscale=args.downscale, llff_factor=args.llff_factor, scene_type=scene_type)
    if args.resume:
        trainer = Trainer.load(args.resume, scene=scene, device=device)
    else:
        overrides = {"seed": 0 if args.seed is None else args.seed, "ngp_marcher": args.marcher}
        if args.batch_rays:
            overrides.update(batch_rays=args.batch_rays, target_samples=0)  # a fixed batch
        if args.distortion is not None:
            if not args.distortion >= 0:  # also refuses nan
                raise InputError("--distortion", f"must be >= 0, got {args.distortion}")
            overrides.update(ngp_distortion=args.distortion)
        config = TrainConfig.for_model(args.model or "ngp", device.type, scene.scene_type, **overrides)
        trainer = Trainer(scene, config, device)
    trainer.meta["downscale"] = args.downscale
    return scene, trainer


class _TrainingRecords:
    """Training records for the run log each LOG_SECONDS of training time (the viewer's stats
    interval), each with the rays/s since the one before, and a last one on demand."""

    def __init__(self, log: RunLog):
        self.log = log
        self._throughput = Throughput()
        self._next_at, self._at = 0.0, 0.0  # training time of the next due and of the last record

    def trained(self, rays: int, seconds: float) -> None:
        self._throughput.add(rays, seconds)

    def step(self, step: int, train_time: float, loss: float, psnr: float, force: bool = False) -> None:
        """After a step; writes when due (or `force`) and training time went on since the last record."""
        if step == 0 or train_time <= self._at or (train_time < self._next_at and not force):
            return
        self.log.training(step, train_time, loss, psnr, self._throughput.read())
        self._next_at, self._at = train_time + LOG_SECONDS, train_time


def _warn_log_failed(path: Path, exc: OSError) -> None:
    print(f"nerf-train: warning: {path}: cannot write the training log ({exc.strerror or exc}); "
          "training goes on without it", file=sys.stderr)


def train_loop(trainer: Trainer, steps: int | None, seconds: float | None, progress: Progress | None = None,
               log: RunLog | None = None, should_stop: Callable[[], bool] | None = None) -> dict:
    """Train until `steps` more steps or `seconds` of training time, or until should_stop() says so
    (asked before each step and, through the trainer's should_yield, inside a long occupancy
    refresh, which a resume finishes). Returns throughput figures; "interrupted" is True when
    should_stop() ended it (or a KeyboardInterrupt). `progress` (None: no display) shows a line now
    and then; `log` gets a record each LOG_SECONDS of training time and one after the last step.
    A resumed trainer's earlier steps and seconds count to its budget (schedule.budget_progress)."""
    records = _TrainingRecords(log or RunLog(None))
    steps_before, seconds_before = trainer.step_count, trainer.train_seconds
    train_time, rays, samples, n, nan_count = 0.0, 0, 0.0, 0, 0
    interrupted = False
    last_loss, last_psnr = float("nan"), float("nan")
    try:
        while True:
            if should_stop is not None and should_stop():
                interrupted = True
                break
            if steps is not None and n >= steps:
                break
            if seconds is not None and train_time >= seconds:
                break
            trainer.progress = budget_progress(n, train_time, steps, seconds, steps_before, seconds_before)
            t0 = time.perf_counter()
            stats = trainer.step(should_yield=should_stop)
            step_seconds = time.perf_counter() - t0
            train_time += step_seconds
            if stats.get("yielded"):  # a stop arrived mid-step: the step left no trace
                continue
            n += 1
            if stats.get("nan_recovered"):
                records.trained(0, step_seconds)  # time spent, nothing learned
                nan_count += 1
                continue
            records.trained(stats["rays"], step_seconds)
            rays += stats["rays"]
            samples += stats["samples_per_ray"] * stats["rays"]
            last_loss, last_psnr = stats["loss"], stats["psnr"]
            budget = f"/{steps}" if steps is not None else f" {train_time:5.0f}/{seconds:.0f}s"
            if progress is not None:
                progress.show(f"step {trainer.step_count}{budget}  loss {last_loss:.5f}  psnr {last_psnr:5.2f}"
                              f"  {rays / max(train_time, 1e-9):7.0f} rays/s"
                              f"  {samples / max(rays, 1):5.1f} samples/ray")
            records.step(trainer.step_count, train_time, last_loss, last_psnr)
    except KeyboardInterrupt:
        interrupted = True
    if progress is not None:
        progress.done()
    records.step(trainer.step_count, train_time, last_loss, last_psnr, force=True)
    return {"train_seconds": train_time, "steps_run": n, "rays": rays,
            "rays_per_second": rays / max(train_time, 1e-9), "samples_per_ray": samples / max(rays, 1),
            "nan_recovered": nan_count, "interrupted": interrupted, "final_train_psnr": last_psnr}


def run_training(args) -> int:
    tune_malloc()
    if args.threads:
        torch.set_num_threads(args.threads)
    with StopSignals() as stop:
        try:
            with stop.immediate():
                device = pick_device(args.device)
                scene, trainer = _make_trainer(args, device)
                out = check_output_dir(_out_dir(args, scene.name), checkpoint_bytes(trainer.model))
        except InputError as e:
            return _error(str(e))
        except Stopped:
            print(f"nerf-train: stopped by {stop.name} before training; nothing written", file=sys.stderr)
            return stop.exit_code
        steps, minutes = args.steps, args.minutes
        if steps is None and minutes is None:
            minutes = DEFAULT_MINUTES
        print(f"nerf-train: {scene.name} ({len(scene.split('train'))} train views, "
              f"{trainer.images.shape[2]}x{trainer.images.shape[1]}), model {trainer.config.model}, "
              f"device {device}, output {out}", file=sys.stderr)
        log = RunLog(out / "log.jsonl", on_error=_warn_log_failed)
        try:
            figures = train_loop(trainer, steps, None if minutes is None else minutes * 60.0, Progress(), log,
                                 should_stop=lambda: stop.requested)
            if not _save_checkpoint(trainer, out / "checkpoint.pt"):
                return 1
            return _finish(args, trainer, out, figures, log, stop)
        finally:
            log.close()


def _save_checkpoint(trainer: Trainer, path: Path) -> bool:
    """Save; on failure (a full disk) one line, and the previous checkpoint, if any, stays."""
    try:
        trainer.save(path)
    except OSError as exc:
        kept = "the previous checkpoint is kept" if path.exists() else "no checkpoint was written"
        print(f"nerf-train: error: {path}: cannot save the checkpoint ({exc.strerror or exc}); {kept}",
              file=sys.stderr)
        return False
    return True


def _finish(args, trainer: Trainer, out: Path, figures: dict, log: RunLog, stop: StopSignals) -> int:
    if figures["interrupted"]:
        print(f"nerf-train: stopped by {stop.name} at step {trainer.step_count}; checkpoint "
              f"{out / 'checkpoint.pt'}", file=sys.stderr)
        return stop.exit_code
    try:
        with stop.immediate():
            metrics = write_outputs(trainer, out, figures, args.eval_views, args.video_frames, log)
    except KeyboardInterrupt:
        print(f"nerf-train: stopped by {stop.name} during evaluation; checkpoint {out / 'checkpoint.pt'}",
              file=sys.stderr)
        return stop.exit_code
    print(f"nerf-train: test PSNR {metrics['test_psnr']:.2f} dB, SSIM {metrics['test_ssim']:.3f} over "
          f"{metrics['test_views']} views; {metrics['steps']} steps, {metrics['rays_per_second']:.0f} "
          f"rays/s, {metrics['samples_per_ray']:.1f} samples/ray; results in {out}", file=sys.stderr)
    return 0
