"""What `nerf-train` leaves in its run folder after training: the test evaluation (eval.json), the
named side-by-side test images, the training curves (curves.png), the turntable video and
metrics.json (the checkpoint and log.jsonl are written by nerf.commands.train_run while training)."""
from __future__ import annotations

import platform
import time
from dataclasses import dataclass
from pathlib import Path

try:
    import resource
except ImportError:  # Windows has no resource module; importing it stopped nerf-train there
    resource = None

import torch

from nerf.data.paths.turntable import turntable_cameras
from nerf.data.scene import Cameras
from nerf.export.render_path import render_to_file
from nerf.media import write_png
from nerf.models.base import RenderOutput
from nerf.files import write_json
from nerf.report.curves import CURVES_FILE, read_run_log, write_curves
from nerf.report.generalisation import judge, recent_train_psnr
from nerf.report.lpips import open_lpips
from nerf.report.views import EVAL_FILE, ViewScore, eval_split, image_name, score_views
from nerf.train.batching import BACKGROUNDS
from nerf.train.run_log import RunLog
from nerf.train.trainer import Trainer


def peak_memory_bytes(device: torch.device) -> int | None:
    """Peak memory of the run: CUDA's allocator peak, else the process's peak resident size (None
    on Windows, which has no getrusage)."""
    if device.type == "cuda":
        return int(torch.cuda.max_memory_allocated(device))
    if resource is None:
        return None
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(rss if platform.system() == "Darwin" else rss * 1024)  # Linux reports KiB


@dataclass(frozen=True)
class OutputFrames:
    """write_outputs' predictions rendered ahead of it (a distributed run renders them across ranks
    and gathers them on rank 0), as output_jobs lists them: [H, W, 3] each."""

    views: list[torch.Tensor]  # the evaluated views, in order
    turntable: list[torch.Tensor]  # the turntable's frames, in order

    def render(self, cameras: Cameras, index: int, **_options) -> RenderOutput:
        """Trainer.render's stand-in for the turntable (render_to_file asks a trainer for its frames)."""
        return RenderOutput(rgb=self.turntable[index], depth=torch.empty(0), opacity=torch.empty(0))


def output_jobs(trainer: Trainer, eval_views: int | None, video_frames: int
                ) -> tuple[str, Cameras, int, Cameras | None]:
    """What write_outputs renders: the split it scores, its cameras and how many of its views, and the
    turntable's cameras (None without a video)."""
    split = eval_split(trainer)
    cameras = trainer.scene.split(split).cameras
    n = len(cameras) if eval_views is None else min(eval_views, len(cameras))
    return split, cameras, n, turntable_cameras(trainer.scene, video_frames) if video_frames > 0 else None


def write_outputs(trainer: Trainer, out: Path, figures: dict, eval_views: int | None,
                  video_frames: int, log: RunLog | None = None, *, frames: OutputFrames | None = None,
                  ranks: dict | None = None) -> dict:
    """Evaluate the test split (eval.json: each view's scores), write each view's prediction beside
    its ground truth (test/003-r_12-31.42dB.png), curves.png from the log, the turntable MP4 and
    metrics.json (with the train/held-out gap and its warning, nerf.report.generalisation). LPIPS is
    scored when its weights are on disk (nerf.report.lpips), as nerf-eval would. `frames`: the
    predictions, rendered already (by the ranks of a distributed run); `ranks`: that run's figures for
    metrics.json (world_size, backend, collective_seconds and their share of the training time)."""
    split, _, _, turntable = output_jobs(trainer, eval_views, video_frames)
    (out / "test").mkdir(parents=True, exist_ok=True)

    def write_image(score: ViewScore, pred: torch.Tensor, target: torch.Tensor) -> None:
        write_png(out / "test" / image_name(score.index, score.name, score.psnr),
                  torch.cat([pred, target.to(pred.dtype)], dim=1))

    t0 = time.perf_counter()
    lpips, note = open_lpips(None, None, trainer.device)
    scores = score_views(trainer, split, eval_views, lpips, note, on_image=write_image,
                         predictions=None if frames is None else frames.views)
    eval_seconds = time.perf_counter() - t0
    scores.write(out / EVAL_FILE)
    test_psnr, test_ssim = scores.mean("psnr"), scores.mean("ssim")
    curves = None
    if log is not None:
        log.evaluation(trainer.step_count, trainer.train_seconds, test_psnr, test_ssim)
        if log.path is not None and log.path.is_file():  # not when the log could not be written
            curves = read_run_log(log.path)
            write_curves([curves], out / CURVES_FILE)
    # the training PSNR of the last records (one batch each: one step's alone is noise), else the last step's
    train_psnr = figures["final_train_psnr"] if curves is None else recent_train_psnr(curves.steps, curves.psnr)
    generalisation = judge(train_psnr, test_psnr, trainer.scene.scene_type)
    if turntable is not None:
        bg = BACKGROUNDS[trainer.config.eval_background]
        render_to_file(trainer if frames is None else frames, turntable, out / "turntable.mp4", background=bg)
    metrics = {
        "test_psnr": test_psnr, "test_ssim": test_ssim, "test_lpips": scores.mean("lpips"), "test_split": split,
        "test_views": len(scores.views), "eval_seconds": eval_seconds,
        "steps": trainer.step_count, "train_seconds": figures["train_seconds"],
        "rays_per_second": figures["rays_per_second"], "samples_per_ray": figures["samples_per_ray"],
        "nan_recovered": figures["nan_recovered"], "device": str(trainer.device),
        "model": trainer.config.model_name, "peak_memory_bytes": peak_memory_bytes(trainer.device),
        "scene": str(trainer.scene.root), "image_size": [trainer.images.shape[2], trainer.images.shape[1]],
        "torch_threads": torch.get_num_threads(), "world_size": 1, **(ranks or {}), "config": trainer.config.to_dict(),
        "scene_type": trainer.scene.scene_type, **generalisation.to_json(),
    }
    write_json(out / "metrics.json", metrics)
    return metrics
