"""Headless runs: train one configuration (or two side by side), record titled frames, write files.

Files of a run called NAME in OUT: NAME.gif, NAME.mp4 (optional), NAME_recon.png, NAME_error.png,
NAME_metrics.json; a single `nerf-toy` run uses the plain names (training.gif, metrics.json, ...).
"""
from __future__ import annotations

import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

from nerf.media import write_png
from nerf.files import write_json
from toy import render
from toy.model import ModelConfig
from toy.train import FitConfig, ToyTrainer, describe


def frame_steps(steps: int, n_frames: int) -> set[int]:
    """Steps at which a frame is recorded: step 0, then roughly even spacing, always the last step."""
    n_frames = max(2, n_frames)
    return {round(i * steps / (n_frames - 1)) for i in range(n_frames)}


def metrics_of(trainer: ToyTrainer, evaluation: dict, seconds: float) -> dict:
    full = trainer.n_train_pixels == trainer.n_pixels
    held = evaluation["train_psnr"] if full else evaluation["heldout_psnr"]
    return {"train_psnr": round(evaluation["train_psnr"], 3), "heldout_psnr": round(held, 3),
            "heldout_is_train": full, "full_psnr": round(evaluation["full_psnr"], 3),
            "params": trainer.n_params, "image_values": trainer.image_values,
            "layers": trainer.model.layers, "pixels_trained": trainer.n_train_pixels,
            "pixels": trainer.n_pixels, "steps": trainer.step_count, "seconds": round(seconds, 2),
            "steps_per_s": round(trainer.step_count / max(seconds, 1e-9), 2),
            "model": asdict(trainer.model_config), "fit": asdict(trainer.fit_config)}


def status_line(trainer: ToyTrainer, evaluation: dict) -> str:
    held = evaluation["heldout_psnr"]
    held_text = "= train (100% px)" if held is None else f"{held:.2f} dB"
    return f"step {trainer.step_count}  train {evaluation['train_psnr']:.2f} dB  held-out {held_text}"


def panel_frame(trainer: ToyTrainer, evaluation: dict, target: np.ndarray, with_error: bool = True) -> np.ndarray:
    """[recon | error] with the run's title lines: uint8 [H', W', 3]."""
    recon = evaluation["recon"].numpy()
    error = render.error_map(recon, target) if with_error else None
    return render.result_panel(recon, error, [describe(trainer), status_line(trainer, evaluation)], n_lines=4)


def train_recording(trainers: list[ToyTrainer], target: np.ndarray, steps: int, n_frames: int,
                    with_error: bool = True, log=None) -> tuple[list[np.ndarray], list[dict], float]:
    """Train each trainer `steps` steps in lockstep; frames join the trainers' panels left to right.

    Returns (frames, final evaluations, training seconds per trainer, summed, excluding frame work).
    """
    when = frame_steps(steps, n_frames)
    frames, seconds = [], 0.0
    for step in range(steps + 1):
        if step in when:
            evals = [t.evaluate() for t in trainers]
            panels = [panel_frame(t, e, target, with_error) for t, e in zip(trainers, evals, strict=True)]
            frames.append(render.side_by_side(panels, gap=6))
            if log is not None:
                log(" | ".join(status_line(t, e) for t, e in zip(trainers, evals, strict=True)))
        if step < steps:
            t0 = time.perf_counter()
            for t in trainers:
                t.step()
            seconds += time.perf_counter() - t0
    return frames, evals, seconds


def run_one(image: np.ndarray, model_config: ModelConfig, fit_config: FitConfig, out_dir: Path,
            name: str = "", n_frames: int = 40, mp4: bool = True, device: str = "cpu", log=None) -> dict:
    """Train one configuration, write its GIF (and MP4), final PNGs and metrics; return the metrics."""
    out_dir.mkdir(parents=True, exist_ok=True)
    prefix = f"{name}_" if name else ""
    trainer = ToyTrainer(image, model_config, fit_config, device)
    frames, (evaluation,), seconds = train_recording([trainer], image, fit_config.steps, n_frames, log=log)
    gif = f"{name}.gif" if name else "training.gif"
    render.write_gif(out_dir / gif, frames)
    if mp4:
        render.write_mp4(out_dir / gif.replace(".gif", ".mp4"), frames)
    write_png(out_dir / f"{prefix}recon.png", evaluation["recon"].numpy())
    write_png(out_dir / f"{prefix}error.png", render.error_map(evaluation["recon"].numpy(), image))
    metrics = metrics_of(trainer, evaluation, seconds)
    metrics["title"] = describe(trainer)
    write_json(out_dir / f"{prefix}metrics.json", metrics)
    return metrics


def run_compare(image: np.ndarray, configs: list[tuple[ModelConfig, FitConfig]], out_dir: Path,
                n_frames: int = 40, mp4: bool = True, device: str = "cpu", log=None) -> list[dict]:
    """Train A and B in lockstep into one side-by-side A|B GIF; metrics.json holds {"A": ..., "B": ...}."""
    out_dir.mkdir(parents=True, exist_ok=True)
    trainers = [ToyTrainer(image, m, f, device) for m, f in configs]
    steps = max(f.steps for _, f in configs)
    frames, evals, seconds = train_recording(trainers, image, steps, n_frames, with_error=True, log=log)
    render.write_gif(out_dir / "compare.gif", frames)
    if mp4:
        render.write_mp4(out_dir / "compare.mp4", frames)
    results = {}
    for label, trainer, evaluation in zip("AB", trainers, evals, strict=True):
        write_png(out_dir / f"{label}_recon.png", evaluation["recon"].numpy())
        write_png(out_dir / f"{label}_error.png", render.error_map(evaluation["recon"].numpy(), image))
        results[label] = metrics_of(trainer, evaluation, seconds / len(trainers))
        results[label]["title"] = describe(trainer)
    write_json(out_dir / "metrics.json", results)
    return [results["A"], results["B"]]
