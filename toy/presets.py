"""Named experiments: the study's grid of runs, and Tancik et al. 2020's image-regression protocol.

Study (64-wide network, 3 hidden layers): raw / learned-embedding / positional-encoding inputs at
100%, 50% and 10% of the pixels; the tiny [20,24,24,24,3] LeakyReLU network at 10%; and ReLU vs
LeakyReLU after the output layer (ReLU lets colour channels die, so images come out tinted).

ffn (Tancik et al. 2020, "Fourier Features Let Networks Learn High Frequency Functions in Low
Dimensional Domains", 2D image regression): 512x512 image, train on the 256x256 even-index grid,
evaluate on the other pixels; 3 hidden layers of 256 + output layer (their "4 layers of 256"), ReLU,
sigmoid output, Adam lr 1e-3, 2000 full-batch steps. Mappings: none, positional encoding (the
paper's log-linear frequencies up to sigma = 10 cycles per image, sin and cos per axis), Gaussian
(sigma 10, 256 features). Their natural-image PSNRs: 19.32 / 24.95 / 25.57 dB.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from nerf.files import write_json
from toy import run
from toy.model import ModelConfig
from toy.train import FitConfig, ToyTrainer

STUDY_BASE = ModelConfig(hidden=(64, 64, 64), activation="relu", output="leaky")
PAPER_FFN = {"none": 19.32, "pe": 24.95, "gauss": 25.57}  # Tancik et al. 2020, Table (natural images)


@dataclass(frozen=True)
class Experiment:
    name: str
    model: ModelConfig
    fraction: float
    note: str = ""


def study_experiments() -> list[Experiment]:
    """The study's runs, in the order of its write-up."""
    inputs = {"raw": STUDY_BASE.with_(encoding="raw"),
              "learned": STUDY_BASE.with_(encoding="learned", embed_dim=20),
              "pe": STUDY_BASE.with_(encoding="sin", frequencies=10)}
    runs = [Experiment(f"{label}_{round(frac * 100)}pct", cfg, frac)
            for label, cfg in inputs.items() for frac in (1.0, 0.5, 0.1)]
    tiny = ModelConfig(encoding="sin", frequencies=10, hidden=(24, 24, 24), activation="leaky", output="leaky")
    runs.append(Experiment("tiny_leaky_10pct", tiny, 0.1, "about 1,800 weights"))
    runs.append(Experiment("output_relu", STUDY_BASE.with_(output="relu"), 1.0, "ReLU after the output layer"))
    runs.append(Experiment("output_leaky", STUDY_BASE.with_(output="leaky"), 1.0, "LeakyReLU after the output layer"))
    return runs


def summary_table(rows: list[tuple[str, dict]]) -> str:
    """Markdown table of run metrics."""
    lines = ["| run | layers | params | image values | pixels used | train PSNR | held-out PSNR | steps/s |",
             "|---|---|---:|---:|---:|---:|---:|---:|"]
    for name, m in rows:
        share = 100.0 * m["pixels_trained"] / m["pixels"]
        held = f"{m['heldout_psnr']:.2f}" + (" (= train)" if m["heldout_is_train"] else "")
        lines.append(f"| {name} | [{','.join(map(str, m['layers']))}] | {m['params']:,} | {m['image_values']:,} |"
                     f" {share:.0f}% | {m['train_psnr']:.2f} | {held} | {m['steps_per_s']:.1f} |")
    return "\n".join(lines) + "\n"


