"""A trained model judged view by view: PSNR, SSIM and (with its weights on disk) LPIPS of each
held-out view, named by its image file, with a summary; written as one JSON file.

nerf-train's final evaluation and nerf-eval both call `score_views`, so the same checkpoint gives
the same numbers from either. The file (`eval.json` in a run folder):

    {"split", "step", "lpips": "AlexNet v0.1" | "skipped: <why>",
     "summary": {"views", "psnr", "ssim", "lpips", "worst_view": {"index", "name", "psnr"}},
     "views": [{"index", "name", "psnr", "ssim", "lpips"}, ...]}
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import torch

from nerf.files import write_json
from nerf.models.base import RenderOutput
from nerf.report.lpips import MIN_SIDE, Lpips
from nerf.train.batching import BACKGROUNDS
from nerf.train.evaluation import evaluate_views
from nerf.train.trainer import Trainer

EVAL_FILE = "eval.json"


@dataclass(frozen=True)
class ViewScore:
    index: int  # position in the split
    name: str  # the view's image file name without its extension
    psnr: float  # dB
    ssim: float
    lpips: float | None  # None when LPIPS was skipped


@dataclass
class ViewScores:
    split: str
    step: int  # the model's training step
    lpips_note: str  # "AlexNet v0.1", or "skipped: <why>"
    views: list[ViewScore] = field(default_factory=list)

    def mean(self, metric: str) -> float | None:
        values = [getattr(v, metric) for v in self.views]
        if not values or any(x is None for x in values):
            return None
        return sum(values) / len(values)

    def worst(self) -> ViewScore | None:
        """The view with the lowest PSNR: the first one to look at."""
        return min(self.views, key=lambda v: v.psnr, default=None)

    def to_json(self) -> dict:
        worst = self.worst()
        return {"split": self.split, "step": self.step, "lpips": self.lpips_note,
                "summary": {"views": len(self.views), "psnr": self.mean("psnr"), "ssim": self.mean("ssim"),
                            "lpips": self.mean("lpips"),
                            "worst_view": None if worst is None else
                            {"index": worst.index, "name": worst.name, "psnr": worst.psnr}},
                "views": [asdict(v) for v in self.views]}

    def write(self, path: str | Path) -> None:
        write_json(path, self.to_json())


def view_names(files: list[str], n: int) -> list[str]:
    """Each view's image file name without folder and extension ("r_12"), or "view<i>" where the
    loader kept no file name."""
    return [Path(files[i]).stem if i < len(files) and files[i] else f"view{i}" for i in range(n)]


def image_name(index: int, name: str, psnr: float) -> str:
    """The file name of a test image: its index, view name and score, e.g. 003-r_12-31.42dB.png, so a
    folder listing already says which view is which and how good it is."""
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", name)[:60]
    return f"{index:03d}-{safe}-{psnr:.2f}dB.png"


def score_views(trainer: Trainer, split: str, max_views: int | None = None, lpips: Lpips | None = None,
                lpips_note: str = "skipped: no weights",
                on_image: Callable[[ViewScore, torch.Tensor, torch.Tensor], None] | None = None,
                predictions: list[torch.Tensor] | None = None) -> ViewScores:
    """Scores of the first `max_views` views of `split` (all by default), rendered on the config's
    evaluation background as Trainer.evaluate renders them, or given as `predictions` [H, W, 3] (a
    distributed run renders them across ranks). on_image(score, pred, target) gets each view's
    images [H, W, 3] as soon as it is scored."""
    views = trainer.scene.split(split)
    n = len(views) if max_views is None else min(max_views, len(views))
    names = view_names(views.files, n)
    if lpips is not None and min(trainer.images.shape[1:3]) < MIN_SIDE:
        lpips, lpips_note = None, f"skipped: views under {MIN_SIDE} pixels on a side are too small for AlexNet"
    scores = ViewScores(split, trainer.step_count, lpips_note if lpips is None else "AlexNet v0.1")
    bg = BACKGROUNDS[trainer.config.eval_background]

    def on_view(i: int, pred: torch.Tensor, target: torch.Tensor, psnr: float, ssim: float) -> None:
        score = ViewScore(i, names[i], psnr, ssim, None if lpips is None else lpips(pred, target))
        scores.views.append(score)
        if on_image is not None:
            on_image(score, pred, target)

    def render(i: int) -> RenderOutput:
        if predictions is None:
            return trainer.render(views.cameras, i, background=bg)
        return RenderOutput(rgb=predictions[i], depth=torch.empty(0), opacity=torch.empty(0))

    evaluate_views(render, lambda i: trainer.target_image(split, i), n, trainer.device, on_view=on_view)
    return scores


def eval_split(trainer: Trainer) -> str:
    """The split a run is judged on: test when the scene has one, else train."""
    return "test" if "test" in trainer.scene.splits else "train"
