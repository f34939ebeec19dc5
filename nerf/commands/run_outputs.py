"""What `nerf-train` leaves in its run folder after training: the test evaluation (eval.json), the
named side-by-side test images, the training curves (curves.png), the turntable video and
metrics.json (the checkpoint and log.jsonl are written by nerf.commands.train_run while training)."""
from __future__ import annotations

import platform
import time
from pathlib import Path

try:
    import resource
except ImportError:  # Windows has no resource module; importing it stopped nerf-train there
    resource = None

import torch

from nerf.data.paths.turntable import turntable_cameras
from nerf.export.render_path import render_to_file
from nerf.media import write_png
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


def write_outputs(trainer: Trainer, out: Path, figures: dict, eval_views: int | None,
                  video_frames: int, log: RunLog | None = None) -> dict:
    """Evaluate the test split (eval.json: each view's scores), write each view's prediction beside
    its ground truth (test/003-r_12-31.42dB.png), curves.png from the log, the turntable MP4 and
    metrics.json (with the train/held-out gap and its warning, nerf.report.generalisation). LPIPS is
    scored when its weights are on disk (nerf.report.lpips), as nerf-eval would."""
    split = eval_split(trainer)
    (out / "test").mkdir(parents=True, exist_ok=True)

    def write_image(score: ViewScore, pred: torch.Tensor, target: torch.Tensor) -> None:
        write_png(out / "test" / image_name(score.index, score.name, score.psnr),
                  torch.cat([pred, target.to(pred.dtype)], dim=1))

    t0 = time.perf_counter()
    lpips, note = open_lpips(None, None, trainer.device)
    scores = score_views(trainer, split, eval_views, lpips, note, on_image=write_image)
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
    if video_frames > 0:
        bg = BACKGROUNDS[trainer.config.eval_background]
        cams = turntable_cameras(trainer.scene, video_frames)
        render_to_file(trainer, cams, out / "turntable.mp4", background=bg)
    metrics = {
        "test_psnr": test_psnr, "test_ssim": test_ssim, "test_lpips": scores.mean("lpips"), "test_split": split,
        "test_views": len(scores.views), "eval_seconds": eval_seconds,
        "steps": trainer.step_count, "train_seconds": figures["train_seconds"],
        "rays_per_second": figures["rays_per_second"], "samples_per_ray": figures["samples_per_ray"],
        "nan_recovered": figures["nan_recovered"], "device": str(trainer.device),
        "model": trainer.config.model_name, "peak_memory_bytes": peak_memory_bytes(trainer.device),
        "scene": str(trainer.scene.root), "image_size": [trainer.images.shape[2], trainer.images.shape[1]],
        "torch_threads": torch.get_num_threads(), "config": trainer.config.to_dict(),
        "scene_type": trainer.scene.scene_type, **generalisation.to_json(),
    }
    write_json(out / "metrics.json", metrics)
    return metrics
