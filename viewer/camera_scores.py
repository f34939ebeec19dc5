"""How well the model fits each training camera's image: a worker job that renders every training
view at a fraction of its resolution and scores it against its image (PSNR), for the frustums'
colours. Small renders keep it to seconds on a CPU; the score is a guide, not the evaluation."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

JOB_NAME = "camera scores"
SCALE = 0.25  # of each training image's resolution


def psnr(prediction: torch.Tensor, target: torch.Tensor) -> float:
    """PSNR in dB of prediction against target, both [H, W, 3] in [0, 1]."""
    mse = float(((prediction.float() - target.float()) ** 2).mean())
    return math.inf if mse == 0 else -10.0 * math.log10(mse)


def shrink(image: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """image [H, W, 3] area-averaged to [height, width, 3] (what a pixel of the smaller camera sees)."""
    return F.interpolate(image.permute(2, 0, 1)[None].float(), size=(height, width), mode="area")[0].permute(1, 2, 0)


def camera_scores_job(views, background, *, scale: float = SCALE, progress=None):
    """Worker job fn(trainer, should_abort) -> [PSNR per training view], or None when aborted.
    `views`: viewer.dataset_views.DatasetViews; `progress` (a Mailbox) gets the scores so far."""

    def job(trainer, should_abort):
        scores: list[float] = []
        n = views.count("train")
        for i in range(n):
            cams = views.camera("train", i, scale)
            out = trainer.render(cams, 0, background=background, should_abort=should_abort)
            if out is None or should_abort():
                return None
            target = torch.as_tensor(views.ground_truth("train", i, background))
            rgb = out.rgb.detach().cpu()
            scores.append(psnr(rgb, shrink(target, *rgb.shape[:2])))
            if progress is not None:
                progress.put(list(scores) + [math.nan] * (n - len(scores)))
        return scores

    return job
