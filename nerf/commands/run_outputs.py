"""What `nerf-train` leaves in its run folder after training: the test evaluation, the side-by-side
test images, the turntable video and metrics.json (the checkpoint and log.jsonl are written by
nerf.commands.train_run while training)."""
from __future__ import annotations

import platform
import time

try:
    import resource
except ImportError:  # Windows has no resource module; importing it stopped nerf-train there
    resource = None
from pathlib import Path

import torch

from nerf.data.paths.turntable import turntable_cameras
from nerf.export.render_path import render_video
from nerf.media import write_png
from nerf.files import write_json
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


def write_outputs(trainer: Trainer, out: Path, figures: dict, eval_views: int | None,
                  video_frames: int, log: RunLog | None = None) -> dict:
    """Evaluate the test split, write side-by-side PNGs, the turntable MP4 and metrics.json."""
    split = "test" if "test" in trainer.scene.splits else "train"
    t0 = time.perf_counter()
    result = trainer.evaluate(split, max_views=eval_views, keep_images=True)
    eval_seconds = time.perf_counter() - t0
    if log is not None:
        log.evaluation(trainer.step_count, figures["train_seconds"], result.psnr, result.ssim)
    (out / "test").mkdir(parents=True, exist_ok=True)
    for i, pred in enumerate(result.images):
        gt = trainer.target_image(split, i)
        write_png(out / "test" / f"{i:03d}.png", torch.cat([pred, gt.to(pred.dtype)], dim=1))
    if video_frames > 0:
        bg = (1.0, 1.0, 1.0) if trainer.config.eval_background == "white" else (0.0, 0.0, 0.0)
        cams = turntable_cameras(trainer.scene, video_frames)
        render_video(lambda c, i: trainer.render(c, i, background=bg).rgb, cams, out / "turntable.mp4")
    metrics = {
        "test_psnr": result.psnr, "test_ssim": result.ssim, "test_split": split,
        "test_views": result.views, "eval_seconds": eval_seconds,
        "steps": trainer.step_count, "train_seconds": figures["train_seconds"],
        "rays_per_second": figures["rays_per_second"], "samples_per_ray": figures["samples_per_ray"],
        "nan_recovered": figures["nan_recovered"], "device": str(trainer.device),
        "model": trainer.config.model, "peak_memory_bytes": peak_memory_bytes(trainer.device),
        "scene": str(trainer.scene.root), "image_size": [trainer.images.shape[2], trainer.images.shape[1]],
        "torch_threads": torch.get_num_threads(), "config": trainer.config.to_dict(),
    }
    write_json(out / "metrics.json", metrics)
    return metrics
