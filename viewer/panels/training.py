"""Training panel: start/pause, reset, live numbers and curves, and the knobs that can change while
training runs. Every action becomes a worker command; nothing here touches the trainer."""
from __future__ import annotations

import math
import warnings
from collections.abc import Callable

import dearpygui.dearpygui as dpg
import numpy as np

from nerf.report.generalisation import judge, recent_train_psnr
from nerf.train.worker_messages import EvalScore, WorkerStats

PLOT_POINTS = 400  # curves are drawn as bin means of at most this many points: long lines are costly to
#                    rasterise in software (BENCHMARKS.md, "Viewer"), and the panel is 400 px wide


class TrainingPanel:
    """`worker`: the TrainingWorker the knobs command; `config`: the TrainConfig it started with;
    `on_toggle()` / `on_evaluate()` / `on_model(name)`: pause or resume, evaluate, change the model;
    `scene_type`: the scene's (what the generalisation warning suggests depends on it)."""

    def __init__(self, worker, config, render_share: float, *, on_toggle: Callable[[], None],
                 on_evaluate: Callable[[], None], on_model: Callable[[str], None], scene_type: str | None = None):
        self.worker, self.config, self.render_share, self.scene_type = worker, config, render_share, scene_type
        self._on_toggle, self._on_evaluate, self._on_model = on_toggle, on_evaluate, on_model
        self._running = None
        self._history_len = -1

    def build(self, parent) -> None:
        cfg = self.config
        with dpg.collapsing_header(label="Training", default_open=True, parent=parent):
            with dpg.group(horizontal=True):
                self.run_button = dpg.add_button(label="Pause", width=80, callback=lambda: self._on_toggle())
                dpg.add_button(label="Reset weights", callback=lambda: self.worker.reset())
                self.model_combo = dpg.add_combo(("ngp", "nerf"), default_value=cfg.model, width=70,
                                                 callback=lambda _s, v: self._on_model(v))
            self.numbers = dpg.add_text("step 0")
            self.test_text = dpg.add_text("test PSNR: not evaluated", wrap=390)
            with dpg.group(horizontal=True):
                self.eval_button = dpg.add_button(label="Evaluate test views", callback=lambda: self._on_evaluate())
                dpg.add_button(label="Abort", callback=lambda: self.worker.abort_job())
            with dpg.plot(label="loss / PSNR", height=150, width=-1, no_mouse_pos=True):
                dpg.add_plot_legend(location=dpg.mvPlot_Location_NorthWest)
                self.x_axis = dpg.add_plot_axis(dpg.mvXAxis, label="step")
                self.loss_axis = dpg.add_plot_axis(dpg.mvYAxis, label="log10 loss")
                self.loss_series = dpg.add_line_series([], [], label="log10 loss", parent=self.loss_axis)
                self.psnr_axis = dpg.add_plot_axis(dpg.mvYAxis2, label="PSNR dB", opposite=True) \
                    if hasattr(dpg, "mvYAxis2") else self.loss_axis
                self.psnr_series = dpg.add_line_series([], [], label="PSNR", parent=self.psnr_axis)
            dpg.add_input_float(label="learning rate", default_value=cfg.lr, format="%.2e", width=120,
                                step=0, on_enter=True, callback=lambda _s, v: self._lr(v))
            batch = dpg.add_input_int(label="rays / batch", default_value=cfg.batch_rays, width=120, step=0,
                                      on_enter=True, callback=lambda _s, v: self._batch(v))
            if cfg.target_samples > 0:  # ngp on CUDA: the batch follows the samples
                with dpg.tooltip(batch):
                    dpg.add_text(f"adapts to about {cfg.target_samples:,} samples a step "
                                 "until you enter a value")
            dpg.add_input_float(label="budget (min, 0 = none)", default_value=0.0, width=120, step=0,
                                on_enter=True, format="%.1f", callback=lambda _s, v: self._budget(v))
            dpg.add_slider_float(label="render share", default_value=self.render_share,
                                 min_value=0.05, max_value=1.0, width=120, format="%.2f",
                                 callback=lambda _s, v: self.worker.set_render_share(v))

    def _lr(self, v: float) -> None:
        if v > 0 and math.isfinite(v):
            self.worker.set_lr(v)

    def _batch(self, v: int) -> None:
        if v >= 1:
            self.worker.set_batch_rays(v)

    def _budget(self, minutes: float) -> None:
        self.worker.set_budget(minutes * 60.0 if minutes > 0 else None)

    def update(self, stats: WorkerStats | None) -> None:
        """New stats from the worker (None: nothing new this frame)."""
        if stats is None:
            return
        if stats.running != self._running:
            self._running = stats.running
            dpg.set_item_label(self.run_button, "Pause" if self._running else "Train")
        budget = f"  budget {stats.budget_s / 60:.1f} min" if stats.budget_s else ""
        dpg.set_value(self.numbers,
                      f"step {stats.step}   loss {stats.loss:.4g}   PSNR {stats.psnr:.2f} dB\n"
                      f"{stats.rays_per_s / 1000:.1f} k rays/s   trained {stats.train_seconds:.0f} s"
                      f"{budget}   model {stats.model}")
        if stats.test:
            dpg.set_value(self.test_text, evaluation_line(stats.test, stats.history, self.scene_type))
        elif self._history_len != 0:
            dpg.set_value(self.test_text, "test PSNR: not evaluated")
        dpg.set_value(self.model_combo, stats.model)
        steps, losses, psnrs = stats.history
        if len(steps) != self._history_len:
            self._history_len = len(steps)
            x = binned_means(steps)
            dpg.set_value(self.loss_series, [x, binned_means(np.log10(np.maximum(np.asarray(losses, float), 1e-12)))])
            dpg.set_value(self.psnr_series, [x, binned_means(psnrs)])
            if steps:
                dpg.fit_axis_data(self.x_axis)
                dpg.fit_axis_data(self.loss_axis)
                dpg.fit_axis_data(self.psnr_axis)


def evaluation_line(test: EvalScore, history, scene_type: str | None) -> str:
    """The panel's test line, with nerf-train's generalisation warning under it when the training PSNR
    (the history's last records up to the evaluated step) is far above the held-out one."""
    steps, _losses, psnrs = history
    verdict = judge(recent_train_psnr(steps, psnrs, at_step=test.step), test.psnr, scene_type)
    line = f"test PSNR {test.psnr:.2f} dB (step {test.step}, {test.views} views)"
    return line if verdict.warning is None else f"{line}\nwarning: {verdict.warning}"


def binned_means(values, points: int = PLOT_POINTS) -> list[float]:
    """`values` shortened to at most `points` by averaging runs of equal length (NaNs ignored)."""
    v = np.asarray(values, dtype=np.float64)
    if v.size <= points:
        return v.tolist()
    k = -(-v.size // points)  # ceil
    pad = (-v.size) % k
    v = np.concatenate([v, np.full(pad, np.nan)]).reshape(-1, k)
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN bin stays NaN
        return np.nanmean(v, axis=1).tolist()
