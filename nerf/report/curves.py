"""Training curves: a run's log.jsonl (nerf.train.run_log) read back and drawn as curves.png.

One figure, four panels: loss (log scale) and PSNR against training steps on the top row, the same
against training time on the bottom row, so two runs that step at different speeds can be compared
both ways. Train PSNR (one batch per record, noisy) is a thin line; each test evaluation is a
marker of the same colour. Several runs overlay in one figure, one colour each (nerf-plot).

matplotlib draws through its Agg canvas on a Figure object of our own, never pyplot: pyplot keeps
a global list of open figures and picks a GUI backend from the environment, neither of which a
headless command or a training thread should depend on.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from nerf.errors import InputError
from nerf.files import atomic_output

CURVES_FILE = "curves.png"
LOG_FILE = "log.jsonl"
FIGURE_INCHES = (10.0, 6.5)
DPI = 100  # 1000 x 650 pixels: readable in a file browser's preview, ~100 KB


@dataclass(frozen=True)
class RunCurves:
    """The curves of one run. Values the log wrote as null (a non-finite loss) are NaN: a gap in the line."""

    name: str  # the legend's label: the run folder's name
    steps: np.ndarray  # [n] training step of each training record
    seconds: np.ndarray  # [n] training time in seconds (resumes included) at that step
    loss: np.ndarray  # [n]
    psnr: np.ndarray  # [n] train PSNR in dB, of the last batch
    eval_steps: np.ndarray  # [m] step of each test evaluation
    eval_seconds: np.ndarray  # [m]
    test_psnr: np.ndarray  # [m] mean test PSNR in dB


def _value(record: dict, key: str, file: Path, line: int) -> float:
    value = record.get(key)
    if value is None:
        return math.nan
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(file, f"line {line}: '{key}' is {str(value)[:40]!r}, not a number")
    return float(value)


def read_run_log(path: str | Path, name: str | None = None) -> RunCurves:
    """The training and evaluation records of a log.jsonl (or of the log.jsonl in folder `path`).
    A line that is not a JSON object, or whose numbers are not numbers, is refused naming the file
    and the line; records of other kinds are not curves and are passed over."""
    path = Path(path)
    if path.is_dir():
        path = path / LOG_FILE
    if not path.is_file():
        raise InputError(path, "no such file (a run folder holds its training log as log.jsonl)")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(path, f"cannot read: {getattr(exc, 'strerror', None) or exc}") from None
    train: list[tuple[float, ...]] = []
    evals: list[tuple[float, ...]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            raise InputError(path, f"line {number}: not JSON") from None
        if not isinstance(record, dict):
            raise InputError(path, f"line {number}: not a JSON object")
        if "loss" in record:
            train.append(tuple(_value(record, k, path, number) for k in ("step", "seconds", "loss", "psnr")))
        elif "test_psnr" in record:
            evals.append(tuple(_value(record, k, path, number) for k in ("step", "seconds", "test_psnr")))
    if not train and not evals:
        raise InputError(path, "no training or evaluation records: the run has not trained yet")
    t = np.array(train, dtype=np.float64).reshape(-1, 4)
    e = np.array(evals, dtype=np.float64).reshape(-1, 3)
    return RunCurves(name=name or path.parent.resolve().name, steps=t[:, 0], seconds=t[:, 1], loss=t[:, 2],
                     psnr=t[:, 3], eval_steps=e[:, 0], eval_seconds=e[:, 1], test_psnr=e[:, 2])


def curves_figure(runs: list[RunCurves]) -> Figure:
    """Loss and PSNR of each run against steps (top) and training time (bottom), one colour per run."""
    if not runs:
        raise ValueError("curves_figure needs at least one run")
    fig = Figure(figsize=FIGURE_INCHES, dpi=DPI, layout="constrained")
    axes = fig.subplots(2, 2)
    colours = [f"C{i % 10}" for i in range(len(runs))]
    for row, (axis_name, x_of, ex_of) in enumerate((("step", lambda r: r.steps, lambda r: r.eval_steps),
                                                    ("training time (s)", lambda r: r.seconds,
                                                     lambda r: r.eval_seconds))):
        loss_ax, psnr_ax = axes[row]
        for run, colour in zip(runs, colours, strict=True):
            positive = np.where(run.loss > 0, run.loss, np.nan)  # a log axis has no place for 0 or less
            loss_ax.plot(x_of(run), positive, color=colour, linewidth=1.0, label=run.name)
            psnr_ax.plot(x_of(run), run.psnr, color=colour, linewidth=0.8, alpha=0.6)
            psnr_ax.plot(ex_of(run), run.test_psnr, color=colour, marker="o", linestyle="--", linewidth=1.0)
        if np.isfinite(np.concatenate([r.loss for r in runs])).any():
            loss_ax.set_yscale("log")
        loss_ax.set_ylabel("loss")
        psnr_ax.set_ylabel("PSNR (dB)")
        for ax in (loss_ax, psnr_ax):
            ax.set_xlabel(axis_name)
            ax.grid(True, alpha=0.3)
    axes[0][0].legend(loc="upper right", fontsize="small")
    axes[0][1].plot([], [], color="0.4", linewidth=0.8, label="train (batch)")
    axes[0][1].plot([], [], color="0.4", marker="o", linestyle="--", label="test (mean)")
    axes[0][1].legend(loc="lower right", fontsize="small")
    fig.suptitle("training curves" if len(runs) > 1 else f"training curves: {runs[0].name}")
    return fig


def write_curves(runs: list[RunCurves], out: str | Path) -> Path:
    """curves_figure(runs) as a PNG at `out`, written atomically; returns the path."""
    fig = curves_figure(runs)
    with atomic_output(out) as tmp:
        FigureCanvasAgg(fig).print_png(str(tmp))
    return Path(out)