def run_study(image: np.ndarray, image_name: str, out_dir: Path, fit: FitConfig, n_frames: int = 30,
              mp4: bool = False, device: str = "cpu", log=print) -> str:
    """Every study run into out_dir (one GIF each) plus summary.md; returns the summary markdown."""
    rows = []
    for exp in study_experiments():
        log(f"== {exp.name} ({exp.note or exp.model.encoding})")
        metrics = run.run_one(image, exp.model, replace(fit, fraction=exp.fraction), out_dir, exp.name,
                              n_frames=n_frames, mp4=mp4, device=device)
        rows.append((exp.name, metrics))
        log(f"   train {metrics['train_psnr']:.2f} dB, held-out {metrics['heldout_psnr']:.2f} dB,"
            f" {metrics['params']:,} params")
    h, w = image.shape[:2]
    text = (f"# Toy lab: study preset\n\nImage: {image_name}, {w}x{h} ({h * w * 3:,} values); {fit.steps} steps,"
            f" Adam lr {fit.lr}, seed {fit.seed}, {'full batch' if fit.batch == 0 else f'batch {fit.batch}'}."
            " Held-out = pixels not trained on; at 100% it equals train.\n\n" + summary_table(rows))
    (out_dir / "summary.md").write_text(text)
    return text


def ffn_configs(width: int = 256, frequencies: int = 16, gauss_features: int = 256,
                sigma: float = 10.0) -> dict[str, ModelConfig]:
    """The three mappings of the ffn protocol. PE: the paper's sin+cos of log-linear frequencies
    sigma^(j/m), j < m, per axis (sigma 10, m = `frequencies`); Gaussian: sigma 10, 256 features."""
    base = ModelConfig(hidden=(width,) * 3, activation="relu", output="sigmoid")
    return {"none": base.with_(encoding="raw"),
            "pe": base.with_(encoding="sincos", frequencies=frequencies, pe_sigma=sigma),
            "gauss": base.with_(encoding="gauss", gauss_features=gauss_features, gauss_sigma=sigma)}


def ffn_fit(steps: int = 2000, lr: float = 1e-3, seed: int = 0) -> FitConfig:
    return FitConfig(steps=steps, lr=lr, sampling="grid2", seed=seed)


def run_ffn(image: np.ndarray, image_name: str, out_dir: Path | None, fit: FitConfig, width: int = 256,
            frequencies: int = 16, device: str = "cpu", n_frames: int = 20, log=print) -> dict[str, float]:
    """The three mappings on one image; returns {mapping: held-out PSNR} and writes ffn.md/ffn.json."""
    results = {}
    for mapping, cfg in ffn_configs(width, frequencies).items():
        if out_dir is None:
            trainer = ToyTrainer(image, cfg, fit, device)
            for _ in range(fit.steps):
                trainer.step()
            results[mapping] = round(trainer.evaluate()["heldout_psnr"], 2)
        else:
            metrics = run.run_one(image, cfg, fit, out_dir, f"ffn_{mapping}", n_frames=n_frames, mp4=False,
                                  device=device)
            results[mapping] = metrics["heldout_psnr"]
        log(f"{image_name}: {mapping}: held-out {results[mapping]:.2f} dB")
    if out_dir is not None:
        h = image.shape[0]
        table = ffn_table({image_name: results}, f"{h}x{h}, {fit.steps} steps, width {width}")
        (out_dir / "ffn.md").write_text(table)
        write_json(out_dir / "ffn.json", results)
    return results


def ffn_table(per_image: dict[str, dict[str, float]], setting: str) -> str:
    """Markdown table: one row per image, a mean row, and the paper's row."""
    lines = [f"ffn protocol ({setting}); held-out PSNR in dB", "",
             "| image | no mapping | positional enc. | Gaussian (sigma 10) |", "|---|---:|---:|---:|"]
    for name, r in per_image.items():
        lines.append(f"| {name} | {r['none']:.2f} | {r['pe']:.2f} | {r['gauss']:.2f} |")
    if len(per_image) > 1:
        mean = {k: float(np.mean([r[k] for r in per_image.values()])) for k in PAPER_FFN}
        lines.append(f"| mean | {mean['none']:.2f} | {mean['pe']:.2f} | {mean['gauss']:.2f} |")
    lines.append(f"| Tancik et al. 2020 (natural, 512 px, 2000 steps) | {PAPER_FFN['none']:.2f} |"
                 f" {PAPER_FFN['pe']:.2f} | {PAPER_FFN['gauss']:.2f} |")
    return "\n".join(lines) + "\n"
